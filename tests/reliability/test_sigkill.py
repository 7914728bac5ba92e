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
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from sync2.config import load_config
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import open_store
from tests.conftest import passport_rows, simulator_mismatches

from .conftest import open_failed

SYNC2 = Path(sys.executable).with_name("sync2")
MAX_KILLS = 5


@pytest.fixture(scope="module")
def big_servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=2, patients=100, obs_per_patient=20, seed=21)
    with serve_hospitals(hospitals) as running:
        yield running


def _write_config(path: Path, servers: list[Any], store: Path, initial_sync: str) -> dict[str, str]:
    """A TOML config with the simulator's URLs; credentials come from the environment."""
    env = {}
    lines = [
        f'[passport]\nstore = "sqlite:///{store}"\n',
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


def _records(db: Path) -> int:
    """Rows in the crashing passport, read by a second connection while the sync writes."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("SELECT count(*) FROM medicalrecords").fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy: try again at the next poll
        return 0


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
            pytest.fail("sync2 sync did not finish in 60 s")
        time.sleep(0.005)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    assert proc.returncode == 0, err
    return True


@pytest.mark.parametrize("initial_sync", ["feed", "snapshot"])
def test_sigkill_at_random_points_then_restart_equals_a_clean_run(
    big_servers: list[Any], tmp_path: Path, initial_sync: str
) -> None:
    rng = random.Random(f"sigkill:{initial_sync}")
    clean_toml, crash_toml = tmp_path / "clean.toml", tmp_path / "crash.toml"
    env = _write_config(clean_toml, big_servers, tmp_path / "clean.db", initial_sync)
    _write_config(crash_toml, big_servers, tmp_path / "crash.db", initial_sync)
    clean_config = load_config(clean_toml, env=env)
    with open_store(clean_config.passport.store) as clean_store:
        clean = Pipeline(clean_config, clean_store)
        try:
            assert all(s.ok for s in clean.sync_all())
        finally:
            clean.close()
        expected = passport_rows(clean_store, clean_config)
        expected_counts = clean_store.counts()

    # kill points: seeded fractions of the final record count, each a little past the last, plus
    # a seeded delay so that the kill lands anywhere in a batch (fetch, map, commit)
    total, db = len(expected), tmp_path / "crash.db"
    targets = sorted(rng.uniform(0.02, 0.9) * total for _ in range(MAX_KILLS))
    kills, started = 0, time.monotonic()
    while True:
        if kills < MAX_KILLS:
            target, lag = targets[kills], rng.uniform(0.0, 0.08)
            reached: list[float] = []

            def kill(
                target: float = target, lag: float = lag, reached: list[float] = reached
            ) -> bool:
                if not reached and _records(db) >= target:
                    reached.append(time.monotonic())
                return bool(reached) and time.monotonic() - reached[0] >= lag

            if _sync(crash_toml, env, kill):
                break
            kills += 1
        else:
            assert _sync(crash_toml, env, None)
            break
    crash_config = load_config(crash_toml, env=env)
    with open_store(crash_config.passport.store) as store:
        got = passport_rows(store, crash_config)
        counts = store.counts()
        failed = open_failed(store)
        against_truth = simulator_mismatches(store, big_servers)
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
