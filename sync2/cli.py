"""The ``sync2`` command line.

Every command that touches the passport takes ``--config`` (default ``./sync2.toml``). Errors of
the sync2 tree print as one clear message and exit 2; a sync in which a source failed exits 1.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ._errors import Sync2Error
from .config import Config, load_config
from .pipeline import Pipeline, SyncSummary
from .store import PassportStore, open_store

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="sync2: pull OpenMRS hospitals into one patient passport. Every command that reads "
    "or writes the passport takes --config (default ./sync2.toml). Exit 1: a source failed; "
    "exit 2: a configuration or usage error.",
)
passport_app = typer.Typer(no_args_is_help=True, help="Read the passport.")
failed_app = typer.Typer(no_args_is_help=True, help="The failed-events queue.")
app.add_typer(passport_app, name="passport")
app.add_typer(failed_app, name="failed")

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The TOML config file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
DEFAULT_CONFIG = Path("sync2.toml")


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(2)


def _load(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except Sync2Error as exc:
        raise _fail(exc) from None


def _open(config: Config) -> PassportStore:
    try:
        return open_store(config.passport.store)
    except Sync2Error as exc:
        raise _fail(exc) from None


@app.callback()
def _main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug")
    ] = 0,
) -> None:
    """sync2: pull OpenMRS hospitals into one patient passport."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def summary_table(summaries: list[SyncSummary]) -> Table:
    table = Table(title="sync summary")
    for col in (
        "source",
        "ok",
        "resources",
        "written",
        "unchanged",
        "invalidated",
        "failed",
        "parked",
        "skipped",
        "seconds",
        "error",
    ):
        table.add_column(col, overflow="fold")
    for s in summaries:
        table.add_row(
            s.source,
            "yes" if s.ok else "[red]NO[/]",
            str(s.resources),
            str(s.written),
            str(s.unchanged),
            str(s.invalidated),
            str(s.failed),
            str(s.parked),
            str(s.skipped),
            f"{s.seconds:.1f}",
            s.error or "",
        )
    return table


def _report(summaries: list[SyncSummary], as_json: bool) -> None:
    """Print the summaries (table or stable JSON); exit 1 when a source failed."""
    if as_json:
        print(json.dumps([_summary_dict(s) for s in summaries], indent=2))
    else:
        console.print(summary_table(summaries))
    if not all(s.ok for s in summaries):
        raise typer.Exit(1)


def _summary_dict(s: SyncSummary) -> dict[str, Any]:
    return {k: getattr(s, k) for k in SyncSummary.__slots__}  # type: ignore[attr-defined]


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
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    cfg = _load(config)
    store = _open(cfg)
    pipeline = Pipeline(cfg, store)
    shown = [s for s in cfg.sources if s.enabled and (source is None or s.id == source)]
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<24} {task.fields[done]} resources"),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json or processes > 1,
            transient=True,
        ) as progress:
            tasks = {s.id: progress.add_task(s.name, total=None, done=0) for s in shown}

            def _progress(source_id: str, summary: SyncSummary) -> None:
                progress.update(tasks[source_id], done=summary.resources)

            if source:
                cfg.source(source)  # a clear error for an unknown id
                summaries = [pipeline.sync_source(source, actor="cli", progress=_progress)]
            else:
                summaries = pipeline.sync_all(actor="cli", progress=_progress, processes=processes)
    except Sync2Error as exc:
        raise _fail(exc) from None
    finally:
        pipeline.close()
        store.close()
    _report(summaries, as_json)


@passport_app.command("show")
def passport_show(
    national_id: Annotated[str, typer.Argument(help="The patient's national ID.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also superseded versions.")] = False,
) -> None:
    """A patient's records from every hospital, newest first."""
    from mappers import normalise_national_id

    from .passport_view import passport_json, passport_text

    cfg = _load(config)
    with _open(cfg) as store:
        patient_id = normalise_national_id(national_id)
        patient = store.get_patient(patient_id)
        if patient is None:
            err_console.print(f"no passport patient with national ID {national_id!r}")
            raise typer.Exit(1)
        view = passport_json(
            patient, store.records_for_patient(patient_id), include_superseded=show_all
        )
    if as_json:
        print(json.dumps(view, indent=2, default=str))
    else:
        console.print(passport_text(view), highlight=False, markup=False, soft_wrap=True)


@passport_app.command("export")
def passport_export(
    national_id: Annotated[str, typer.Argument(help="The patient's national ID.")],
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
    from .faces import FHIR_PATH, NotFound, patient_summary

    if fmt != "fhir":
        err_console.print(f"--format: {fmt!r} is not supported (use fhir)")
        raise typer.Exit(2)
    cfg = _load(config)
    with _open(cfg) as store:
        try:
            base = base_url or f"http://{cfg.admin.host}:{cfg.admin.port}{FHIR_PATH}"
            bundle = patient_summary(store, cfg, national_id, base, actor="cli")
        except NotFound:
            err_console.print(f"no passport patient with national ID {national_id!r}")
            raise typer.Exit(1) from None
    print(json.dumps(bundle, indent=2))


@app.command()
def status(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Per source: cursors, last run, failures; and the passport's counts."""
    cfg = _load(config)
    with _open(cfg) as store:
        report = status_report(cfg, store)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    table = Table(title="sources")
    columns = ("source", "name", "dialect", "fetch", "enabled", "last run", "ok", "open failed")
    for col in (*columns, "dead", "error"):
        table.add_column(col, overflow="fold")
    for s in report["sources"]:
        table.add_row(
            s["id"],
            s["name"],
            s["feed_dialect"] or "-",
            s["fetch_path"],
            str(s["enabled"]),
            s["last_run"] or "-",
            str(s["last_ok"]),
            str(s["failed_open"]),
            str(s["failed_dead"]),
            s["last_error"] or "",
        )
    console.print(table)
    console.print(report["counts"])


def source_paths(kind: str, cursors: dict[str, Any]) -> dict[str, Any]:
    """The feed dialect(s) a source was last read in (from its cursors) and its fetch path."""
    seen = {
        part
        for cursor in cursors.values()
        if isinstance(cursor, dict) and isinstance(cursor.get("dialect"), str)
        for part in cursor["dialect"].split("+")
    }
    fetch = {"openmrs-fhir": "fhir2", "openmrs-rest": "rest", "openmrs-mysql": "mysql"}
    return {"feed_dialect": "+".join(sorted(seen)) or None, "fetch_path": fetch.get(kind, kind)}


def status_report(cfg: Config, store: PassportStore) -> dict[str, Any]:
    """The data behind ``sync2 status`` and ``GET /status``."""
    from datetime import UTC, datetime

    from .store._base import FAILED_DEAD, FAILED_OPEN_STATES

    sources = []
    for sc in cfg.sources:
        runs = store.list_audit(limit=1, source=sc.id, kind="sync") + store.list_audit(
            limit=1, source=sc.id, kind="sync-failed"
        )
        last = max(runs, key=lambda e: e.ts) if runs else None
        sources.append(
            {
                "id": sc.id,
                "name": sc.name,
                "kind": sc.kind,
                **source_paths(sc.kind, store.get_cursors(sc.id)),
                "enabled": sc.enabled,
                "cursors": store.get_cursors(sc.id),
                "last_run": datetime.fromtimestamp(last.ts, UTC).isoformat() if last else None,
                "last_ok": (last.kind == "sync") if last else None,
                "last_error": last.details.get("error") if last else None,
                "failed_open": len(store.list_failed(states=FAILED_OPEN_STATES, source=sc.id)),
                "failed_dead": len(store.list_failed(states=[FAILED_DEAD], source=sc.id)),
            }
        )
    return {"sources": sources, "counts": store.counts()}


@failed_app.command("list")
def failed_list(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
    state: Annotated[str | None, typer.Option(help="pending|retrying|blocked|dead|done")] = None,
) -> None:
    """Failed events with their state, attempts and last error."""
    cfg = _load(config)
    with _open(cfg) as store:
        events = store.list_failed(states=[state] if state else None)
    if as_json:
        print(json.dumps([e.to_dict() for e in events], indent=2, default=str))
        return
    table = Table(title="failed events")
    for col in ("id", "source", "record", "state", "attempts", "error"):
        table.add_column(col, overflow="fold")
    for e in events:
        record = f"{e.resource_type}/{e.uuid}" if e.uuid else (e.payload_ref or "-")
        table.add_row(str(e.id), e.source, record, e.state, str(e.attempts), e.error[:200])
    console.print(table)


@failed_app.command("retry")
def failed_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Failed event ids (default: all open).")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Retry failed events now (dead ones too when named by id)."""
    cfg = _load(config)
    with _open(cfg) as store:
        pipeline = Pipeline(cfg, store)
        try:
            counts = pipeline.retry_failed(ids=ids or None, only_due=False, actor="cli")
        except Sync2Error as exc:
            raise _fail(exc) from None
        finally:
            pipeline.close()
    console.print(counts)


@app.command()
def audit(
    config: ConfigOpt = DEFAULT_CONFIG,
    limit: int = 50,
    kind: str | None = None,
    source: str | None = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit log, newest first."""
    from datetime import UTC, datetime

    cfg = _load(config)
    with _open(cfg) as store:
        entries = store.list_audit(limit=limit, kind=kind, source=source)
    if as_json:
        print(json.dumps([e.to_dict() for e in entries], indent=2, default=str))
        return
    for e in entries:
        when = datetime.fromtimestamp(e.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        console.print(
            f"{when}  {e.kind:<12} {e.source or '-':<10} {e.actor:<8} {e.message}",
            highlight=False,
            markup=False,
        )


@app.command()
def simulate(
    hospitals: Annotated[int, typer.Option(help="How many hospitals.")] = 3,
    patients: Annotated[int, typer.Option(help="Patients per hospital.")] = 20,
    obs_per_patient: Annotated[int, typer.Option(help="Observations per patient.")] = 10,
    seed: int = 1,
    base_port: Annotated[int, typer.Option(help="First port (0 = any free port).")] = 8081,
    live_rate: Annotated[float, typer.Option(help="New obs per second per hospital.")] = 0.0,
) -> None:
    """Run simulated OpenMRS hospitals on 127.0.0.1 until Ctrl-C."""
    from .simulator.cli import simulate as run_simulator

    run_simulator(
        hospitals=hospitals,
        patients=patients,
        obs_per_patient=obs_per_patient,
        seed=seed,
        base_port=base_port,
        live_rate=live_rate,
    )


@app.command()
def demo(
    hospitals: Annotated[int, typer.Option(help="Simulated hospitals.")] = 3,
    store: Annotated[str | None, typer.Option(help="Passport store URL.")] = None,
    live: Annotated[float, typer.Option(help="Keep syncing new obs for this many seconds.")] = 0.0,
    patients: Annotated[int, typer.Option(help="Patients per hospital.")] = 20,
    obs_per_patient: Annotated[int, typer.Option(help="Observations per patient.")] = 10,
) -> None:
    """Simulated hospitals -> the embedded passport -> one patient's whole history."""
    from .demo import run_demo

    try:
        run_demo(
            hospitals=hospitals,
            store_url=store,
            live_seconds=live,
            patients=patients,
            obs_per_patient=obs_per_patient,
            console=console,
        )
    except Sync2Error as exc:
        raise _fail(exc) from None


# -- service commands (sync2/service) ---------------------------------------------------------
OptionalConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="The TOML config file (default ./sync2.toml; without one, the Patient Passport's "
        "HOSPITAL_N_* environment variables).",
    ),
]


@app.command()
def serve(
    config: OptionalConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default admin.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default admin.port).")] = None,
    insecure_local: Annotated[
        bool, typer.Option("--insecure-local", help="No tokens; only on a loopback address.")
    ] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines.")] = False,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Serve HTTPS: certificate chain (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="Private key (PEM) of --tls-cert.")
    ] = None,
    grace: Annotated[
        float,
        typer.Option(
            min=0,
            max=3600,
            help="On SIGTERM/SIGINT, seconds runs get to finish before they stop at a checkpoint.",
        ),
    ] = 30.0,
) -> None:
    """The scheduler and the admin HTTP API (/api/openmrs-sync/..., /metrics, /healthz)."""
    from .console import serve as run_service
    from .service import TlsFiles, load_service_config, setup_logging

    setup_logging(logging.INFO, json_lines=log_json)
    if (tls_cert is None) != (tls_key is None):
        raise _fail(ValueError("--tls-cert and --tls-key go together"))
    tls = TlsFiles(str(tls_cert), str(tls_key)) if tls_cert and tls_key else None
    try:
        cfg = load_service_config(config)
        run_service(
            cfg,
            host=host,
            port=port,
            insecure_local=insecure_local,
            tls=tls,
            grace=grace,
            reload=lambda: load_service_config(config),
        )
    except Sync2Error as exc:
        raise _fail(exc) from None


@app.command()
def run(
    config: OptionalConfigOpt = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines.")] = False,
) -> None:
    """The scheduler alone (a worker); several workers on one MongoDB share the sources."""
    from .service import load_service_config, run_scheduler, setup_logging

    setup_logging(logging.INFO, json_lines=log_json)
    try:
        run_scheduler(load_service_config(config))
    except Sync2Error as exc:
        raise _fail(exc) from None


@app.command("sync-patient")
def sync_patient(
    national_id: Annotated[str, typer.Argument(help="The patient's national ID.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Pull everything of one patient from every hospital, now. Exit 1 when a hospital failed."""
    cfg = _load(config)
    store = _open(cfg)
    pipeline = Pipeline(cfg, store)
    try:
        with err_console.status("syncing the patient from every hospital…"):
            summaries = pipeline.sync_patient(national_id, actor="cli")
    except Sync2Error as exc:
        raise _fail(exc) from None
    finally:
        pipeline.close()
        store.close()
    _report(summaries, as_json)


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
    from .sources import RESOURCE_TYPES

    if resource_type not in RESOURCE_TYPES:
        msg = f"--type must be one of {', '.join(RESOURCE_TYPES)}"
        raise _fail(ValueError(msg))
    cfg = _load(config)
    store = _open(cfg)
    pipeline = Pipeline(cfg, store)
    try:
        cfg.source(source)
        summary = pipeline.sync_record(source, resource_type, uuid, actor="cli")
    except Sync2Error as exc:
        raise _fail(exc) from None
    finally:
        pipeline.close()
        store.close()
    if as_json:
        print(json.dumps(_summary_dict(summary), indent=2))
    else:
        console.print(summary_table([summary]))
    if not summary.ok:
        raise typer.Exit(1)


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes: a smoke test.")] = False,
    parts: Annotated[str, typer.Option(help="Which parts, e.g. abcder.")] = "abcder",
    backfill_obs: Annotated[
        int | None, typer.Option(help="Size of (a): total obs over its hospitals.")
    ] = None,
    processes: Annotated[int | None, typer.Option(help="Worker processes for (a)/(d).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure throughput, store ratio, live latency, scale and the MySQL adapter (one table)."""
    from .bench import BenchPlan, run_bench

    plan = BenchPlan.quick() if quick else BenchPlan()
    plan.parts = tuple(parts)
    if backfill_obs:
        per_hospital = backfill_obs // max(1, plan.backfill_hospitals)
        plan.backfill_patients = max(1, per_hospital // plan.backfill_obs_per_patient)
    if processes is not None:
        plan.processes = processes
    results = run_bench(plan, console=err_console if as_json else console)
    if as_json:
        print(json.dumps(results, indent=2, default=str))


# -- conflicts and passport edits ------------------------------------------------------
conflicts_app = typer.Typer(no_args_is_help=True, help="The conflict queue (passport vs hospital).")
edit_app = typer.Typer(no_args_is_help=True, help="Correct the passport (audited).")
app.add_typer(conflicts_app, name="conflicts")
passport_app.add_typer(edit_app, name="edit")
ActorOpt = Annotated[str, typer.Option("--actor", help="Who does this (audited).")]


@conflicts_app.command("list")
def conflicts_list(
    config: ConfigOpt = DEFAULT_CONFIG,
    show_all: Annotated[bool, typer.Option("--all", help="Also resolved conflicts.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Open conflicts (or every one with --all), oldest first."""
    cfg = _load(config)
    with _open(cfg) as store:
        found = store.list_conflicts(state=None if show_all else "open")
    if as_json:
        rows = [
            {k: v for k, v in c.to_dict().items() if k not in ("base", "passport", "incoming")}
            for c in found
        ]
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"{len(found)} conflicts")
    for col in ("id", "state", "source", "record", "reason", "resolution"):
        table.add_column(col, overflow="fold")
    for c in found:
        table.add_row(
            str(c.id),
            c.state,
            c.source,
            f"{c.resource_type}/{c.uuid}",
            c.reason,
            c.resolution or "",
        )
    console.print(table)


@conflicts_app.command("show")
def conflicts_show(
    conflict_id: Annotated[int, typer.Argument(help="The conflict id (from list).")],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """A side-by-side field diff: base (last synced), passport, incoming (hospital)."""
    from conflicts import show

    cfg = _load(config)
    with _open(cfg) as store:
        pipeline = Pipeline(cfg, store)
        conflict = store.get_conflict(conflict_id)
        if conflict is None:
            raise _fail(LookupError(f"no conflict {conflict_id}"))
        rows = pipeline.conflict_diff(conflict_id)
    if as_json:
        head = {k: v for k, v in conflict.to_dict().items() if k not in ("passport", "base")}
        head["incoming"] = {k: v for k, v in conflict.incoming.items() if k != "raw"}
        print(json.dumps({"conflict": head, "fields": rows}, indent=2, default=str))
        return
    title = (
        f"conflict {conflict.id} ({conflict.state}): {conflict.resource_type}/{conflict.uuid} "
        f"from {conflict.source}: {conflict.reason}"
    )
    table = Table(title=title)
    for col in ("field", "base", "passport", "incoming", "changed by"):
        table.add_column(col, overflow="fold")
    marks = {"conflict": "[bold red]both (differ)[/]", "both": "both (same)"}
    for row in rows:
        changed = str(row["changed_by"])
        table.add_row(
            str(row["field"]),
            show(row["base"]),
            show(row["passport"]),
            show(row["incoming"]),
            marks.get(changed, changed),
        )
    console.print(table)


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(help="The conflict id (from list).")],
    take: Annotated[
        str | None, typer.Option("--take", help="source | passport: keep that side's content.")
    ] = None,
    merged_file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="JSON object of the fields to show (others keep the passport's)."
        ),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    actor: ActorOpt = "cli",
) -> None:
    """Settle a conflict; the hospital's content becomes the new base. Audited."""
    merged: dict[str, Any] | None = None
    if merged_file is not None:
        try:
            loaded = json.loads(merged_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(ValueError(f"cannot read {merged_file}: {exc}")) from None
        if not isinstance(loaded, dict):
            raise _fail(ValueError(f"{merged_file} must hold a JSON object of fields"))
        merged = loaded
    cfg = _load(config)
    with _open(cfg) as store:
        try:
            done = Pipeline(cfg, store).resolve_conflict(
                conflict_id, take=take, merged=merged, actor=actor
            )
        except (LookupError, ValueError, Sync2Error) as exc:
            raise _fail(exc) from None
    console.print(f"conflict {conflict_id}: {done.resolution}", highlight=False)


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
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
    cfg = _load(config)
    with _open(cfg) as store:
        try:
            Pipeline(cfg, store).edit_record(
                source, resource_type, uuid, _parse_sets(sets), actor=actor
            )
        except (LookupError, ValueError, Sync2Error) as exc:
            raise _fail(exc) from None
    console.print(f"{resource_type}/{uuid}: edited", highlight=False)


@edit_app.command("patient")
def passport_edit_patient(
    national_id: Annotated[str, typer.Argument(help="The patient's national ID.")],
    sets: SetOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
    actor: ActorOpt = "cli",
) -> None:
    """Correct a patient's demographics (name, given, family, gender, birth_date, ...)."""
    from mappers import normalise_national_id

    cfg = _load(config)
    with _open(cfg) as store:
        try:
            Pipeline(cfg, store).edit_patient(
                normalise_national_id(national_id), _parse_sets(sets), actor=actor
            )
        except (LookupError, ValueError, Sync2Error) as exc:
            raise _fail(exc) from None
    console.print(f"patient {national_id}: edited", highlight=False)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
