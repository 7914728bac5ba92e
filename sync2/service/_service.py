"""One running sync2 service: the pipeline, its scheduler, its metrics, and the admin actions.

The HTTP API and the CLI both call these methods, so an action behaves the same whichever way
an admin triggers it; each names its ``actor`` for the audit log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError
from ..admin.status import SourceStatus, source_statuses
from ..config import Config
from ..pipeline import Pipeline, SyncSummary
from ..store import AuditEntry, PassportStore, open_store
from ._metrics import Metrics
from ._scheduler import Scheduler, SourceBusy, SourceState, audit_problems

log = logging.getLogger(__name__)

#: How long a manual action waits for a scheduled run of the same source to finish.
MANUAL_WAIT_SECONDS = 60.0
#: How long a shutdown lets runs in progress finish before it stops them at a checkpoint.
SHUTDOWN_GRACE_SECONDS = 30.0
#: The identifier ``initialize`` looks up: shaped like none a hospital issues, so it reads nobody.
PROBE_IDENTIFIER = "sync2-connection-check"


class ResolveUnavailable(Exception):
    """The engine has no conflict resolution yet (``Pipeline.resolve_conflict`` is missing)."""


@dataclass
class Service:
    """Everything ``sync2 serve`` runs; build it with :meth:`build`, end it with :meth:`close`."""

    config: Config
    store: PassportStore
    pipeline: Pipeline
    scheduler: Scheduler
    metrics: Metrics
    manual_wait: float = MANUAL_WAIT_SECONDS
    owns_store: bool = True
    #: background sync-all threads, waited for by :meth:`close`
    background: list[threading.Thread] = field(default_factory=list)
    #: reads the config again from where it came from (``initialize`` compares it)
    reload: Callable[[], Config] | None = None

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        store: PassportStore | None = None,
        pipeline: Pipeline | None = None,
        tick: float = 0.5,
        owner: str | None = None,
    ) -> Service:
        owns = store is None
        store = store if store is not None else open_store(config.passport.store)
        pipeline = pipeline if pipeline is not None else Pipeline(config, store)
        metrics = Metrics([s.id for s in config.sources], store)
        scheduler = Scheduler(
            pipeline,
            metrics=metrics,
            retention_days=config.admin.audit_retention_days,
            lease_ttl_seconds=config.admin.lease_ttl_seconds,
            tick=tick,
            owner=owner,
        )
        return cls(config, store, pipeline, scheduler, metrics, owns_store=owns)

    def close(self, *, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop the scheduler, let runs finish (for ``grace`` seconds, then stop them at a
        checkpoint), close the sources and the store we opened."""
        self.scheduler.stop(wait=True, timeout=grace)
        for thread in list(self.background):
            thread.join(grace)
        self.pipeline.close()
        if self.owns_store:
            self.store.close()

    # -- scheduler -------------------------------------------------------------------------
    def start(self, *, interval_seconds: float | None, actor: str) -> None:
        self.scheduler.start(interval_seconds)
        self._audit(
            "scheduler",
            f"scheduler started (interval: {interval_seconds or 'per source'} s)",
            actor,
        )

    def stop(self, *, actor: str) -> None:
        self.scheduler.stop(wait=False)
        self._audit("scheduler", "scheduler stopped", actor)

    # -- manual syncs ----------------------------------------------------------------------
    def sync_source(self, source_id: str, *, actor: str) -> SyncSummary | None:
        """One source now. None: another worker holds its lease.

        Raises:
            ConfigError: unknown source. SourceBusy: it is running and did not finish in time.
        """
        self._audit("manual", f"sync of source {source_id} requested", actor, source=source_id)
        return self.scheduler.run_source(source_id, actor=actor, wait=self.manual_wait)

    def sync_all(self, *, actor: str) -> list[dict[str, Any]]:
        """Every enabled source now, one after the other; a busy source is reported, not run."""
        results: list[dict[str, Any]] = []
        for sc in self.config.sources:
            if not sc.enabled:
                continue
            try:
                summary = self.scheduler.run_source(sc.id, actor=actor, wait=self.manual_wait)
            except SourceBusy as exc:
                results.append(
                    {"source": sc.id, "ok": False, "error": str(exc), "busy": True, "skipped": True}
                )
                continue
            if summary is None:
                results.append(
                    {
                        "source": sc.id,
                        "ok": False,
                        "error": "leased by another worker",
                        "skipped": True,
                    }
                )
            else:
                results.append(summary.to_dict())
        return results

    def sync_all_background(self, *, actor: str) -> None:
        self.background = [t for t in self.background if t.is_alive()]
        thread = threading.Thread(
            target=self._sync_all_logged, args=(actor,), name="sync2-sync-all", daemon=True
        )
        self.background.append(thread)
        thread.start()

    def _sync_all_logged(self, actor: str) -> None:
        """A background sync-all has no caller to read its results: log and audit each outcome."""
        try:
            results = self.sync_all(actor=actor)
        except Exception:
            log.exception("background sync-all failed")
            return
        for result in results:
            if result.get("ok"):
                continue
            source = str(result["source"])
            reason = str(result.get("error") or "unknown reason")
            skipped = bool(result.get("skipped"))
            outcome = "skipped" if skipped else "failed"
            log.warning(
                f"background sync-all: source {outcome}",
                extra={"source": source, "reason": reason},
            )
            if skipped:  # a run that failed has audited itself (kind sync-failed)
                self._audit("sync-skipped", f"{source} skipped: {reason}", actor, source=source)

    def sync_patient(self, national_id: str, *, actor: str) -> list[SyncSummary]:
        """Everything of one patient from every enabled hospital, under every source's lock."""
        enabled = [s.id for s in self.config.sources if s.enabled]
        started = time.time()
        with self.scheduler.hold(enabled, timeout=self.manual_wait):
            summaries = self.pipeline.sync_patient(national_id, actor=actor)
        for summary in summaries:
            self.metrics.observe_records(summary)
            audit_problems(self.store, summary.source, started, actor)
        return summaries

    def sync_record(
        self, source_id: str, resource_type: str, uuid: str, *, actor: str
    ) -> SyncSummary:
        self.config.source(source_id)
        started = time.time()
        with self.scheduler.hold([source_id], timeout=self.manual_wait):
            summary = self.pipeline.sync_record(source_id, resource_type, uuid, actor=actor)
        self.metrics.observe_records(summary)
        audit_problems(self.store, source_id, started, actor)
        return summary

    def initialize(self, *, actor: str) -> list[dict[str, Any]]:
        """Ask every hospital of the config a question and report whether each answers.

        Each source is asked, under its lock (so no run is disturbed), a lookup that matches
        nobody: a full round trip with the configured credentials that reads no patient.

        Raises:
            SourceBusy: a source stayed busy for longer than the manual wait.
        """
        report: list[dict[str, Any]] = []
        for sc in self.config.sources:
            with self.scheduler.hold([sc.id], timeout=self.manual_wait):
                report.append(self._connect(sc.id))
        connected = [r["id"] for r in report if r["connected"]]
        self._audit(
            "initialize",
            f"connected to {len(connected)} of {len(report)} hospitals",
            actor,
        )
        return report

    def config_drift(self) -> dict[str, Any]:
        """Read the config again and say which sections differ from the running one.

        The running service keeps its config (its sources, locks and leases are built from
        it); a change takes a restart, and this is how an operator learns one is needed, or
        that the edited file does not load.
        """
        if self.reload is None:
            return {"reread": False, "changed": [], "restartNeeded": False, "error": None}
        try:
            fresh = self.reload()
        except ConfigError as exc:
            return {"reread": True, "changed": [], "restartNeeded": False, "error": str(exc)}
        changed = [
            name
            for name in type(self.config).model_fields
            if getattr(fresh, name) != getattr(self.config, name)
        ]
        return {"reread": True, "changed": changed, "restartNeeded": bool(changed), "error": None}

    def _connect(self, source_id: str) -> dict[str, Any]:
        sc = self.config.source(source_id)
        started = time.perf_counter()
        error: str | None = None
        try:
            self.pipeline.source(source_id).find_patients(PROBE_IDENTIFIER)
        except Exception as exc:  # any failure to answer is the report, not a crash
            error = f"{type(exc).__name__}: {exc}"
        return {
            "id": sc.id,
            "name": sc.name,
            "kind": sc.kind,
            "enabled": sc.enabled,
            "connected": error is None,
            "error": error,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }

    # -- failed events ---------------------------------------------------------------------
    def retry_one(self, failed_id: int, *, actor: str) -> dict[str, int] | None:
        """Retry one failed event now (dead ones too). None: no such event."""
        event = self.store.get_failed(failed_id)
        if event is None:
            return None
        with self.scheduler.hold([event.source], timeout=self.manual_wait):
            return self.pipeline.retry_failed(ids=[failed_id], only_due=False, actor=actor)

    def retry_all(self, *, actor: str) -> dict[str, int]:
        """Retry every open failed event now, source by source."""
        totals = {"done": 0, "retrying": 0, "dead": 0}
        for sc in self.config.sources:
            with self.scheduler.hold([sc.id], timeout=self.manual_wait):
                counts = self.pipeline.retry_failed(source_id=sc.id, only_due=False, actor=actor)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    # -- conflicts -------------------------------------------------------------------------
    def resolve_conflict(
        self, conflict_id: int, *, take: str | None, merged: dict[str, Any] | None, actor: str
    ) -> Any:
        """Resolve through the engine.

        Raises:
            ResolveUnavailable: this build of the engine cannot resolve conflicts yet.
        """
        resolve = getattr(self.pipeline, "resolve_conflict", None)
        if resolve is None:
            msg = "conflict resolution is not available in this version of the sync2 engine"
            raise ResolveUnavailable(msg)
        return resolve(conflict_id, take=take, merged=merged, actor=actor)

    # -- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Per source: state, lag (now minus the newest change in the passport), last success,
        counts, last error, breaker, the progress of a run in progress; and totals."""
        now = time.time()
        states = self.scheduler.states()
        sources = [
            self._source_status(st, states[st.config.id], now)
            for st in source_statuses(self.config, self.store)
        ]
        return {
            "scheduler": {
                "running": self.scheduler.running,
                "worker": self.scheduler.owner,
                "leases": self.scheduler.use_leases,
                "interval_override_seconds": self.scheduler.interval_override,
            },
            "sources": sources,
            "counts": self.store.counts(),
        }

    def _source_status(self, st: SourceStatus, state: SourceState, now: float) -> dict[str, Any]:
        """The passport's record of a source with this process's live scheduler state on top."""
        sc, latest = st.config, st.last_run
        last_success = state.last_success or st.last_success
        last_run, last_error = state.last_summary, state.last_error
        last_run_at = state.last_finished
        if last_run is None:
            last_run = dict(latest.details) if latest else None
            last_run_at = latest.ts if latest else None
            last_error = st.last_error or last_error
        running = self.scheduler.running or state.state == "running"
        newest, progress = st.newest_change, state.progress
        lag = None if newest is None or newest.at is None else round(max(0.0, now - newest.at), 3)
        return {
            "id": sc.id,
            "name": sc.name,
            "kind": sc.kind,
            "enabled": sc.enabled,
            "state": state.state if running else ("disabled" if not sc.enabled else "stopped"),
            "interval_seconds": self.scheduler.interval_override or sc.interval_seconds,
            "last_success": last_success,
            "lag_seconds": lag,
            "newest_change": newest.to_dict() if newest else None,
            "lag_reason": st.lag_reason,
            "since_success_seconds": round(now - last_success, 3) if last_success else None,
            "last_error": last_error,
            "last_run": last_run,
            "last_run_at": last_run_at,
            "runs": state.runs,
            "failed_open": st.failed_open,
            "failed_dead": st.failed_dead,
            "breaker": self._breaker_state(sc.id),
            "progress": progress.to_dict(now) if progress is not None else None,
        }

    def _breaker_state(self, source_id: str) -> str:
        """The source's circuit breaker state when it has one, else ``closed``."""
        try:
            source = self.pipeline.source(source_id)
        except ConfigError:
            return "unknown"
        return source.breaker.state if source.breaker is not None else "closed"

    def _audit(self, kind: str, message: str, actor: str, *, source: str | None = None) -> None:
        self.store.add_audit(AuditEntry(kind=kind, message=message, source=source, actor=actor))
