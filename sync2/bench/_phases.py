"""The measured parts; each runs in its own process and returns a dict of figures."""

from __future__ import annotations

import random
import resource
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mappers.documents import RecordDoc

from ..config import Config, HttpConfig, MatchingConfig, PassportConfig, SourceConfig
from ..pipeline import Pipeline
from ..store import WriteBatch, open_store
from ..store._codec import record_blob
from ._simulators import simulators


def _usage() -> tuple[float, int]:
    """CPU seconds and peak RSS of this process and its finished workers (the simulators'
    process is still running when this is read, so it is not counted)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime
    return cpu, max(me.ru_maxrss, workers.ru_maxrss) * 1024


#: the feeds of the obs path (parts a, d, g): no whole-history types
FEEDS = ("location", "patient", "visit", "encounter", "observation")


def _config(
    servers: list[dict[str, Any]], store_url: str, feeds: tuple[str, ...] = FEEDS
) -> Config:
    return Config(  # type: ignore[call-arg]
        passport=PassportConfig(store=store_url),  # type: ignore[call-arg]
        matching=MatchingConfig(identifier_types=["National ID"], on_unmatched="create"),
        http=HttpConfig(),  # type: ignore[call-arg]
        sources=[
            SourceConfig(  # type: ignore[call-arg]
                id=s["id"],
                name=s["name"],
                base_url=s["url"],
                username=s["username"],
                password=s["password"],
                initial_sync="snapshot",
                feeds=list(feeds),
            )
            for s in servers
        ],
    )


def backfill(args: dict[str, Any]) -> dict[str, Any]:
    """(a) and (b): a first sync of H hospitals over HTTP, then the store alone."""
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    spec = {k: args[k] for k in ("hospitals", "patients", "obs_per_patient")}
    with simulators(spec) as servers:
        store_url = f"sqlite:///{workdir / 'backfill.db'}"
        store = open_store(store_url)
        pipeline = Pipeline(_config(servers, store_url), store)
        cpu0, _ = _usage()
        t0 = time.perf_counter()
        summaries = pipeline.sync_all(
            concurrency=args.get("concurrency", 4), processes=args.get("processes", 0)
        )
        wall = time.perf_counter() - t0
        cpu1, rss = _usage()
        pipeline.close()
    ok = all(s.ok for s in summaries)
    expected = sum(s["observations"] for s in servers)
    obs = sum(store.count_records(s["id"], "Observation", valid_only=True) for s in servers)
    result: dict[str, Any] = {
        "hospitals": len(servers),
        "obs": obs,
        "expected_obs": expected,
        "ok": ok,
        "wall_s": wall,
        "obs_per_s": obs / wall if wall else 0.0,
        "cpu_s_per_obs": (cpu1 - cpu0) / obs if obs else 0.0,
        "peak_rss_mb": rss / 2**20,
        "resources": sum(s.resources for s in summaries),
    }
    records = []
    if args.get("raw_store", True):
        records = [
            RecordDoc(**doc) for s in servers for doc in store.find_records(s["id"], "Observation")
        ]
    store.close()
    result["passport_bytes"] = passport_bytes(workdir / "backfill.db")
    result["bytes_per_obs"] = result["passport_bytes"] / obs if obs else None
    result["bytes_measured_as"] = SQLITE_BYTES
    if records:
        result.update(_raw_store(records, workdir))
        result.update(_floor(records, workdir))
    return result


SQLITE_BYTES = "passport file after closing and a WAL checkpoint (TRUNCATE), / valid obs"


def passport_bytes(path: Path) -> int:
    """The SQLite passport's size, measured the same way in every run: the write-ahead log is
    folded into the file first (closing the store may or may not have done it)."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return path.stat().st_size


def _raw_store(records: list[RecordDoc], workdir: Path) -> dict[str, Any]:
    """(b): the same documents written by the store alone, in bulk batches."""
    store = open_store(f"sqlite:///{workdir / 'raw.db'}")
    t0 = time.perf_counter()
    for start in range(0, len(records), 1000):
        store.apply(WriteBatch(records=records[start : start + 1000]))
    wall = time.perf_counter() - t0
    store.close()
    return {"raw_obs_per_s": len(records) / wall if wall else 0.0}


def _floor(records: list[RecordDoc], workdir: Path) -> dict[str, Any]:
    """(f): the floor under (b): the bytes the store writes for each record (its compressed
    blob, made before the clock starts), written with plain ``executemany`` into a bare
    key/value table (no indexes, no bookkeeping), 1,000 a commit: SQLite's own cost."""
    rows = [(f"{r.source}/{r.resource_type}/{r.uuid}", record_blob(r)) for r in records]
    con = sqlite3.connect(workdir / "floor.db")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE docs (key TEXT PRIMARY KEY, doc TEXT)")
    t0 = time.perf_counter()
    for start in range(0, len(rows), 1000):
        with con:
            con.executemany("INSERT INTO docs VALUES (?, ?)", rows[start : start + 1000])
    wall = time.perf_counter() - t0
    con.close()
    return {"floor_obs_per_s": len(rows) / wall if wall else 0.0}


def live(args: dict[str, Any]) -> dict[str, Any]:
    """(c): seconds from an obs written at a hospital to the obs in the passport."""
    from ..demo import config_for_servers
    from ..simulator import generate_hospitals, serve_hospitals

    seconds = float(args.get("seconds", 10))
    interval = float(args.get("interval", 1.0))
    rate = float(args.get("rate", 5.0))
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    hospitals = generate_hospitals(n=1, patients=50, obs_per_patient=10, seed=2, clinical=False)
    with serve_hospitals(hospitals) as servers:
        config = config_for_servers(servers, f"sqlite:///{workdir / 'live.db'}")
        store = open_store(config.passport.store)
        pipeline = Pipeline(config, store)
        source_id = servers[0].hospital.id
        pipeline.sync_source(source_id)  # catch up first; latency is measured from here on
        written: dict[str, float] = {}
        lock = threading.Lock()
        stop = threading.Event()
        rng = random.Random(3)

        def _writer() -> None:
            while not stop.wait(rng.expovariate(rate)):
                for uuid in servers[0].hospital.add_random_observations(1):
                    with lock:
                        written[uuid] = time.perf_counter()

        thread = threading.Thread(target=_writer, daemon=True)
        thread.start()
        lags: list[float] = []
        deadline = time.perf_counter() + seconds
        try:
            while time.perf_counter() < deadline + 2 * interval:
                started = time.perf_counter()
                if started > deadline:
                    stop.set()
                pipeline.sync_source(source_id)
                now = time.perf_counter()
                with lock:
                    pending = dict(written)
                arrived = store.get_records(source_id, "Observation", list(pending))
                for uuid in arrived:
                    lags.append(now - pending[uuid])
                    with lock:
                        written.pop(uuid, None)
                time.sleep(max(0.0, interval - (time.perf_counter() - started)))
        finally:
            stop.set()
            thread.join(timeout=5)
            pipeline.close()
            store.close()
    lags.sort()
    return {
        "interval_s": interval,
        "new_obs": len(lags),
        "missing": len(written),
        "p50_s": statistics.median(lags) if lags else None,
        "p95_s": lags[min(len(lags) - 1, int(0.95 * len(lags)))] if lags else None,
    }


PHASES = {"backfill": backfill, "live": live}
