"""The passport from the command line: show a patient, export the IPS, correct by hand."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ._app import edit_app, passport_app
from ._common import (
    DEFAULT_CONFIG,
    USAGE_ERRORS,
    ActorOpt,
    ConfigOpt,
    JsonOpt,
    console,
    err_console,
    output,
    session,
)

NationalIdArg = Annotated[str, typer.Argument(help="The patient's national ID.")]


def _no_patient(national_id: str) -> typer.Exit:
    err_console.print(f"no passport patient with national ID {national_id!r}")
    return typer.Exit(1)


@passport_app.command("show")
def passport_show(
    national_id: NationalIdArg,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also superseded versions.")] = False,
) -> None:
    """A patient's records from every hospital, newest first."""
    from mappers import normalise_national_id

    from ..passport_view import passport_json, passport_text

    with session(config) as s:
        patient_id = normalise_national_id(national_id)
        patient = s.store.get_patient(patient_id)
        if patient is None:
            raise _no_patient(national_id)
        records = s.store.records_for_patient(patient_id)
        view = passport_json(patient, records, include_superseded=show_all)
    output(
        view,
        as_json,
        lambda: console.print(passport_text(view), highlight=False, markup=False, soft_wrap=True),
    )


@passport_app.command("export")
def passport_export(
    national_id: NationalIdArg,
    config: ConfigOpt = DEFAULT_CONFIG,
    fmt: Annotated[
        str, typer.Option("--format", help="fhir: the IPS document Bundle (JSON).")
    ] = "fhir",
    base_url: Annotated[
        str | None,
        typer.Option(help="FHIR base of the fullUrls (default: this passport's sync2 serve)."),
    ] = None,
) -> None:
    """The patient's International Patient Summary, as ``Patient/{id}/$summary`` serves it."""
    from ..faces import FHIR_PATH, NotFound, patient_summary

    if fmt != "fhir":
        err_console.print(f"--format: {fmt!r} is not supported (use fhir)")
        raise typer.Exit(2)
    with session(config) as s:
        base = base_url or f"http://{s.config.admin.host}:{s.config.admin.port}{FHIR_PATH}"
        try:
            bundle = patient_summary(s.store, s.config, national_id, base, actor="cli")
        except NotFound:
            raise _no_patient(national_id) from None
    print(json.dumps(bundle, indent=2))


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``field=value`` pairs; a value that is a JSON object, list, true/false or null is parsed."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            msg = f"--set wants field=value, got {pair!r}"
            raise ValueError(msg)
        value: Any = raw
        if raw[:1] in ("{", "[") or raw in ("null", "true", "false"):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        changes[name.strip()] = value
    return changes


SetOpt = Annotated[
    list[str], typer.Option("--set", help="field=value (repeatable); JSON objects are parsed.")
]


@edit_app.command("record")
def passport_edit_record(
    source: Annotated[str, typer.Argument(help="The source (hospital) id.")],
    resource_type: Annotated[str, typer.Argument(help="Observation or Encounter.")],
    uuid: Annotated[str, typer.Argument(help="The record's uuid at its source.")],
    sets: SetOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
    actor: ActorOpt = "cli",
) -> None:
    """Correct a record's passport fields (name, value, unit, effective, status, ...)."""
    with session(config, also=USAGE_ERRORS) as s:
        s.pipeline.edit_record(source, resource_type, uuid, parse_sets(sets), actor=actor)
    console.print(f"{resource_type}/{uuid}: edited", highlight=False)


@edit_app.command("patient")
def passport_edit_patient(
    national_id: NationalIdArg,
    sets: SetOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
    actor: ActorOpt = "cli",
) -> None:
    """Correct a patient's demographics (name, given, family, gender, birth_date, ...)."""
    from mappers import normalise_national_id

    with session(config, also=USAGE_ERRORS) as s:
        changes = parse_sets(sets)
        s.pipeline.edit_patient(normalise_national_id(national_id), changes, actor=actor)
    console.print(f"patient {national_id}: edited", highlight=False)
