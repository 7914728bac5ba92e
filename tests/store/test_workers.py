"""Scale-out for real: three ``sync2 run`` processes share one MongoDB passport (over the wire)
and a dozen simulated hospitals; one is SIGKILLed while it holds leases.

What is checked comes from outside the leases: each worker's own log of its runs (when each run
of each hospital started and ended), the lease documents seen at the kill, and the simulator's
own list of valid observations.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from mappers.documents import INVALID_STATUSES
from sync2.simulator import FaultConfig, generate_hospitals, serve_hospitals
from sync2.store import open_store
from tests.conftest import MONGO_STORES

pytestmark = pytest.mark.stores(*MONGO_STORES)

SYNC2 = Path(sys.executable).with_name("sync2")
HOSPITALS = 12
LEASE_TTL = 3.0
INTERVAL = 0.5


@dataclass(frozen=True)
class Run:
    worker: int
    source: str
    start: float
    end: float


@pytest.fixture(scope="module")
def dozen() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=HOSPITALS, patients=3, obs_per_patient=3, seed=17)
    with serve_hospitals(hospitals) as running:
        yield running


def _write_config(path: Path, servers: list[Any], store_url: str) -> dict[str, str]:
    env: dict[str, str] = {}
    lines = [
        f'[passport]\nstore = "{store_url}"\n',
        f"[admin]\nlease_ttl_seconds = {LEASE_TTL}\n",
        '[matching]\nidentifier_types = ["National ID"]\n',
    ]
    for i, s in enumerate(servers):
        env[f"HOSPITAL_USER_{i}"], env[f"HOSPITAL_PASSWORD_{i}"] = s.username, s.password
        lines.append(
            f'[[sources]]\nid = "{s.hospital.id}"\nname = "{s.hospital.name}"\n'
            f'base_url = "{s.url}"\nusername = "${{HOSPITAL_USER_{i}}}"\n'
            f'password = "${{HOSPITAL_PASSWORD_{i}}}"\ninterval_seconds = {INTERVAL}\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return env


def _runs(worker: int, log: Path) -> list[Run]:
    """The finished runs a worker logged (JSON lines): a run ends at its line's ``ts``."""
    runs = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if rec.get("msg") == "run finished":
            end = datetime.fromisoformat(rec["ts"]).timestamp()
            runs.append(Run(worker, rec["source"], end - float(rec["seconds"]), end))
    return runs


def _wait(what: str, done: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _overlaps(runs: list[Run]) -> list[tuple[Run, Run]]:
    by_source: dict[str, list[Run]] = {}
    for run in runs:
        by_source.setdefault(run.source, []).append(run)
    found = []
    for same in by_source.values():
        same.sort(key=lambda r: r.start)
        for a, b in itertools.pairwise(same):
            if a.worker != b.worker and b.start < a.end:
                found.append((a, b))
    return found


def _start_workers(toml: Path, env: dict[str, str], logs: list[Path]) -> list[Any]:
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(SYNC2), "run", "--config", str(toml), "--log-json"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                )
            )
    return procs


def _kill_while_holding(
    victim: Any, leases: Collection[dict[str, Any]], servers: list[Any]
) -> tuple[dict[str, float], float]:
    """SIGKILL ``victim`` while it holds a lease; returns what it held (lease -> expiry), when.

    The feeds are slow meanwhile, so that a run holds its lease long enough to die with it.
    """
    for server in servers:
        server.faults = FaultConfig(slow=1.0, delay=0.2, paths=("/ws/atomfeed/",))
    mine = {"owner": {"$regex": f":{victim.pid}:"}}
    held: dict[str, float] = {}
    deadline = time.monotonic() + 90.0
    while not held:
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the victim to hold a lease")
        _wait("the victim to hold a lease", lambda: leases.count_documents(mine) > 0)
        # frozen, it can neither release nor take a lease: what it holds now, it dies holding
        # (once a request it sent just before has landed, hence the pause)
        victim.send_signal(signal.SIGSTOP)
        time.sleep(0.5)
        held = {d["_id"].removeprefix("source:"): d["expires_at"] for d in leases.find(mine)}
        if not held:  # its run ended between the look and the freeze: try again
            victim.send_signal(signal.SIGCONT)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    killed_at = time.time()
    for server in servers:
        server.faults = None
    # what a dead worker held, it can no longer release
    after = {d["_id"].removeprefix("source:"): d["expires_at"] for d in leases.find(mine)}
    assert after.items() <= held.items(), (after, held)
    return held, killed_at


def _check_takeover(runs: list[Run], held: dict[str, float], killed_at: float) -> None:
    for source, expires_at in held.items():
        survivors = [
            r for r in runs if r.worker != 0 and r.source == source and r.start > killed_at
        ]
        assert survivors, source
        # nobody took the killed worker's hospital before its lease ran out
        assert min(r.start for r in survivors) >= expires_at - 0.05, source


def test_three_workers_share_a_dozen_hospitals_and_take_over_a_killed_ones(
    dozen: list[Any], tmp_path: Path, passport_url: Callable[..., str]
) -> None:
    url = passport_url()
    toml = tmp_path / "workers.toml"
    env = {**os.environ, **_write_config(toml, dozen, url)}
    logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
    sources = {s.hospital.id for s in dozen}

    def logged() -> list[Run]:
        return [r for i, log in enumerate(logs) for r in _runs(i, log)]

    procs = _start_workers(toml, env, logs)
    try:
        with MongoClient(url) as client:
            _wait("every hospital synced once", lambda: {r.source for r in logged()} == sources)
            leases = client.get_default_database().leases
            held, killed_at = _kill_while_holding(procs[0], leases, dozen)
            # new data at the victim's hospitals: only a takeover brings it in
            for server in dozen:
                if server.hospital.id in held:
                    server.hospital.add_random_observations(2)

            def taken_over() -> bool:
                later = {r.source for r in logged() if r.worker != 0 and r.start > killed_at}
                return set(held) <= later

            _wait("the victim's hospitals taken over", taken_over, timeout=LEASE_TTL + 60)
            time.sleep(INTERVAL * 4)  # one more round, so the new observations are in
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(90)  # a graceful stop under a loaded machine can take a while

    runs = logged()
    assert _overlaps(runs) == [], "a hospital was synced by two workers at once"
    _check_takeover(runs, held, killed_at)
    # the victim held leases when it died (checked at the kill); both survivors synced too
    assert {1, 2} <= {r.worker for r in runs}, "the hospitals were shared"
    with open_store(url) as store:
        for server in dozen:
            hospital = server.hospital
            expected = {o["id"] for o in hospital.valid_observations()}
            stored = store.find_records(hospital.id, "Observation")
            got = {d["uuid"] for d in stored if d["status"] not in INVALID_STATUSES}
            assert got == expected, hospital.id
