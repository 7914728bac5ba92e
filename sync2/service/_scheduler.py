"""The scheduler: each source on its own interval, never overlapping itself, start/stop live.

One dispatcher thread wakes every ``tick`` seconds and starts a worker thread for each enabled
source that is due and not already running. A worker holds the source's lock (so a run never
overlaps itself, and manual actions on that source wait for it), takes the source's lease when
the store has leases (several ``sync2 run`` workers on one MongoDB then share the hospitals),
runs ``Pipeline.sync_source``, then retries that source's due failed events. An exception in a
run is recorded on the source and logged; it never stops the scheduler.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from .._errors import StoreError, Sync2Error
from ..pipeline import Pipeline, SyncSummary
from ..store import AuditEntry, PassportStore
from ..store._base import FAILED_DONE
from ..store._leases import LeaseKeeper, lease_name, worker_id
from ._metrics import Metrics
from ._progress import RunProgress

log = logging.getLogger(__name__)

#: Most failure/conflict audit entries written for one run; the rest are counted in one line.
MAX_PROBLEM_ENTRIES = 100
#: After the grace period, how long runs get to reach their next checkpoint (one batch).
CHECKPOINT_WAIT_SECONDS = 30.0
SCHEDULER = "scheduler"  # the actor of scheduled runs


class RunStopped(Sync2Error):
    """A run stopped at a checkpoint because the service is shutting down."""


class SourceBusy(Exception):
    """A run of the source is in progress; the caller may try again later."""


@dataclass(slots=True)
class SourceState:
    """What the scheduler knows about one source (the live part of ``GET status``)."""

    state: str = "idle"  # idle | running | disabled | leased-elsewhere
    runs: int = 0
    last_started: float | None = None
    last_finished: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    next_due: float | None = None
    last_summary: dict[str, Any] | None = None
    #: the run in progress, after its last stored window (None when no run is going)
    progress: RunProgress | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def supports_leases(store: PassportStore) -> bool:
    """True when the store's class implements leases (the base class only raises)."""
    return type(store).acquire_lease is not PassportStore.acquire_lease


def audit_problems(store: PassportStore, source: str, since: float, actor: str) -> int:
    """One audit entry per failed event and per conflict of ``source`` created since ``since``.

    Messages name the record (type/uuid) and the error, never patient data. Returns how many
    problems were found.
    """
    failed = [
        e
        for e in store.list_failed(source=source)
        if e.created_at >= since and e.state != FAILED_DONE
    ]
    conflicts = [
        c for c in store.list_conflicts(state=None) if c.source == source and c.created_at >= since
    ]
    entries: list[AuditEntry] = []
    for e in failed:
        record = f"{e.resource_type}/{e.uuid}" if e.uuid else (e.payload_ref or "feed entry")
        entries.append(
            AuditEntry(
                kind="failure",
                source=source,
                actor=actor,
                message=f"{record}: {e.error[:300]}",
                details={"failed_id": e.id, "state": e.state},
            )
        )
    for c in conflicts:
        entries.append(
            AuditEntry(
                kind="conflict",
                source=source,
                actor=actor,
                message=f"{c.resource_type}/{c.uuid}: {c.reason[:300]}",
                details={"conflict_id": c.id},
            )
        )
    for entry in entries[:MAX_PROBLEM_ENTRIES]:
        store.add_audit(entry)
    if len(entries) > MAX_PROBLEM_ENTRIES:
        store.add_audit(
            AuditEntry(
                kind="failure",
                source=source,
                actor=actor,
                message=f"and {len(entries) - MAX_PROBLEM_ENTRIES} more failures/conflicts",
            )
        )
    return len(entries)


class Scheduler:
    """Runs every enabled source of a pipeline on its interval until stopped.

    Args:
        pipeline: the engine (its config names the sources and their ``interval_seconds``).
        metrics: counts every run, scheduled or manual, when given.
        retention_days: audit entries older than this are pruned (checked every ``prune_every``).
        lease_ttl_seconds: the lease length when the store has leases.
        tick: how often the dispatcher looks for due sources.
        owner: this worker's lease owner id (default: host, pid and a random part).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        metrics: Metrics | None = None,
        retention_days: int | None = None,
        lease_ttl_seconds: float = 60.0,
        tick: float = 0.5,
        prune_every: float = 3600.0,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.metrics = metrics
        self.retention_days = (
            retention_days
            if retention_days is not None
            else pipeline.config.passport.audit_retention_days
        )
        self.lease_ttl_seconds = lease_ttl_seconds
        self.tick = tick
        self.prune_every = prune_every
        self.owner = owner or worker_id()
        self.use_leases = supports_leases(self.store)
        self._clock = clock
        self._interval_override: float | None = None
        self._own_run_ended: dict[str, float] = {}  # wall clock, as the audit's times
        self._locks = {sc.id: threading.Lock() for sc in pipeline.config.sources}
        self._states = {
            sc.id: SourceState(state="idle" if sc.enabled else "disabled")
            for sc in pipeline.config.sources
        }
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._cancel = threading.Event()  # runs in progress stop at their next checkpoint
        self._dispatcher: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._last_prune = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._dispatcher is not None and self._dispatcher.is_alive()

    @property
    def interval_override(self) -> float | None:
        return self._interval_override

    def start(self, interval_seconds: float | None = None) -> None:
        """Start (or, when running, re-time) the schedule; every source is due at once.

        ``interval_seconds`` replaces every source's own interval (the Patient Passport's
        ``intervalMinutes``); None keeps each source's ``interval_seconds``.
        """
        with self._guard:
            self._interval_override = interval_seconds
            now = self._clock()
            for state in self._states.values():
                state.next_due = now
            if self.running:
                return
            self._stop.clear()
            self._cancel.clear()
            self._dispatcher = threading.Thread(
                target=self._dispatch, name="sync2-scheduler", daemon=True
            )
            self._dispatcher.start()
        log.info("scheduler started", extra={"interval_override": interval_seconds})

    def stop(self, *, wait: bool = True, timeout: float | None = 30.0) -> None:
        """Stop scheduling new runs; with ``wait``, let the runs in progress end too.

        A run still going after ``timeout`` seconds is asked to stop at its next checkpoint
        (the batch in hand is stored with its cursor, so nothing is lost and the next run goes
        on from there); its lease is released as it ends. Manual runs count as well: every
        source's lock must come free.
        """
        self._stop.set()
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join(timeout)
        if wait and not self._drain(timeout):
            busy = [sid for sid, lock in self._locks.items() if lock.locked()]
            log.warning("runs still going at shutdown; stopping them", extra={"busy": busy})
            self._cancel.set()
            if not self._drain(CHECKPOINT_WAIT_SECONDS):
                log.error("runs did not reach a checkpoint in time", extra={"busy": busy})
        for state in self._states.values():
            state.next_due = None
        log.info("scheduler stopped")

    def _drain(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for every run to end."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float:
            return -1 if deadline is None else max(0.0, deadline - time.monotonic())

        for worker in list(self._workers):
            if worker is not threading.current_thread():
                worker.join(None if deadline is None else left())
        for lock in self._locks.values():
            if not lock.acquire(timeout=left()):
                return False
            lock.release()
        return True

    def states(self) -> dict[str, SourceState]:
        return self._states

    # -- the loop --------------------------------------------------------------------------
    def _interval(self, source_id: str) -> float:
        if self._interval_override is not None:
            return self._interval_override
        return self.pipeline.config.source(source_id).interval_seconds

    def _dispatch(self) -> None:
        while True:
            try:
                self._dispatch_once()
            except Exception:  # the loop must survive anything a store or source throws
                log.exception("scheduler tick failed")
            if self._stop.wait(self.tick):
                return

    def _dispatch_once(self) -> None:
        now = self._clock()
        self._workers = [w for w in self._workers if w.is_alive()]
        for sc in self.pipeline.config.sources:
            state = self._states[sc.id]
            if not sc.enabled or self._locks[sc.id].locked():
                continue
            if state.next_due is not None and now < state.next_due:
                continue
            state.next_due = now + self._interval(sc.id)
            worker = threading.Thread(
                target=self._scheduled_run, args=(sc.id,), name=f"sync2-{sc.id}", daemon=True
            )
            self._workers.append(worker)
            worker.start()
        if now - self._last_prune >= self.prune_every:
            self._last_prune = now
            self.prune_audit()

    def _scheduled_run(self, source_id: str) -> None:
        try:
            summary = self.run_source(source_id, actor=SCHEDULER, retry=True)
            if summary is None and self._states[source_id].state == "leased-elsewhere":
                # look again when that lease could expire
                retry_at = self._clock() + min(self._interval(source_id), self.lease_ttl_seconds)
                state = self._states[source_id]
                state.next_due = min(state.next_due or retry_at, retry_at)
        except SourceBusy:
            pass
        except Exception:
            log.exception("run failed", extra={"source": source_id})

    def prune_audit(self) -> int:
        """Delete audit entries older than the retention; returns how many went."""
        older_than = self._clock() - self.retention_days * 86400
        try:
            removed = self.store.prune_audit(older_than)
        except StoreError as exc:
            log.warning("audit prune failed: %s", exc)
            return 0
        if removed:
            log.info("audit pruned", extra={"removed": removed})
        return removed

    # -- one run ---------------------------------------------------------------------------
    @contextmanager
    def hold(self, source_ids: list[str], *, timeout: float = 0.0) -> Iterator[None]:
        """Hold the locks of ``source_ids`` (sorted, so two holders never deadlock).

        Raises:
            SourceBusy: a lock was not free within ``timeout`` seconds (0: do not wait).
        """
        taken: list[threading.Lock] = []
        try:
            for sid in sorted(set(source_ids)):
                lock = self._locks[sid]
                got = lock.acquire(timeout=timeout) if timeout > 0 else lock.acquire(blocking=False)
                if not got:
                    msg = f"a sync of source {sid!r} is in progress"
                    raise SourceBusy(msg)
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()

    def run_source(
        self, source_id: str, *, actor: str, retry: bool = False, wait: float = 0.0
    ) -> SyncSummary | None:
        """One run of one source now, under its lock (and lease).

        Returns the summary, or None when another worker holds the source's lease.

        Raises:
            SourceBusy: the source is running already (and did not finish within ``wait``).
        """
        self.pipeline.config.source(source_id)  # a clear ConfigError for an unknown id
        with self.hold([source_id], timeout=wait):
            keeper: LeaseKeeper | None = None
            state = self._states[source_id]
            if self.use_leases:
                keeper = LeaseKeeper(
                    self.store,
                    lease_name(source_id),
                    owner=self.owner,
                    ttl_seconds=self.lease_ttl_seconds,
                )
                if not keeper.acquire():
                    state.state = "leased-elsewhere"
                    return None
                if actor == SCHEDULER and self._synced_elsewhere_lately(source_id):
                    keeper.release()
                    return None
            try:
                return self._run_locked(source_id, actor, retry, keeper)
            finally:
                if keeper is not None:
                    keeper.release()

    def _synced_elsewhere_lately(self, source_id: str) -> bool:
        """True when the audit shows another worker's successful run within the interval.

        A lease keeps two workers from syncing one hospital at the same moment, not one after
        the other: without this look, every worker whose timer fell due ran the hospital again as
        soon as the previous holder let go (1.6-2.7 runs per interval with three workers,
        docs/scaling.md). The run's own audit line (wall-clock time) is the shared clock. Hosts'
        clocks are assumed in step to well within an interval.
        """
        try:
            last = self.store.list_audit(limit=1, kind="sync", source=source_id)
        except StoreError as exc:  # unsure: run, as before (the lease still guards it)
            log.warning("could not read the last run of %s: %s", source_id, exc)
            return False
        if not last or last[0].ts <= self._own_run_ended.get(source_id, float("-inf")):
            return False  # none yet, or this worker's own run: its timer is right already
        # due one interval after that run *started*, as its own worker is, and up to a tick
        # sooner: the winner's timer falls on its own tick, so without the head start the
        # worker that won a source once would win it for ever and the others idle
        interval = self._interval(source_id)
        started = last[0].ts - float(last[0].details.get("seconds") or 0.0)
        head_start = random.uniform(0.0, min(self.tick, interval / 2))
        wait = started + interval - head_start - time.time()
        if wait <= 0:
            return False
        self._states[source_id].next_due = self._clock() + wait
        return True

    def _run_locked(
        self, source_id: str, actor: str, retry: bool, keeper: LeaseKeeper | None
    ) -> SyncSummary:
        state = self._states[source_id]
        state.state = "running"
        started = self._clock()
        state.last_started = started
        state.progress = RunProgress(started=started, updated=started)

        def _checkpoint(_source: str, so_far: SyncSummary) -> None:
            """After each stored window: publish the progress, then stop if asked to."""
            state.progress = RunProgress.of(so_far, started, self._clock())
            if self._cancel.is_set():
                msg = f"sync2 is shutting down: run of {source_id!r} stopped at a checkpoint"
                raise RunStopped(msg)
            if keeper is not None and keeper.lost:
                msg = f"lease of source {source_id!r} lost during the run; stopping it"
                raise StoreError(msg)

        try:
            summary = self.pipeline.sync_source(source_id, progress=_checkpoint, actor=actor)
            self._own_run_ended[source_id] = time.time()
        except Exception as exc:  # a bug or an untranslated error: record it, keep scheduling
            log.exception("run crashed", extra={"source": source_id})
            summary = SyncSummary(source=source_id, ok=False, error=f"{type(exc).__name__}: {exc}")
            summary.seconds = self._clock() - started
            self._safe_audit(
                AuditEntry(
                    kind="sync-failed",
                    source=source_id,
                    actor=actor,
                    message=f"sync of {source_id} crashed: {summary.error}",
                    details=summary.to_dict(),
                )
            )
        if retry:
            try:
                self.pipeline.retry_failed(source_id=source_id, only_due=True, actor=actor)
            except Exception:
                log.exception("retry of failed events crashed", extra={"source": source_id})
        try:
            audit_problems(self.store, source_id, started, actor)
        except Exception:
            log.exception("audit of failures crashed", extra={"source": source_id})
        finished = self._clock()
        self.record(summary, finished)
        state.state = "idle"
        state.progress = None
        log.info(
            "run finished",
            extra={
                "source": source_id,
                "ok": summary.ok,
                "resources": summary.resources,
                "written": summary.written,
                "failed": summary.failed,
                "seconds": round(summary.seconds, 3),
            },
        )
        return summary

    def record(self, summary: SyncSummary, finished: float) -> None:
        """Note a finished run of a source (scheduled or manual) in the state and metrics."""
        state = self._states[summary.source]
        state.runs += 1
        state.last_finished = finished
        state.last_summary = summary.to_dict()
        if summary.ok:
            state.last_success = finished
            state.last_error = None
        else:
            state.last_error = summary.error
        if self.metrics is not None:
            self.metrics.observe_run(summary, finished_at=finished)

    def _safe_audit(self, entry: AuditEntry) -> None:
        try:
            self.store.add_audit(entry)
        except StoreError:
            log.exception("audit write failed")
