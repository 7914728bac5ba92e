"""``sync2 demo``: simulated hospitals on loopback, synced into the embedded passport.

It runs the real thing end to end (HTTP feeds and FHIR, the pipeline, the SQLite store), then
prints the passport of the patient seen at the most hospitals.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mappers import MappingContext, map_patients

from .config import DEFAULT_FEEDS, Config, MatchingConfig, PassportConfig, SourceConfig
from .passport_view import passport_json, passport_text
from .pipeline import Pipeline, SyncSummary
from .store import open_store

DEFAULT_DEMO_STORE = "sqlite:///demo-passport.db"


def config_for_servers(
    servers: list[Any],
    store_url: str,
    *,
    matching: dict[str, Any] | None = None,
    **source_options: Any,
) -> Config:
    """A config that points at running simulated hospitals (used by the demo and the tests)."""
    sources = [
        SourceConfig(  # type: ignore[call-arg]
            id=s.hospital.id,
            name=s.hospital.name,
            kind="openmrs-fhir",
            base_url=s.url,
            username=s.username,
            password=s.password,
            **{
                "feeds": ["location", "patient", "visit", "encounter", "observation"],
                **source_options,
            },
        )
        for s in servers
    ]
    return Config(  # type: ignore[call-arg]
        passport=PassportConfig(store=store_url),  # type: ignore[call-arg]
        matching=MatchingConfig(**{"identifier_types": ["National ID"], **(matching or {})}),
        sources=sources,
    )


def _most_shared_patient(servers: list[Any]) -> tuple[str, dict[str, str]]:
    """The national ID seen at the most hospitals, and its uuid at each of them."""
    seen: Counter[str] = Counter()
    uuids: dict[str, dict[str, str]] = {}
    for s in servers:
        ctx = MappingContext(
            source=s.hospital.id,
            hospital=s.hospital.name,
            identifier_types=("National ID",),
            encounters={},
        )
        for doc in map_patients(s.hospital.valid_resources("Patient"), ctx):
            if doc.national_id:
                seen[doc.national_id] += 1
                uuids.setdefault(doc.national_id, {})[s.hospital.id] = doc.uuid
    if not seen:
        return "", {}
    nid = max(sorted(seen), key=lambda n: seen[n])
    return nid, uuids[nid]


def run_demo(
    *,
    hospitals: int = 3,
    store_url: str | None = None,
    live_seconds: float = 0.0,
    patients: int = 20,
    obs_per_patient: int = 10,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the demo; returns the shown passport (as ``passport show --json`` prints it)."""
    from .simulator import generate_hospitals, serve_hospitals

    console = console or Console()
    if store_url is None:
        store_url = DEFAULT_DEMO_STORE
        for suffix in ("", "-wal", "-shm"):  # the default demo passport starts empty each run
            Path(f"demo-passport.db{suffix}").unlink(missing_ok=True)
    sims = generate_hospitals(
        n=hospitals, patients=patients, obs_per_patient=obs_per_patient, seed=1
    )
    with serve_hospitals(sims) as servers:
        console.print(f"[bold]{len(servers)} simulated hospitals on 127.0.0.1[/]")
        for s in servers:
            console.print(f"  {s.hospital.name:<24} {s.url}")
        config = config_for_servers(servers, store_url, feeds=list(DEFAULT_FEEDS))
        store = open_store(store_url)
        pipeline = Pipeline(config, store)
        try:
            summaries = _sync_with_progress(pipeline, config, console)
            nid, _ = _most_shared_patient(servers)
            view = _show(store, nid, console)
            console.print(
                f"\n[bold]{sum(s.written for s in summaries)}[/] records written from "
                f"{len(summaries)} hospitals into {store_url}"
            )
            if live_seconds > 0:
                view = _live(pipeline, servers, store, nid, live_seconds, console)
            return view
        finally:
            pipeline.close()
            store.close()


def _sync_with_progress(pipeline: Pipeline, config: Config, console: Console) -> list[SyncSummary]:
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {s.id: progress.add_task(s.name, total=None) for s in config.sources}

        def _progress(source_id: str, summary: SyncSummary) -> None:
            progress.update(tasks[source_id], completed=summary.resources)

        def _one(source_id: str) -> SyncSummary:
            summary = pipeline.sync_source(source_id, progress=_progress, actor="demo")
            progress.update(tasks[source_id], total=summary.resources, completed=summary.resources)
            return summary

        with ThreadPoolExecutor(max_workers=max(1, len(config.sources))) as pool:
            return list(pool.map(_one, [s.id for s in config.sources]))


def _show(store: Any, nid: str, console: Console) -> dict[str, Any]:
    patient = store.get_patient(nid)
    if patient is None:
        console.print("[red]no shared patient found in the passport[/]")
        return {}
    view = passport_json(patient, store.records_for_patient(nid))
    console.print()
    console.print(passport_text(view), highlight=False, markup=False, soft_wrap=True)
    return view


def _live(
    pipeline: Pipeline, servers: list[Any], store: Any, nid: str, seconds: float, console: Console
) -> dict[str, Any]:
    """New obs (and now and then a prescription) keep arriving at the hospitals; each sync
    pass shows what reached the passport."""
    _, uuids = _most_shared_patient(servers)
    stop = threading.Event()
    rng = random.Random(7)
    written_at: dict[str, float] = {}

    def _writer() -> None:
        while not stop.wait(0.5):
            server = rng.choice([s for s in servers if s.hospital.id in uuids] or servers)
            patient_uuid = uuids.get(server.hospital.id)
            if patient_uuid:
                before = time.monotonic()
                written_at[server.hospital.add_observation(patient_uuid)] = before
                if rng.random() < 0.2:
                    written_at[server.hospital.prescribe(patient_uuid)] = before
            rng.choice(servers).hospital.add_random_observations(2)

    console.print(f"\n[bold]live for {seconds:.0f}s[/]: new records arrive at the hospitals")
    known = {r["uuid"] for r in store.records_for_patient(nid)}
    thread = threading.Thread(target=_writer, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    try:
        while time.monotonic() < deadline:
            pipeline.sync_all(actor="demo")
            for rec in store.records_for_patient(nid):
                if rec["uuid"] in known:
                    continue
                known.add(rec["uuid"])
                lag = time.monotonic() - written_at.get(rec["uuid"], time.monotonic())
                if rec["uuid"] in written_at:
                    latencies.append(lag)
                console.print(
                    f"  + {rec.get('effective', '')[:16]}  {rec.get('hospital')}  "
                    f"{rec.get('type')}  {rec.get('name')}: {rec.get('value')} "
                    f"{rec.get('unit') or ''}  (in the passport {lag:.1f}s after it was written)",
                    highlight=False,
                    markup=False,
                )
            time.sleep(1.0)
    finally:
        stop.set()
        thread.join(timeout=5)
    if latencies:
        latencies.sort()
        console.print(
            f"live: {len(latencies)} new records, median lag {latencies[len(latencies) // 2]:.1f}s"
        )
    patient = store.get_patient(nid)
    return passport_json(patient, store.records_for_patient(nid)) if patient else {}
