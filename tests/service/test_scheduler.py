"""The scheduler: start/stop live, a source never overlaps itself, failures do not stop it,
leases share the sources between workers, the audit is pruned."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from sync2.config import Config
from sync2.pipeline import Pipeline
from sync2.service import Scheduler
from sync2.sources import FetchResult, Source, SourceBatch
from sync2.store import AuditEntry, open_store


def _wait(predicate: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


class _SlowSource(Source):
    """A hospital whose every run takes ``hold`` seconds; counts concurrent runs."""

    def __init__(self, source_id: str, hold: float = 0.05, boom: bool = False) -> None:
        self.id = source_id
        self.name = source_id
        self.hold = hold
        self.boom = boom
        self.active = 0
        self.max_active = 0
        self.runs = 0
        self._lock = threading.Lock()

    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        with self._lock:
            self.active += 1
            self.runs += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.hold)
            if self.boom:
                raise RuntimeError("hospital adapter bug")
            yield SourceBatch(stream="s", cursor={"n": self.runs})
        finally:
            with self._lock:
                self.active -= 1

    def fetch(self, resource_type: str, uuids: Any) -> FetchResult:
        return FetchResult()

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        return iter(())

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        return []


def _config(tmp_path: Any, **intervals: float) -> Config:
    return Config.model_validate(
        {
            "passport": {"store": f"sqlite:///{tmp_path}/p.db"},
            "sources": [
                {"id": sid, "name": sid, "base_url": "http://127.0.0.1:9", "interval_seconds": i}
                for sid, i in intervals.items()
            ],
        }
    )


def test_each_source_on_its_own_interval_never_overlapping(tmp_path: Any) -> None:
    config = _config(tmp_path, fast=0.01, slow=30)
    fast, slow = _SlowSource("fast", hold=0.05), _SlowSource("slow", hold=0.0)
    with open_store(config.passport.store) as store:
        pipeline = Pipeline(config, store, sources={"fast": fast, "slow": slow})
        scheduler = Scheduler(pipeline, tick=0.005)
        scheduler.start()
        assert _wait(lambda: fast.runs >= 5)
        scheduler.stop()
        assert fast.max_active == 1  # due every 10 ms, runs 50 ms: never two at once
        assert slow.runs == 1  # due at start, then not for 30 s
        runs_after_stop = fast.runs
        time.sleep(0.1)
        assert fast.runs == runs_after_stop
        assert store.get_cursors("fast")["s"] == {"n": runs_after_stop}


def test_start_stop_start_without_a_restart(tmp_path: Any) -> None:
    config = _config(tmp_path, a=0.01)
    source = _SlowSource("a", hold=0.0)
    with open_store(config.passport.store) as store:
        scheduler = Scheduler(Pipeline(config, store, sources={"a": source}), tick=0.005)
        scheduler.start()
        assert scheduler.running and _wait(lambda: source.runs >= 2)
        scheduler.stop()
        assert not scheduler.running
        stopped_at = source.runs
        time.sleep(0.05)
        assert source.runs == stopped_at
        scheduler.start(interval_seconds=0.01)
        assert scheduler.running and _wait(lambda: source.runs >= stopped_at + 2)
        scheduler.stop()


def test_a_crashing_source_does_not_stop_the_others(tmp_path: Any) -> None:
    config = _config(tmp_path, bad=0.01, good=0.01)
    bad, good = _SlowSource("bad", hold=0.0, boom=True), _SlowSource("good", hold=0.0)
    with open_store(config.passport.store) as store:
        scheduler = Scheduler(
            Pipeline(config, store, sources={"bad": bad, "good": good}), tick=0.005
        )
        scheduler.start()
        assert _wait(lambda: bad.runs >= 3 and good.runs >= 3)
        assert scheduler.running
        scheduler.stop()
        state = scheduler.states()["bad"]
        assert state.last_error == "RuntimeError: hospital adapter bug"
        assert state.last_success is None
        assert scheduler.states()["good"].last_error is None
        crashed = store.list_audit(kind="sync-failed", source="bad")
        assert crashed and crashed[0].actor == "scheduler"


def test_two_workers_share_sources_through_leases(tmp_path: Any) -> None:
    config = _config(tmp_path, a=0.01, b=0.01)
    store = open_store(config.passport.store)
    try:
        a1, b1 = _SlowSource("a", hold=0.02), _SlowSource("b", hold=0.02)
        w1 = Scheduler(Pipeline(config, store, sources={"a": a1, "b": b1}), owner="w1")
        assert w1.use_leases
        assert store.acquire_lease("source:b", "w2", 30)  # worker 2 holds hospital b
        w1.tick = 0.005
        w1.start()
        assert _wait(lambda: a1.runs >= 3)
        w1.stop()
        assert b1.runs == 0
        assert w1.states()["b"].state == "leased-elsewhere"
        assert store.acquire_lease("source:a", "w2", 30)  # released after each run
    finally:
        store.close()


def test_two_workers_run_a_hospital_once_per_interval_not_once_each(tmp_path: Any) -> None:
    """A lease stops two workers syncing at once; the audit stops them syncing one after the other.

    Expected from the clock alone: in ``elapsed`` seconds a hospital due every ``interval``
    seconds runs at most ``elapsed / interval + 1`` times, whichever worker runs it (each worker
    alone would run it that often, so two without the shared look run it about twice as often).
    """
    interval = 0.4
    config = _config(tmp_path, a=interval)
    sources = [_SlowSource("a", hold=0.02), _SlowSource("a", hold=0.02)]
    stores = [open_store(config.passport.store) for _ in sources]
    workers = [
        Scheduler(Pipeline(config, st, sources={"a": src}), owner=f"w{i}", tick=0.01)
        for i, (st, src) in enumerate(zip(stores, sources, strict=True))
    ]
    try:
        started = time.monotonic()
        for worker in workers:  # the workers' timers out of step, as real ones are
            worker.start()
            time.sleep(interval / 2)
        time.sleep(8 * interval)
        for worker in workers:
            worker.stop()
        elapsed = time.monotonic() - started
        runs = sum(src.runs for src in sources)
        assert runs >= 2, "the hospital was synced"
        assert runs <= elapsed / interval + 1, (runs, elapsed)
        assert max(src.max_active for src in sources) == 1
    finally:
        for st in stores:
            st.close()


def test_scheduler_prunes_the_audit_by_retention(tmp_path: Any) -> None:
    config = _config(tmp_path, a=60)
    with open_store(config.passport.store) as store:
        store.add_audit(AuditEntry(kind="sync", message="old", ts=time.time() - 3 * 86400))
        store.add_audit(AuditEntry(kind="sync", message="new"))
        scheduler = Scheduler(
            Pipeline(config, store, sources={"a": _SlowSource("a")}), retention_days=2, tick=0.005
        )
        scheduler.start()
        assert _wait(lambda: all(e.message != "old" for e in store.list_audit(limit=50)))
        scheduler.stop()
        assert "new" in [e.message for e in store.list_audit(limit=50)]


def test_scheduled_runs_retry_due_failed_events(tmp_path: Any) -> None:
    config = _config(tmp_path, a=60)
    with open_store(config.passport.store) as store:
        pipeline = Pipeline(config, store, sources={"a": _SlowSource("a")})
        calls: list[dict[str, Any]] = []
        original = pipeline.retry_failed

        def spy(**kwargs: Any) -> dict[str, int]:
            calls.append(kwargs)
            return original(**kwargs)

        pipeline.retry_failed = spy  # type: ignore[method-assign]
        scheduler = Scheduler(pipeline, tick=0.005)
        scheduler.start()
        assert _wait(lambda: bool(calls))
        scheduler.stop()
        assert calls[0] == {"source_id": "a", "only_due": True, "actor": "scheduler"}
