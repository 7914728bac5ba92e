"""(g) The hospital's side of a sync on the fhir2 path: requests and bytes per 1,000 obs.

Runs in its own process (``python -m sync2.bench phase cost ARGS``). One simulated hospital (a
child process that counts every request and response-body byte it serves) is synced twice:

- **snapshot**: the first sync (note the feed head, page the FHIR searches, follow the feed);
- **incremental**: ``new_obs`` obs are written at the hospital, then the next sync follows the
  feed from where the first stopped.

Beside each, the Sync 2.0 algorithm's cost for the same entries of the same hospital (5-entry
feed pages plus two GETs an entry; ``_sync20``), divided by the same obs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..pipeline import Pipeline
from ..store import open_store
from ._phases import FEEDS, _config
from ._simulators import SimulatorProcess, simulator_process
from ._sync20 import per_1000


def _sync_counted(child: SimulatorProcess, pipeline: Pipeline) -> tuple[bool, dict[str, int]]:
    child.ask("reset")
    ok = all(s.ok for s in pipeline.sync_all(concurrency=1, processes=0))
    return ok, child.cost()


def _sync20(child: SimulatorProcess, since: dict[str, Any] | None = None) -> dict[str, int]:
    total: dict[str, int] = {}
    for figures in child.ask("sync20", feeds=list(FEEDS), since=since).values():
        for key, value in figures.items():
            total[key] = total.get(key, 0) + value
    return total


def _row(sync2: dict[str, int], sync20: dict[str, int], obs: int, expected: int) -> dict[str, Any]:
    row: dict[str, Any] = {"obs": obs, "expected_obs": expected, "sync2": sync2, "sync20": sync20}
    row.update(per_1000(sync2, obs))
    mine = per_1000(sync20, obs)
    row["sync20_requests_per_1000_obs"] = mine["requests_per_1000_obs"]
    row["sync20_bytes_per_1000_obs"] = mine["bytes_per_1000_obs"]
    return row


def cost_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Snapshot then incremental sync of one hospital, each counted at the hospital."""
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {"hospitals": 1, "patients": args["patients"], "obs_per_patient": 50}
    with simulator_process(spec) as child:
        hospital = child.servers[0]
        store_url = f"sqlite:///{workdir / 'cost.db'}"
        store = open_store(store_url)
        pipeline = Pipeline(_config(child.servers, store_url), store)
        try:
            ok1, first = _sync_counted(child, pipeline)
            obs1 = store.count_records(hospital["id"], "Observation", valid_only=True)
            base20 = _sync20(child)
            marks = child.ask("marks")
            expected = child.ask("add_obs", k=args["new_obs"])[hospital["id"]]
            ok2, second = _sync_counted(child, pipeline)
            obs2 = store.count_records(hospital["id"], "Observation", valid_only=True)
            new20 = _sync20(child, since=marks)
        finally:
            pipeline.close()
            store.close()
    return {
        "ok": ok1 and ok2,
        "counted_at": "the simulated hospital (ASGI wrapper): requests, response-body bytes",
        "snapshot": _row(first, base20, obs1, hospital["observations"]),
        "incremental": _row(second, new20, obs2 - obs1, expected - obs1),
    }
