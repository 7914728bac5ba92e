"""Crash safety: SIGKILL the ``sync2 sync`` process at random points of a large sync, restart it
until a run completes, and compare with a clean run: the same passport, no duplicates."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from sync2.config import load_config
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import open_store
from tests.conftest import MONGO_STORES, passport_rows, simulator_mismatches

from .conftest import open_failed

SYNC2 = Path(sys.executable).with_name("sync2")
MAX_KILLS = 5


@pytest.fixture(scope="module")
def big_servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=2, patients=100, obs_per_patient=20, seed=21)
    with serve_hospitals(hospitals) as running:
        yield running


@pytest.fixture(scope="module")
def mid_servers() -> Iterator[list[Any]]:
    """A tenth of ``big_servers``: a full sync over the wire to nx-27017 is ~10x slower."""
    hospitals = generate_hospitals(n=2, patients=30, obs_per_patient=8, seed=21)
    with serve_hospitals(hospitals) as running:
        yield running


def _write_config(path: Path, servers: list[Any], store: str, initial_sync: str) -> dict[str, str]:
    """A TOML config with the simulator's URLs; credentials come from the environment."""
    env = {}
    lines = [
        f'[passport]\nstore = "{store}"\n',
        '[matching]\nidentifier_types = ["National ID"]\n',
    ]
    for i, s in enumerate(servers):
        env[f"HOSPITAL_USER_{i}"], env[f"HOSPITAL_PASSWORD_{i}"] = s.username, s.password
        lines.append(
            f'[[sources]]\nid = "{s.hospital.id}"\nname = "{s.hospital.name}"\n'
            f'base_url = "{s.url}"\nusername = "${{HOSPITAL_USER_{i}}}"\n'
            f'password = "${{HOSPITAL_PASSWORD_{i}}}"\n'
            'feeds = ["location", "patient", "encounter", "observation"]\n'
            f'initial_sync = "{initial_sync}"\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return env


def _sqlite_records(db: Path) -> int:
    """Rows in the crashing passport, read by a second connection while the sync writes."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("SELECT count(*) FROM medicalrecords").fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy: try again at the next poll
        return 0


@contextmanager
def record_counter(url: str) -> Iterator[Callable[[], int]]:
    """Counts the crashing passport's records from outside the process that writes them."""
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        yield lambda: _sqlite_records(db)
        return
    with MongoClient(url) as client:
        records = client.get_default_database().medicalrecords
        yield lambda: records.count_documents({})


def _sync(config: Path, env: dict[str, str], kill: Callable[[], bool] | None) -> bool:
    """Run ``sync2 sync``; SIGKILL it as soon as ``kill()`` says so. True when it completed."""
    proc = subprocess.Popen(
        [str(SYNC2), "sync", "--config", str(config), "--json"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while proc.poll() is None:
        if kill is not None and kill():
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc.stderr.close()
            return False
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(10)
            proc.stderr.close()
            pytest.fail("sync2 sync did not finish in 60 s")
        time.sleep(0.005)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    assert proc.returncode == 0, err
    return True


def _crash_until_done(
    crash_toml: Path, env: dict[str, str], records: Callable[[], int], total: int, seed: str
) -> int:
    """SIGKILL ``sync2 sync`` at seeded points until a run completes; returns the kill count.

    Kill points are seeded fractions of the final record count, each a little past the last,
    plus a seeded delay so that the kill lands anywhere in a batch (fetch, map, commit).
    """
    rng = random.Random(seed)
    targets = sorted(rng.uniform(0.02, 0.9) * total for _ in range(MAX_KILLS))
    for kills, target in enumerate(targets):
        lag = rng.uniform(0.0, 0.08)
        reached: list[float] = []

        def kill(target: float = target, lag: float = lag, reached: list[float] = reached) -> bool:
            if not reached and records() >= target:
                reached.append(time.monotonic())
            return bool(reached) and time.monotonic() - reached[0] >= lag

        if _sync(crash_toml, env, kill):
            return kills
    assert _sync(crash_toml, env, None)
    return MAX_KILLS


def _sigkill_then_compare(
    servers: list[Any], tmp_path: Path, passport_url: Callable[..., str], initial_sync: str
) -> None:
    clean_toml, crash_toml = tmp_path / "clean.toml", tmp_path / "crash.toml"
    env = _write_config(clean_toml, servers, passport_url("clean"), initial_sync)
    _write_config(crash_toml, servers, passport_url("crash"), initial_sync)
    clean_config = load_config(clean_toml, env=env)
    with open_store(clean_config.passport.store) as clean_store:
        clean = Pipeline(clean_config, clean_store)
        try:
            assert all(s.ok for s in clean.sync_all())
        finally:
            clean.close()
        expected = passport_rows(clean_store, clean_config)
        expected_counts = clean_store.counts()

    started = time.monotonic()
    with record_counter(passport_url("crash")) as records:
        kills = _crash_until_done(
            crash_toml, env, records, len(expected), f"sigkill:{initial_sync}"
        )
    crash_config = load_config(crash_toml, env=env)
    with open_store(crash_config.passport.store) as store:
        got = passport_rows(store, crash_config)
        counts = store.counts()
        failed = open_failed(store)
        against_truth = simulator_mismatches(store, servers)
    print(
        f"\nSIGKILL ({initial_sync}): survived {kills} kills "
        f"in {time.monotonic() - started:.1f} s; "
        f"records compared: {len(got)} vs {len(expected)} in the clean run; "
        f"rows per table {counts}"
    )
    assert kills >= 3, "the sync must have been killed mid-way several times"
    assert failed == []
    assert against_truth == {}  # the simulator's own records, not only the clean run
    diff = sorted(set(got) ^ set(expected), key=repr)
    assert got == expected, (len(diff), [(r in expected, r) for r in diff[:6]])
    assert len({row[:3] for row in got}) == len(got), "no duplicates"
    for table in ("patients", "medicalrecords", "doctors"):
        assert counts.get(table) == expected_counts.get(table), table


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("initial_sync", ["feed", "snapshot"])
def test_sigkill_at_random_points_then_restart_equals_a_clean_run(
    big_servers: list[Any], tmp_path: Path, passport_url: Callable[..., str], initial_sync: str
) -> None:
    _sigkill_then_compare(big_servers, tmp_path, passport_url, initial_sync)


@pytest.mark.stores(*MONGO_STORES)
def test_sigkill_on_mongodb_then_restart_equals_a_clean_run(
    mid_servers: list[Any], tmp_path: Path, passport_url: Callable[..., str]
) -> None:
    """The feed variant only: a snapshot differs from the feed in what it reads, not in how the
    store writes, and the crash window this checks (records written, cursor not yet) is the
    store's. On MongoDB it is a real window: records first, the cursor last."""
    _sigkill_then_compare(mid_servers, tmp_path, passport_url, "feed")
