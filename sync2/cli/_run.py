"""Long-running and self-contained commands: the service, a worker, the simulator, the demo
and the benchmark. None of them opens the passport through a session: each owns its own."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from .._errors import Sync2Error
from ._app import app
from ._common import JsonOpt, console, err_console, fail


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
    from ..simulator.cli import simulate as run_simulator

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
    from ..demo import run_demo

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
        raise fail(exc) from None


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
    from ..console import serve as run_service
    from ..service import TlsFiles, load_service_config, setup_logging

    setup_logging(logging.INFO, json_lines=log_json)
    if (tls_cert is None) != (tls_key is None):
        raise fail(ValueError("--tls-cert and --tls-key go together"))
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
        raise fail(exc) from None


@app.command()
def run(
    config: OptionalConfigOpt = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines.")] = False,
) -> None:
    """The scheduler alone (a worker); several workers on one MongoDB share the sources."""
    from ..service import load_service_config, run_scheduler, setup_logging

    setup_logging(logging.INFO, json_lines=log_json)
    try:
        run_scheduler(load_service_config(config))
    except Sync2Error as exc:
        raise fail(exc) from None


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes: a smoke test.")] = False,
    parts: Annotated[str, typer.Option(help="Which parts, e.g. abcdegkmrp.")] = "abcdegkmrp",
    backfill_obs: Annotated[
        int | None, typer.Option(help="Size of (a): total obs over its hospitals.")
    ] = None,
    processes: Annotated[int | None, typer.Option(help="Worker processes for (a)/(d).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure throughput, store ratio, live latency, scale and the MySQL adapter (one table)."""
    from ..bench import BenchPlan, run_bench

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
