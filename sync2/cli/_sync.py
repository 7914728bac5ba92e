"""Syncing from the command line: every source, one patient, one record; and the status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..admin.manual import check_record_uuid
from ..admin.status import status_report
from ..pipeline import SyncSummary
from ._app import app
from ._common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    JsonOpt,
    Session,
    console,
    err_console,
    fail,
    output,
    report,
    session,
    table,
)


@app.command()
def sync(
    config: ConfigOpt = DEFAULT_CONFIG,
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Only this source id.")
    ] = None,
    as_json: JsonOpt = False,
    processes: Annotated[
        int, typer.Option(help="Worker processes (a large first sync uses every core).")
    ] = 0,
) -> None:
    """One pass over every source (or one). Exit 1 when a source failed."""
    with session(config) as s:
        summaries = _sync_with_progress(
            s, source, quiet=as_json or processes > 1, processes=processes
        )
    report(summaries, as_json)


def _sync_with_progress(
    s: Session, source: str | None, *, quiet: bool, processes: int
) -> list[SyncSummary]:
    """Run the sync under a spinner per source on stderr (none for JSON or worker processes)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    shown = [sc for sc in s.config.sources if sc.enabled and (source is None or sc.id == source)]
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<24} {task.fields[done]} resources"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as progress:
        tasks = {sc.id: progress.add_task(sc.name, total=None, done=0) for sc in shown}

        def _progress(source_id: str, summary: SyncSummary) -> None:
            progress.update(tasks[source_id], done=summary.resources)

        if source:
            s.config.source(source)  # a clear error for an unknown id
            return [s.pipeline.sync_source(source, actor="cli", progress=_progress)]
        return s.pipeline.sync_all(actor="cli", progress=_progress, processes=processes)


@app.command()
def status(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Per source: cursors, last run, failures; and the passport's counts."""
    with session(config) as s:
        found = status_report(s.config, s.store)
    output(found, as_json, lambda: _print_status(found))


def _print_status(found: dict[str, Any]) -> None:
    columns = ("source", "name", "dialect", "fetch", "enabled", "last run", "ok", "open failed")
    rows = [
        (
            src["id"],
            src["name"],
            src["feed_dialect"] or "-",
            src["fetch_path"],
            str(src["enabled"]),
            src["last_run"] or "-",
            str(src["last_ok"]),
            str(src["failed_open"]),
            str(src["failed_dead"]),
            src["last_error"] or "",
        )
        for src in found["sources"]
    ]
    console.print(table("sources", (*columns, "dead", "error"), rows))
    console.print(found["counts"])


@app.command("sync-patient")
def sync_patient(
    national_id: Annotated[str, typer.Argument(help="The patient's national ID.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Pull everything of one patient from every hospital, now. Exit 1 when a hospital failed."""
    with session(config) as s, err_console.status("syncing the patient from every hospital…"):
        summaries = s.pipeline.sync_patient(national_id, actor="cli")
    report(summaries, as_json)


@app.command("sync-record")
def sync_record(
    uuid: Annotated[str, typer.Argument(help="The record's uuid at the source.")],
    source: Annotated[str, typer.Option("--source", "-s", help="Source id.")],
    resource_type: Annotated[
        str, typer.Option("--type", "-t", help="FHIR type: Patient, Encounter, Observation, ...")
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Bring in one record now, by source + type + uuid."""
    from ..sources import RESOURCE_TYPES

    if resource_type not in RESOURCE_TYPES:
        raise fail(ValueError(f"--type must be one of {', '.join(RESOURCE_TYPES)}"))
    try:
        check_record_uuid(uuid)
    except ValueError as exc:
        raise fail(exc) from None
    with session(config) as s:
        s.config.source(source)
        summary = s.pipeline.sync_record(source, resource_type, uuid, actor="cli")
    report([summary], as_json, data=summary.to_dict())
