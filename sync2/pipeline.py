"""The flow of one change, in one place.

    source.batches(cursors)          changed FHIR resources + the cursor that covers them
      -> map          (mappers/)     FHIR -> passport documents
      -> match        (here)         source patient -> passport patient by national ID
      -> check        (conflicts/)   passport vs source
      -> store.apply(batch, cursor)  records and cursor commit together
      -> audit

Every change ends in the passport, the failed-events queue, the parked queue or the conflict
queue; nothing is dropped silently and one bad record never stops the others.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from conflicts.demographics import (
    merge_patient,
)
from mappers import (
    EncounterInfo,
    MappingContext,
    MappingError,
    encounter_info,
    map_patients,
    map_resource,
)
from mappers.documents import (
    RECORD_RESOURCE_TYPES,
    STATUS_AMENDED,
    STATUS_ENTERED_IN_ERROR,
    STATUS_SUPERSEDED,
    DoctorDoc,
    LocationDoc,
    PatientDoc,
    RecordDoc,
)

from ._errors import ConfigError, SourceAuthError, SourceUnavailable, Sync2Error
from .admin.manual import ManualActions
from .admin.passport_admin import PassportAdmin
from .config import Config, SourceConfig
from .engine.catchment import CatchmentEngine, tag_filter_for
from .engine.conflict_check import ConflictCheck
from .engine.history import link_history, supersede_amended
from .engine.lookups import WITH_ENCOUNTER, encounter_ref, prefetch_lookups
from .engine.patient_links import PatientLinker
from .engine.patient_links import hold as hold_patient
from .engine.prefetch import prefetch
from .engine.references import NameCache
from .engine.summary import SyncSummary
from .sources import Failure, Gone, Source, SourceBatch
from .store import (
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    PassportStore,
    StatusChange,
    WriteBatch,
)
from .store._base import (
    FAILED_BLOCKED,
)

log = logging.getLogger(__name__)

_ENCOUNTER_CACHE_SIZE = 200_000
_TYPE_ORDER = {"Location": 0, "Practitioner": 1, "Patient": 2, "Encounter": 3, "Observation": 4}


@dataclass(slots=True)
class _Prepared:
    batch: WriteBatch
    summary: SyncSummary
    entity_keys: list[tuple[str, str]] = field(default_factory=list)


def build_source(config: Config, source_config: SourceConfig) -> Source:
    """The source object for one configured hospital."""
    if source_config.kind == "openmrs-fhir":
        from .sources.openmrs_fhir import OpenMRSFhirSource

        return OpenMRSFhirSource(
            source_config,
            config.http,
            tag_filter=tag_filter_for(config, source_config),  # catchment (issue 6)
        )
    if source_config.kind == "openmrs-rest":
        from .sources.openmrs_rest import OpenMRSRestSource

        return OpenMRSRestSource(
            source_config, config.http, tag_filter=tag_filter_for(config, source_config)
        )
    if source_config.kind == "openmrs-mysql":
        try:
            from .sources.mysql import MySQLSource
        except ImportError as exc:
            msg = f"sources[{source_config.id}]: the MySQL source is unavailable: {exc}"
            raise ConfigError(msg) from exc
        return MySQLSource(source_config)
    msg = f"sources[{source_config.id}]: unknown kind {source_config.kind!r}"
    raise ConfigError(msg)


class Pipeline(ManualActions):
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
        self._priorities = {s.id: s.priority for s in config.sources}
        self._conflict_check = ConflictCheck(config, store, self._priorities)
        #: resolve conflicts and edit the passport (``sync2 conflicts`` / ``passport edit``)
        self.admin = PassportAdmin(store, clock)
        self._catchment = CatchmentEngine(config, store)  # catchment (issue 6)
        self._encounters: dict[str, dict[str, EncounterInfo]] = {}
        #: names of practitioners and locations read by id, per source, for one run
        self._names: dict[str, NameCache] = {}
        #: Hospitals sync in parallel, but a person seen at two of them is one passport patient:
        #: reading, merging and writing it must not interleave, or one hospital's version is lost.
        self._apply_lock = threading.RLock()
        self._sources_lock = threading.Lock()

    def _encounter_cache(self, source_id: str) -> dict[str, EncounterInfo]:
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
        progress: Callable[[str, SyncSummary], None] | None = None,
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
        self,
        source_id: str,
        *,
        progress: Callable[[str, SyncSummary], None] | None = None,
        actor: str = "system",
    ) -> SyncSummary:
        """One pass over one source: every change after its cursors, until it has no more.

        Side effects: writes records, cursors, failed events and one audit entry per run.
        """
        started = self._clock()
        total = SyncSummary(source=source_id)
        try:
            source = self.source(source_id)
            self._register_hospital(source)
            cursors = self.store.get_cursors(source_id)
            open_keys = self.store.open_failed_keys(source_id)
            names = self._names[source_id] = {}
            self._catchment.refresh(self, source, total)  # catchment (issue 6)
            batches = source.batches(cursors)
            if source.concurrent_reads:
                batches = prefetch(batches, depth=2)
            for sb in batches:
                # look-ups first, outside the lock: a slow hospital holds up only itself
                ready = prefetch_lookups(
                    source, sb, self.store, self._encounter_cache(source.id), names
                )
                with self._apply_lock:  # patients are read, merged and written as one step
                    prepared = self.prepare(ready, sb, open_keys=open_keys)
                    result = self.store.apply(
                        prepared.batch, Cursor(source_id, sb.stream, sb.cursor)
                    )
                prepared.summary.written = result.written
                prepared.summary.unchanged = result.unchanged
                self._catchment.settle(self, source, prepared.summary)  # catchment (issue 6)
                total.add(prepared.summary)
                open_keys.update(
                    (f.resource_type, f.uuid)
                    for f in prepared.batch.failed
                    if f.resource_type and f.uuid
                )
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
        if not total.ok:
            self._catchment.forget(source_id)  # catchment (issue 6): decisions not stored
        total.seconds = self._clock() - started
        self._audit_run(total, actor)
        return total

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
                self._invalidate(source, fetched.gone, [], wb)
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
        details = {k: getattr(summary, k) for k in SyncSummary.__slots__}  # type: ignore[attr-defined]
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
        open_keys = open_keys if open_keys is not None else set()
        ctx = MappingContext(
            source=source.id,
            hospital=source.name,
            identifier_types=tuple(self.config.matching.identifier_types),
            encounters={},
        )
        resources = _dedupe(sb.resources)
        summary.resources = len(resources)
        for note in sb.notes:  # a lost marker gets its own kind: admins look for it
            kind = "lost-marker" if note.startswith("marker entry") else "source"
            wb.audit.append(AuditEntry(kind=kind, message=note, source=source.id))
        for failure in sb.failures:
            wb.failed.append(self._failed(source.id, sb.stream, failure))

        records: list[RecordDoc] = []
        patients: list[PatientDoc] = []
        for resource in resources:
            rtype = resource.get("resourceType")
            key = (str(rtype), str(resource.get("id")))
            if key in open_keys:  # order per entity: wait behind the earlier failure
                wb.failed.append(
                    FailedEvent(
                        source=source.id,
                        stream=sb.stream,
                        resource_type=key[0],
                        uuid=key[1],
                        error="waiting behind an earlier failed change of the same record",
                        payload_ref=f"{key[0]}/{key[1]}",
                        state=FAILED_BLOCKED,
                    )
                )
                continue
            try:
                if rtype == "Encounter":  # mapped below, once encounter context is known
                    info = encounter_info(resource)
                    ctx.encounters[key[1]] = self._encounter_cache(source.id)[key[1]] = info
                    continue
                if key[0] in WITH_ENCOUNTER:
                    continue
                doc = map_resource(resource, ctx)
            except MappingError as exc:
                wb.failed.append(self._record_failed(source.id, sb.stream, key, str(exc)))
                continue
            if isinstance(doc, PatientDoc):
                patients.append(doc)
            elif isinstance(doc, DoctorDoc):
                wb.doctors.append(doc)
            elif isinstance(doc, LocationDoc):
                wb.locations.append(doc)
            elif isinstance(doc, RecordDoc):
                records.append(doc)

        dependent = [
            r
            for r in resources
            if str(r.get("resourceType")) in WITH_ENCOUNTER
            and (str(r.get("resourceType")), str(r.get("id"))) not in open_keys
        ]
        unreadable = self._load_encounter_context(source, dependent, ctx, records)
        for resource in resources:
            rtype = str(resource.get("resourceType"))
            if rtype != "Encounter" and rtype not in WITH_ENCOUNTER:
                continue
            key = (str(rtype), str(resource.get("id")))
            if key in open_keys:
                continue
            enc = encounter_ref(resource) if rtype != "Encounter" else None
            if enc in unreadable:  # mapped without its doctor and facility it would be wrong
                error = f"its Encounter/{enc} could not be read: {unreadable[enc]}"
                wb.failed.append(self._record_failed(source.id, sb.stream, key, error))
                continue
            try:
                doc = map_resource(resource, ctx)
            except MappingError as exc:
                wb.failed.append(self._record_failed(source.id, sb.stream, key, str(exc)))
                continue
            if isinstance(doc, RecordDoc):
                records.append(doc)

        self._catchment.screen(source, sb, patients, records, wb, summary)  # catchment (issue 6)
        links = self._match_patients(source, patients, records, wb, summary)
        self._place_records(source, records, links, wb, summary)
        link_history(source.id, wb, self.store)  # revised / discontinued orders, reports
        # -- conflict check (issue 7): base / passport / incoming, before anything is written --
        self._conflict_check.check(source, wb, summary)
        self._invalidate(source, sb.gone, records, wb)
        summary.invalidated = len(wb.status_changes)
        summary.failed = len(wb.failed)
        summary.parked = len(wb.parked)
        return _Prepared(wb, summary)

    def _load_encounter_context(
        self,
        source: Source,
        observations: list[dict[str, Any]],
        ctx: MappingContext,
        records: list[RecordDoc],
    ) -> dict[str, str]:
        """Doctor and facility of each observation come from its encounter.

        Returns the encounters that could not be fetched (uuid -> error): their observations
        become failed events rather than records without a doctor.
        """
        wanted = {ref for ref in (encounter_ref(o) for o in observations) if ref} - set(
            ctx.encounters
        )
        cache = self._encounter_cache(source.id)
        for uuid in list(wanted):
            if uuid in cache:
                ctx.encounters[uuid] = cache[uuid]
                wanted.discard(uuid)
        if not wanted:
            return {}
        for uuid, doc in self.store.get_records(source.id, "Encounter", wanted).items():
            ctx.encounters[uuid] = cache[uuid] = EncounterInfo(
                doctor=doc.get("doctor"),
                facility=doc.get("facility"),
                date=doc.get("effective"),
                visit_uuid=doc.get("encounter_uuid"),
            )
        missing = wanted - set(ctx.encounters)
        if not missing:
            return {}
        fetched = source.fetch("Encounter", missing)
        for uuid, resource in fetched.found.items():
            ctx.encounters[uuid] = cache[uuid] = encounter_info(resource)
            try:
                doc = map_resource(resource, ctx)
            except MappingError:
                continue
            if isinstance(doc, RecordDoc):
                records.append(doc)
        return {f.uuid: f.error for f in fetched.failures if f.uuid}

    def _match_patients(
        self,
        source: Source,
        patients: list[PatientDoc],
        records: list[RecordDoc],
        wb: WriteBatch,
        summary: SyncSummary | None = None,
    ) -> dict[str, PatientDoc | str]:
        """Source patient uuid -> passport patient id (str) or the unmatched PatientDoc.

        A held patient's records leave ``records`` for ``wb.parked`` (under its review key).
        """
        links: dict[str, PatientDoc | str] = {}
        wanted = {r.patient_uuid for r in records if r.patient_uuid} - {p.uuid for p in patients}
        known = self.store.patient_links(source.id, wanted) if wanted else {}
        links.update(known)
        missing = wanted - set(known)
        if missing:
            fetched = source.fetch("Patient", missing)
            ctx = MappingContext(
                source=source.id,
                hospital=source.name,
                identifier_types=tuple(self.config.matching.identifier_types),
                encounters={},
            )
            patients.extend(map_patients(fetched.found.values(), ctx))
            unreadable = {f.uuid: f.error for f in fetched.failures if f.uuid}
            if unreadable:  # not "unmatched": retry them once their patient can be read
                for rec in records:
                    if rec.patient_uuid in unreadable:
                        error = unreadable[rec.patient_uuid]
                        wb.failed.append(
                            self._failed(
                                source.id,
                                "",
                                Failure(
                                    error=f"its Patient/{rec.patient_uuid} could not be read: "
                                    f"{error}",
                                    resource_type=rec.resource_type,
                                    uuid=rec.uuid,
                                    payload_ref=f"{rec.resource_type}/{rec.uuid}",
                                ),
                            )
                        )
                records[:] = [r for r in records if r.patient_uuid not in unreadable]
        mode = self.config.matching.on_unmatched
        # links by national ID only; changed IDs, a second patient of one hospital with the
        # same ID, and same-demographics proposals go to the review queue (conflicts/links.py)
        linker = PatientLinker(self.store, source.id, patients)
        for doc in patients:
            nid = doc.national_id
            existing = self.store.get_patient(nid) if nid else None
            decision = linker.decide(doc, existing)
            if linker.queue(doc, decision, wb) and summary is not None:
                summary.conflicts += 1
            if decision.action == "hold":  # records wait under review:<nid> until resolved
                links[doc.uuid] = doc
                wb.patients.append(hold_patient(doc, decision, records, wb))
                continue
            if decision.action == "keep":  # in review: records stay on the old link, as it is
                doc.patient_id = links[doc.uuid] = str(decision.patient_id)
                wb.patients.append(doc)
                continue
            target = decision.patient_id if decision.action == "link" else nid
            if target is not None and target != nid:
                existing = self.store.get_patient(target)
            pending = wb.passport_patients.get(target) if target else None
            if target and (
                decision.action == "link"
                or existing is not None
                or pending is not None
                or mode == "create"
            ):
                doc.patient_id = target
                base = pending if pending is not None else existing
                if base is not None:
                    base = {k: v for k, v in base.items() if k != "links"}
                wb.passport_patients[target] = merge_patient(
                    base, target, source.id, doc.to_dict(), self._priorities
                )
                links[doc.uuid] = target
                linker.claim(target, doc.uuid)
            else:
                links[doc.uuid] = doc
                if nid is not None:  # waits for that ID: a second one of this batch is held
                    linker.claim(nid, doc.uuid)
                if nid is None:
                    wb.audit.append(
                        AuditEntry(
                            kind="unmatched",
                            source=source.id,
                            message=f"patient {doc.uuid} has no national ID (identifier "
                            f"types {', '.join(self.config.matching.identifier_types)})",
                        )
                    )
            wb.patients.append(doc)
        return links

    def _place_records(
        self,
        source: Source,
        records: list[RecordDoc],
        links: dict[str, PatientDoc | str],
        wb: WriteBatch,
        summary: SyncSummary,
    ) -> None:
        mode = self.config.matching.on_unmatched
        amended: list[RecordDoc] = []
        for rec in records:
            link = links.get(rec.patient_uuid or "")
            if isinstance(link, str):
                rec.patient_id = link
                wb.records.append(rec)
                if rec.status == STATUS_AMENDED and rec.resource_type == "Observation":
                    amended.append(rec)
                continue
            nid = link.national_id if isinstance(link, PatientDoc) else None
            if nid and mode == "skip":
                summary.skipped += 1
                wb.audit.append(
                    AuditEntry(
                        kind="skipped",
                        source=source.id,
                        message=f"{rec.resource_type}/{rec.uuid}: patient not in the passport "
                        "(on_unmatched = skip)",
                    )
                )
                continue
            # park: wait for the patient (by national ID; "" when the patient has none)
            wb.parked.append(ParkedRecord(national_id=nid or "", record=rec))
        for rec in amended:
            supersede_amended(source, rec, wb, self.store)

    def _invalidate(
        self, source: Source, gone: Iterable[Gone], records: list[RecordDoc], wb: WriteBatch
    ) -> None:
        changes: list[StatusChange] = []
        for g in gone:
            if g.resource_type == "Patient":
                self._unlink_patient(source, g, wb)
                continue
            if g.replaced_by:
                changes.append(
                    StatusChange(
                        source.id,
                        g.resource_type,
                        g.uuid,
                        STATUS_SUPERSEDED,
                        f"replaced by {g.resource_type}/{g.replaced_by}",
                        g.replaced_by,
                    )
                )
            else:
                changes.append(
                    StatusChange(
                        source.id,
                        g.resource_type,
                        g.uuid,
                        STATUS_ENTERED_IN_ERROR,
                        f"{g.reason} at the source",
                    )
                )
        wb.status_changes[:0] = changes  # before any supersede found in this batch

    def _unlink_patient(self, source: Source, gone: Gone, wb: WriteBatch) -> None:
        """A hospital voided (or merged away) its patient: that hospital's patient no longer
        speaks for the passport patient. The link goes (audited); the records stay as they
        are, each corrected by its own void event."""
        link = self.store.get_patient_link(source.id, gone.uuid)
        if link is None or not link.get("patient_id"):
            return
        fields = PatientDoc.__dataclass_fields__
        doc = PatientDoc(**{k: v for k, v in link.items() if k in fields})
        doc.patient_id = None
        doc.warnings = [*doc.warnings, f"{gone.reason} at the source; unlinked"]
        wb.patients.append(doc)
        wb.audit.append(
            AuditEntry(
                kind="patient-unlinked",
                source=source.id,
                message=f"Patient/{gone.uuid} was {gone.reason} at the source: unlinked from "
                "its passport patient",
            )
        )

    def _record_failed(
        self, source_id: str, stream: str, key: tuple[str, str], error: str
    ) -> FailedEvent:
        """A failed event for one known record (type, uuid)."""
        failure = Failure(
            error=error, resource_type=key[0], uuid=key[1], payload_ref=f"{key[0]}/{key[1]}"
        )
        return self._failed(source_id, stream, failure)

    def _failed(self, source_id: str, stream: str, failure: Failure) -> FailedEvent:
        return FailedEvent(
            source=source_id,
            stream=stream,
            resource_type=failure.resource_type,
            uuid=failure.uuid,
            action=failure.action,
            error=failure.error,
            payload_ref=failure.payload_ref,
            position=failure.position,
            payload=failure.payload,
            next_attempt_at=self._clock() + self.config.retry.backoff_seconds,
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

    # -- manual syncs and retries ----------------------------------------------------------
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
        names = self._names.setdefault(source.id, {})
        source = prefetch_lookups(source, sb, self.store, self._encounter_cache(source.id), names)
        with self._apply_lock:
            prepared = self.prepare(source, sb)
            result = self.store.apply(prepared.batch, None)
        prepared.summary.written = result.written
        prepared.summary.unchanged = result.unchanged
        self._catchment.settle(self, source, prepared.summary)  # catchment (issue 6)
        return prepared.summary


def _dedupe(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Last copy of each (type, id) wins; sorted so that what others point at comes first."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in resources:
        latest[(str(r.get("resourceType")), str(r.get("id")))] = r
    return sorted(latest.values(), key=lambda r: _TYPE_ORDER.get(str(r.get("resourceType")), 9))


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
