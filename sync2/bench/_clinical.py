"""(k) The clinical types end to end over HTTP: records/s per resource type.

Runs in its own process (``python -m sync2.bench phase clinical ARGS``). The simulated hospitals
(a child process) have the whole-history types as well as obs. One passport is synced in steps,
each a first sync of the types it adds (snapshot, then the feed from its head) while the feeds
synced before are followed from where they stopped:

1. the obs path (locations, patients, visits, encounters, obs): the per-obs baseline of this part;
2. then, one step each: allergies; conditions (problem list and encounter diagnoses, both FHIR
   Condition); medication requests; medication dispenses; service requests; diagnostic reports.

Each step's wall and CPU are its own, so a type's records/s is its records over its step. Every
count is checked against the simulator's own truth: its rows not voided, per resource type, are
the passport's records not entered in error (a revised order is held, marked superseded).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from mappers.documents import STATUS_ENTERED_IN_ERROR, STATUS_SUPERSEDED

from ..pipeline import Pipeline
from ..store import PassportStore, open_store
from ._phases import FEEDS, _config
from ._simulators import simulator_process

#: (resource type, the feeds that bring it), in an order that syncs what a type refers to first;
#: the types are ``_targets.CLINICAL_ROWS``
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Observation", FEEDS),
    ("AllergyIntolerance", ("allergy",)),
    ("Condition", ("condition", "diagnosis")),
    ("MedicationRequest", ("drug_order",)),
    ("MedicationDispense", ("medication_dispense",)),
    ("ServiceRequest", ("test_order",)),
    ("DiagnosticReport", ("diagnostic_report",)),
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _step(
    servers: list[dict[str, Any]],
    store_url: str,
    store: PassportStore,
    resource_type: str,
    feeds: tuple[str, ...],
) -> dict[str, Any]:
    """One timed sync adding ``feeds``; its records of ``resource_type`` against the truth."""
    all_feeds = feeds if feeds == FEEDS else (*FEEDS, *feeds)
    pipeline = Pipeline(_config(servers, store_url, all_feeds), store)
    cpu0, t0 = _cpu(), time.perf_counter()
    try:
        ok = all(s.ok for s in pipeline.sync_all(concurrency=4, processes=0))
    finally:
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        pipeline.close()
    held = [
        doc["status"]
        for s in servers
        for doc in store.find_records(s["id"], resource_type)
        if doc["status"] != STATUS_ENTERED_IN_ERROR
    ]
    records = len(held)
    expected = sum(s["valid"].get(resource_type, 0) for s in servers)
    return {
        "resource_type": resource_type,
        "feeds": list(feeds),
        "ok": ok,
        "records": records,
        "superseded": held.count(STATUS_SUPERSEDED),
        "expected": expected,
        "wall_s": wall,
        "records_per_s": records / wall if wall else 0.0,
        "cpu_s_per_record": cpu / records if records else None,
    }


def clinical_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Sync hospitals with every clinical type, one type a step; records/s per type."""
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "hospitals": args["hospitals"],
        "patients": args["patients"],
        "obs_per_patient": args["obs_per_patient"],
        "clinical": True,
    }
    with simulator_process(spec) as child:
        store_url = f"sqlite:///{workdir / 'clinical.db'}"
        store = open_store(store_url)
        try:
            steps = [
                _step(child.servers, store_url, store, resource_type, feeds)
                for resource_type, feeds in STEPS
            ]
        finally:
            store.close()
    base = steps[0]["cpu_s_per_record"]
    for step in steps:
        per = step["cpu_s_per_record"]
        step["cpu_vs_obs"] = per / base if per is not None and base else None
    return {
        "hospitals": len(child.servers),
        "ok": all(s["ok"] for s in steps),
        "steps": steps,
    }
