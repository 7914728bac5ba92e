"""The flow of one change, in one place.

    source.batches(cursors)          changed FHIR resources + the cursor that covers them
      -> look-ups    (engine/lookups)       encounters, patients, names: fetched outside the lock
      -> map         (engine/mapping)       FHIR -> passport documents (mappers/)
      -> catchment   (engine/catchment)     patients outside the area: not stored (catchment/)
      -> match       (engine/matching)      source patient -> passport patient by national ID
      -> history     (engine/history)       revised orders, amended observations, reports
      -> check       (engine/conflict_check) passport vs source (conflicts/)
      -> invalidate  (engine/invalidate)    voids, deletions, merges
      -> store.apply(batch, cursor)         records and cursor commit together
      -> audit

Every change ends in the passport, the failed-events queue, the parked queue or the conflict
queue; nothing is dropped silently and one bad record never stops the others. The stages live
in :mod:`sync2.engine` and never import this module: what they need from it (apply resources,
reach another hospital) they are handed as callables.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mappers.documents import RECORD_RESOURCE_TYPES

from ._errors import SourceAuthError, SourceUnavailable, Sync2Error
from .admin.manual import ManualActions
from .admin.passport_admin import PassportAdmin
from .config import Config
from .engine.catchment import CatchmentEngine
from .engine.conflict_check import ConflictCheck
from .engine.failures import FailedEvents
from .engine.gc_pause import fewer_collections
from .engine.history import link_history
from .engine.invalidate import invalidate
from .engine.lookups import prefetch_lookups
from .engine.mapping import BatchMapper, EncounterCache, dedupe
from .engine.matching import PatientMatcher
from .engine.prefetch import prefetch
from .engine.references import NameCache
from .engine.source_kinds import build_source
from .engine.summary import SyncSummary
from .sources import Failure, Gone, Source, SourceBatch
from .store import AuditEntry, Conflict, Cursor, PassportStore, WriteBatch

__all__ = ["Pipeline", "SyncSummary", "build_source"]

log = logging.getLogger(__name__)

_ENCOUNTER_CACHE_SIZE = 200_000
_LINKED_HINTS = 50_000  # ~5 MB of uuids per source at most, and only while it syncs
Progress = Callable[[str, SyncSummary], None]


@dataclass(slots=True)
class _Prepared:
    """One batch ready to store: what to write, and what it did (written counts come after)."""

    batch: WriteBatch
    summary: SyncSummary


class Pipeline:
    """Runs syncs of configured sources into one passport store."""

    def __init__(
        self,
        config: Config,
        store: PassportStore,
        *,
        sources: dict[str, Source] | None = None,
        clock: Callable[[], float] = time.time,
        after_apply: Callable[[SourceBatch], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._sources: dict[str, Source] = dict(sources or {})
        self._clock = clock
        self._after_apply = after_apply
        priorities = {s.id: s.priority for s in config.sources}
        failed = FailedEvents(config, clock)
        self._mapper = BatchMapper(config, store, failed, self._encounter_cache)
        self._matcher = PatientMatcher(config, store, failed, priorities)
        self._conflict_check = ConflictCheck(config, store, priorities)
        self._catchment = CatchmentEngine(config, store, self.apply_resources, self.source)
        self._failed = failed
        #: resolve conflicts and edit the passport (``sync2 conflicts`` / ``passport edit``)
        self.admin = PassportAdmin(store, clock)
        #: sync one record or patient now, retry failed events (``sync2 sync-record`` ...)
        self.manual = ManualActions(
            config,
            store,
            clock,
            source_for=self.source,
            apply=self.apply_resources,
            apply_entity=self._apply_entity,
        )
        self._encounters: dict[str, EncounterCache] = {}
        #: names of practitioners and locations read by id, per source, for one run
        self._names: dict[str, NameCache] = {}
        #: source patients seen linked in this run, per source: a look-up hint only (the
        #: match stage reads the links again under the lock)
        self._linked: dict[str, set[str]] = {}
        #: Hospitals sync in parallel, but a person seen at two of them is one passport patient:
        #: reading, merging and writing it must not interleave, or one hospital's version is lost.
        self._apply_lock = threading.RLock()
        self._sources_lock = threading.Lock()

    def _encounter_cache(self, source_id: str) -> EncounterCache:
        """Doctor/facility of recently seen encounters, so each obs batch does not re-read
        its encounters from the store; bounded, and refreshed whenever an encounter syncs."""
        cache = self._encounters.setdefault(source_id, {})
        if len(cache) > _ENCOUNTER_CACHE_SIZE:
            cache.clear()
        return cache

    # -- sources ---------------------------------------------------------------------------
    def source(self, source_id: str) -> Source:
        """The source object of one hospital, built once (one client, one breaker)."""
        with self._sources_lock:
            if source_id not in self._sources:
                self._sources[source_id] = build_source(self.config, self.config.source(source_id))
            return self._sources[source_id]

    def close(self) -> None:
        for source in self._sources.values():
            source.close()

    # -- whole syncs -----------------------------------------------------------------------
    def sync_all(
        self,
        *,
        progress: Progress | None = None,
        actor: str = "system",
        concurrency: int = 4,
        processes: int = 0,
    ) -> list[SyncSummary]:
        """One pass over every enabled source, ``concurrency`` hospitals at a time.

        Hospitals are independent (their own cursors, records keyed by source), so a slow or
        dead one does not hold up the others; the store serialises the writes. With
        ``processes`` > 1 the hospitals are spread over that many worker processes, which is
        what uses more than one core for a large backfill (mapping is CPU-bound Python).
        """
        ids = [s.id for s in self.config.sources if s.enabled]
        if processes > 1 and len(ids) > 1 and _shareable_store(self.config.passport.store):
            return _sync_in_processes(self.config, ids, processes, actor)
        if concurrency <= 1 or len(ids) <= 1:
            return [self.sync_source(i, progress=progress, actor=actor) for i in ids]
        with ThreadPoolExecutor(
            max_workers=min(concurrency, len(ids)), thread_name_prefix="sync2-source"
        ) as pool:
            return list(
                pool.map(lambda i: self.sync_source(i, progress=progress, actor=actor), ids)
            )

    def sync_source(
        self, source_id: str, *, progress: Progress | None = None, actor: str = "system"
    ) -> SyncSummary:
        """One pass over one source: every change after its cursors, until it has no more.

        Side effects: writes records, cursors, failed events and one audit entry per run.
        """
        started = self._clock()
        total = SyncSummary(source=source_id)
        with fewer_collections():
            self._run_source(source_id, total, progress)
        self._linked.pop(source_id, None)  # a hint for this run only
        if not total.ok:
            self._catchment.forget(source_id)  # its decisions of this run were not stored
        total.seconds = self._clock() - started
        self._audit_run(total, actor)
        return total

    def _run_source(self, source_id: str, total: SyncSummary, progress: Progress | None) -> None:
        """The body of :meth:`sync_source`: what fails is said in ``total``, never raised."""
        try:
            source = self.source(source_id)
            self._register_hospital(source)
            cursors = self.store.get_cursors(source_id)
            open_keys = self.store.open_failed_keys(source_id)
            self._names[source_id] = {}
            self._linked[source_id] = set()
            self._catchment.refresh(source, total)
            batches = source.batches(cursors)
            if source.concurrent_reads:
                batches = prefetch(batches, depth=2)
            for sb in batches:
                self._sync_batch(source, sb, open_keys, total)
                if progress is not None:
                    progress(source_id, total)
                if self._after_apply is not None:
                    self._after_apply(sb)
            self._recheck_known(source, total)
        except SourceAuthError as exc:
            total.ok, total.error, total.unauthorised = False, f"unauthorised: {exc}", True
        except SourceUnavailable as exc:  # breaker open: costs nothing, retried next run
            total.ok, total.error = False, f"unavailable: {exc}"
        except Sync2Error as exc:
            total.ok, total.error = False, str(exc)

    def _sync_batch(
        self,
        source: Source,
        sb: SourceBatch,
        open_keys: set[tuple[str, str]],
        total: SyncSummary,
    ) -> None:
        """One batch of a sync: stored with its cursor, or not at all."""
        ready = self._lookups(source, sb)  # outside the lock: a slow hospital holds up itself
        with self._apply_lock:  # patients are read, merged and written as one step
            prepared = self.prepare(ready, sb, open_keys=open_keys)
            result = self.store.apply(prepared.batch, Cursor(source.id, sb.stream, sb.cursor))
        prepared.summary.written = result.written
        prepared.summary.unchanged = result.unchanged
        self._catchment.settle(source, prepared.summary)
        total.add(prepared.summary)
        total.position = (sb.stream, sb.cursor)
        open_keys.update(
            (f.resource_type, f.uuid) for f in prepared.batch.failed if f.resource_type and f.uuid
        )

    def _lookups(self, source: Source, sb: SourceBatch) -> Source:
        """``source``, answering from memory what ``sb`` will look up (see engine/lookups)."""
        names = self._names.setdefault(source.id, {})
        linked = self._linked.setdefault(source.id, set())
        if len(linked) > _LINKED_HINTS:
            linked.clear()
        encounters = self._encounter_cache(source.id)
        return prefetch_lookups(source, sb, self.store, encounters, names, linked)

    def _recheck_known(self, source: Source, summary: SyncSummary) -> None:
        """Polling cannot see voids (fhir2 searches leave voided rows out), so each run also
        re-reads a slice of the records the passport holds as valid, ``_id`` batches of 100,
        and marks those the source now answers 410/404 for. The slice rotates (a uuid keyset
        cursor), so every record is re-checked within ``records / poll_recheck_per_run`` runs.
        """
        config = source.config
        if config is None or config.mode != "poll" or config.poll_recheck_per_run <= 0:
            return
        per_run = config.poll_recheck_per_run
        for rtype in RECORD_RESOURCE_TYPES:
            stream = f"recheck:{rtype}"
            after = str((self.store.get_cursor(source.id, stream) or {}).get("after", ""))
            uuids = self.store.list_record_uuids(source.id, rtype, after=after, limit=per_run)
            if not uuids and not after:
                continue
            fetched = source.fetch(rtype, uuids) if uuids else None
            wb = WriteBatch()
            if fetched is not None:
                invalidate(source, fetched.gone, wb, self.store)
            summary.invalidated += len(wb.status_changes)
            # a look-up that failed is simply re-checked on a later pass; nothing is lost
            next_after = uuids[-1] if len(uuids) == per_run else ""
            with self._apply_lock:
                self.store.apply(wb, Cursor(source.id, stream, {"after": next_after}))

    def _register_hospital(self, source: Source) -> None:
        self.store.upsert_hospital(
            source.id, {"source": source.id, "name": source.name, "base_url": source.base_url}
        )

    def _audit_run(self, summary: SyncSummary, actor: str) -> None:
        level = "sync" if summary.ok else "sync-failed"
        message = (
            f"sync of {summary.source}: {summary.resources} resources, {summary.written} written, "
            f"{summary.failed} failed, {summary.parked} parked, {summary.skipped} skipped"
        )
        if summary.error:
            message += f"; error: {summary.error}"
        details = summary.to_dict()
        self.store.add_audit(
            AuditEntry(
                kind=level, message=message, source=summary.source, actor=actor, details=details
            )
        )

    # -- one batch -------------------------------------------------------------------------
    def prepare(
        self,
        source: Source,
        sb: SourceBatch,
        *,
        open_keys: set[tuple[str, str]] | None = None,
    ) -> _Prepared:
        """Map, match and check one source batch; returns what to write (nothing written yet)."""
        summary = SyncSummary(source=source.id, batches=1, skipped=sb.skipped)
        wb = WriteBatch()
        resources = dedupe(sb.resources)
        summary.resources = len(resources)
        for note in sb.notes:  # a lost marker gets its own kind: admins look for it
            kind = "lost-marker" if note.startswith("marker entry") else "source"
            wb.audit.append(AuditEntry(kind=kind, message=note, source=source.id))
        wb.failed.extend(self._failed.of(source.id, sb.stream, f) for f in sb.failures)
        keys = open_keys if open_keys is not None else set()
        mapped = self._mapper.map(source, sb, resources, wb, keys)
        self._catchment.screen(source, sb, mapped.patients, mapped.records, wb, summary)
        links = self._matcher.match(source, mapped.patients, mapped.records, wb, summary)
        self._matcher.place(source, mapped.records, links, wb, summary)
        link_history(source.id, wb, self.store)  # revised / discontinued orders, reports
        self._conflict_check.check(source, wb, summary)  # before anything is written
        invalidate(source, sb.gone, wb, self.store)
        summary.invalidated = len(wb.status_changes)
        summary.failed = len(wb.failed)
        summary.parked = len(wb.parked)
        return _Prepared(wb, summary)

    # -- outside the feed: manual syncs, retries, catchment pulls ------------------------------
    def apply_resources(
        self,
        source: Source,
        resources: list[dict[str, Any]],
        *,
        gone: list[Gone] | None = None,
        failures: list[Failure] | None = None,
        stream: str = "manual",
    ) -> SyncSummary:
        """Bring in resources outside the feed (manual sync, retries); no cursor moves."""
        sb = SourceBatch(
            stream=stream, cursor={}, resources=resources, gone=gone or [], failures=failures or []
        )
        ready = self._lookups(source, sb)
        with self._apply_lock:
            prepared = self.prepare(ready, sb)
            result = self.store.apply(prepared.batch, None)
        prepared.summary.written = result.written
        prepared.summary.unchanged = result.unchanged
        self._catchment.settle(ready, prepared.summary)
        return prepared.summary

    def _apply_entity(self, source: Source, sb: SourceBatch, key: tuple[str, str]) -> str | None:
        """Store ``sb`` unless the change of ``key`` fails in it (then its error, nothing
        stored): a retry must not write a second failed event for the one it retries."""
        ready = self._lookups(source, sb)
        with self._apply_lock:  # a shared patient is merged from a fresh read, as in a sync
            prepared = self.prepare(ready, sb)
            mine = [f for f in prepared.batch.failed if (f.resource_type, f.uuid) == key]
            if mine:
                return mine[0].error
            self.store.apply(prepared.batch, None)
        return None

    def sync_record(
        self, source_id: str, resource_type: str, uuid: str, *, actor: str = "admin"
    ) -> SyncSummary:
        """One record now; see :meth:`ManualActions.sync_record`."""
        return self.manual.sync_record(source_id, resource_type, uuid, actor=actor)

    def sync_patient(self, national_id: str, *, actor: str = "admin") -> list[SyncSummary]:
        """One patient from every hospital now; see :meth:`ManualActions.sync_patient`."""
        return self.manual.sync_patient(national_id, actor=actor)

    def retry_failed(
        self,
        *,
        source_id: str | None = None,
        ids: Iterable[int] | None = None,
        only_due: bool = True,
        actor: str = "system",
    ) -> dict[str, int]:
        """Try open failed events again; see :meth:`ManualActions.retry_failed`."""
        return self.manual.retry_failed(
            source_id=source_id, ids=ids, only_due=only_due, actor=actor
        )

    # -- admin actions (the CLI and the admin API call these) -----------------------------------
    def conflict_diff(self, conflict_id: int) -> list[dict[str, Any]]:
        """Side-by-side rows of one conflict; see :meth:`PassportAdmin.conflict_diff`."""
        return self.admin.conflict_diff(conflict_id)

    def resolve_conflict(
        self,
        conflict_id: int,
        take: str | None = None,
        merged: dict[str, Any] | None = None,
        actor: str = "admin",
    ) -> Conflict:
        """Settle a queued conflict; see :meth:`PassportAdmin.resolve_conflict`."""
        return self.admin.resolve_conflict(conflict_id, take, merged, actor)

    def edit_record(
        self,
        source_id: str,
        resource_type: str,
        uuid: str,
        changes: dict[str, Any],
        actor: str = "admin",
    ) -> dict[str, Any]:
        """An admin's correction of a record; see :meth:`PassportAdmin.edit_record`."""
        return self.admin.edit_record(source_id, resource_type, uuid, changes, actor)

    def edit_patient(
        self, patient_id: str, changes: dict[str, Any], actor: str = "admin"
    ) -> dict[str, Any]:
        """An admin's correction of demographics; see :meth:`PassportAdmin.edit_patient`."""
        return self.admin.edit_patient(patient_id, changes, actor)


def _shareable_store(url: str) -> bool:
    """Worker processes need a passport they can all open: a file or a server."""
    return not (url.startswith("mongomock://") or url.rstrip("/") in ("sqlite:", "sqlite:/"))


def _sync_in_processes(
    config: Config, ids: list[str], processes: int, actor: str
) -> list[SyncSummary]:
    context = multiprocessing.get_context("spawn")  # no fork: the parent has threads
    with ProcessPoolExecutor(max_workers=min(processes, len(ids)), mp_context=context) as pool:
        futures = [pool.submit(_sync_one_source, config, i, actor) for i in ids]
        return [f.result() for f in futures]


def _sync_one_source(config: Config, source_id: str, actor: str) -> SyncSummary:
    """A worker process: its own store connection and pipeline, one source."""
    from .store import open_store

    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store)
    try:
        return pipeline.sync_source(source_id, actor=actor)
    finally:
        pipeline.close()
        store.close()
