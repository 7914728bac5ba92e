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
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from conflicts.demographics import (
    DEMOGRAPHIC_FIELDS,
    merge_patient,
    reconcile_patient,
    resolved_patient,
)
from conflicts.demographics import edit_patient as _edit_patient
from conflicts.diff import field_diff
from conflicts.records import (
    VISIBLE_FIELDS,
    check_record,
    edit_changes,
    first_sync_state,
    synced_record,
    visible_fields,
)
from mappers import EncounterInfo, MappingContext, MappingError, encounter_info, map_resource
from mappers.documents import (
    STATUS_AMENDED,
    STATUS_ENTERED_IN_ERROR,
    STATUS_SUPERSEDED,
    DoctorDoc,
    LocationDoc,
    PatientDoc,
    RecordDoc,
)

from ._catchment import CatchmentEngine, tag_filter_for
from ._errors import ConfigError, SourceAuthError, SourceUnavailable, Sync2Error
from ._prefetch import prefetch
from .config import Config, SourceConfig
from .sources._base import Failure, Gone, Source, SourceBatch
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
    FAILED_DEAD,
    FAILED_DONE,
    FAILED_OPEN_STATES,
    FAILED_RETRYING,
)

log = logging.getLogger(__name__)

_ENCOUNTER_CACHE_SIZE = 200_000
_TYPE_ORDER = {"Location": 0, "Practitioner": 1, "Patient": 2, "Encounter": 3, "Observation": 4}


@dataclass(slots=True)
class SyncSummary:
    """What one pass over one source did; printed as the table at the end of ``sync2 sync``."""

    source: str
    ok: bool = True
    batches: int = 0
    resources: int = 0
    written: int = 0
    unchanged: int = 0
    invalidated: int = 0
    failed: int = 0
    parked: int = 0
    skipped: int = 0
    conflicts: int = 0
    # -- catchment (issue 6): changes of patients outside it, not stored; patients that
    # entered (history pulled) or left it
    out_of_catchment: int = 0
    entered: int = 0
    left: int = 0
    seconds: float = 0.0
    error: str | None = None
    #: the source refused our credentials or rights (401/403): a human must fix the config
    unauthorised: bool = False

    def add(self, other: SyncSummary) -> None:
        for name in (
            "batches",
            "resources",
            "written",
            "unchanged",
            "invalidated",
            "failed",
            "parked",
            "skipped",
            "conflicts",
            "out_of_catchment",
            "entered",
            "left",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


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
    if source_config.kind == "openmrs-mysql":
        try:
            from .sources.mysql import MySQLSource
        except ImportError as exc:
            msg = f"sources[{source_config.id}]: the MySQL source is unavailable: {exc}"
            raise ConfigError(msg) from exc
        return MySQLSource(source_config)
    msg = f"sources[{source_config.id}]: unknown kind {source_config.kind!r}"
    raise ConfigError(msg)


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
        self._priorities = {s.id: s.priority for s in config.sources}
        self._catchment = CatchmentEngine(config, store)  # catchment (issue 6)
        self._encounters: dict[str, dict[str, EncounterInfo]] = {}
        #: Hospitals sync in parallel, but a person seen at two of them is one passport patient:
        #: reading, merging and writing it must not interleave, or one hospital's version is lost.
        self._apply_lock = threading.RLock()

    def _encounter_cache(self, source_id: str) -> dict[str, EncounterInfo]:
        """Doctor/facility of recently seen encounters, so each obs batch does not re-read
        its encounters from the store; bounded, and refreshed whenever an encounter syncs."""
        cache = self._encounters.setdefault(source_id, {})
        if len(cache) > _ENCOUNTER_CACHE_SIZE:
            cache.clear()
        return cache

    # -- sources ---------------------------------------------------------------------------
    def source(self, source_id: str) -> Source:
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
    ) -> list[SyncSummary]:
        """One pass over every enabled source, ``concurrency`` hospitals at a time.

        Hospitals are independent (their own cursors, records keyed by source), so a slow or
        dead one does not hold up the others; the store serialises the writes.
        """
        ids = [s.id for s in self.config.sources if s.enabled]
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
            self._catchment.refresh(self, source, total)  # catchment (issue 6)
            batches = source.batches(cursors)
            if source.concurrent_reads:
                batches = prefetch(batches, depth=2)
            for sb in batches:
                with self._apply_lock:  # patients are read, merged and written as one step
                    prepared = self.prepare(source, sb, open_keys=open_keys)
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
        except SourceAuthError as exc:
            total.ok, total.error, total.unauthorised = False, f"unauthorised: {exc}", True
        except SourceUnavailable as exc:  # breaker open: costs nothing, retried next run
            total.ok, total.error = False, f"unavailable: {exc}"
        except Sync2Error as exc:
            total.ok, total.error = False, str(exc)
        total.seconds = self._clock() - started
        self._audit_run(total, actor)
        return total

    def _register_hospital(self, source: Source) -> None:
        base = getattr(getattr(source, "config", None), "base_url", None)
        self.store.upsert_hospital(
            source.id, {"source": source.id, "name": source.name, "base_url": base}
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
            if rtype == "Encounter" or rtype == "Observation":
                pass  # mapped below, once encounter context is known
            try:
                if rtype == "Encounter":
                    info = encounter_info(resource)
                    ctx.encounters[key[1]] = self._encounter_cache(source.id)[key[1]] = info
                    continue
                if rtype == "Observation":
                    continue
                doc = map_resource(resource, ctx)
            except MappingError as exc:
                wb.failed.append(
                    self._failed(
                        source.id,
                        sb.stream,
                        Failure(
                            error=str(exc),
                            resource_type=key[0],
                            uuid=key[1],
                            payload_ref=f"{key[0]}/{key[1]}",
                        ),
                    )
                )
                continue
            if isinstance(doc, PatientDoc):
                patients.append(doc)
            elif isinstance(doc, DoctorDoc):
                wb.doctors.append(doc)
            elif isinstance(doc, LocationDoc):
                wb.locations.append(doc)
            elif isinstance(doc, RecordDoc):
                records.append(doc)

        observations = [
            r
            for r in resources
            if r.get("resourceType") == "Observation"
            and (str(r.get("resourceType")), str(r.get("id"))) not in open_keys
        ]
        unreadable = self._load_encounter_context(source, observations, ctx, records)
        for resource in resources:
            rtype = resource.get("resourceType")
            if rtype not in ("Encounter", "Observation"):
                continue
            key = (str(rtype), str(resource.get("id")))
            if key in open_keys:
                continue
            enc = _ref_id(resource.get("encounter")) if rtype == "Observation" else None
            if enc in unreadable:  # mapped without its doctor and facility it would be wrong
                wb.failed.append(
                    self._failed(
                        source.id,
                        sb.stream,
                        Failure(
                            error=f"its Encounter/{enc} could not be read: {unreadable[enc]}",
                            resource_type=key[0],
                            uuid=key[1],
                            payload_ref=f"{key[0]}/{key[1]}",
                        ),
                    )
                )
                continue
            try:
                doc = map_resource(resource, ctx)
            except MappingError as exc:
                wb.failed.append(
                    self._failed(
                        source.id,
                        sb.stream,
                        Failure(
                            error=str(exc),
                            resource_type=key[0],
                            uuid=key[1],
                            payload_ref=f"{key[0]}/{key[1]}",
                        ),
                    )
                )
                continue
            if isinstance(doc, RecordDoc):
                records.append(doc)

        self._catchment.screen(source, sb, patients, records, wb, summary)  # catchment (issue 6)
        links = self._match_patients(source, patients, records, wb)
        self._place_records(source, records, links, wb, summary)
        # -- conflict check (issue 7): base / passport / incoming, before anything is written --
        self._check_conflicts(source, wb, summary)
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
        wanted = {ref for ref in (_ref_id(o.get("encounter")) for o in observations) if ref} - set(
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
    ) -> dict[str, PatientDoc | str]:
        """Source patient uuid -> passport patient id (str) or the unmatched PatientDoc."""
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
            for resource in fetched.found.values():
                try:
                    doc = map_resource(resource, ctx)
                except MappingError:
                    continue
                if isinstance(doc, PatientDoc):
                    patients.append(doc)
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
        for doc in patients:
            nid = doc.national_id
            existing = self.store.get_patient(nid) if nid else None
            pending = wb.passport_patients.get(nid) if nid else None
            if nid and (existing is not None or pending is not None or mode == "create"):
                doc.patient_id = nid
                base = pending if pending is not None else existing
                if base is not None:
                    base = {k: v for k, v in base.items() if k != "links"}
                wb.passport_patients[nid] = merge_patient(
                    base, nid, source.id, doc.to_dict(), self._priorities
                )
                links[doc.uuid] = nid
            else:
                links[doc.uuid] = doc
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
            self._supersede(source, rec, wb)

    def _supersede(self, source: Source, new: RecordDoc, wb: WriteBatch) -> None:
        """An OpenMRS edit voids the old obs and creates an amended one with a new uuid; fhir2
        exports no link between them, so the old one is found by what they share."""
        candidates = self.store.find_records(
            source.id,
            "Observation",
            patient_uuid=new.patient_uuid,
            encounter_uuid=new.encounter_uuid,
        )
        key = _code_key(new.codes)
        matches = [
            old["uuid"]
            for old in candidates
            if old["uuid"] != new.uuid
            and old.get("status") != STATUS_SUPERSEDED
            and old.get("effective") == new.effective
            and _code_key(old.get("codes") or []) == key
        ]
        if matches:  # only what the source voided was replaced: a still-valid twin stays, so the
            # result does not depend on which of the two was stored first (crash, snapshot order)
            still_valid = set(source.fetch("Observation", matches).found)
            matches = [uuid for uuid in matches if uuid not in still_valid]
        for old_uuid in matches:
            wb.status_changes.append(
                StatusChange(
                    source=source.id,
                    resource_type="Observation",
                    uuid=old_uuid,
                    status=STATUS_SUPERSEDED,
                    reason=f"amended by Observation/{new.uuid}",
                    superseded_by=new.uuid,
                )
            )

    def _invalidate(
        self, source: Source, gone: Iterable[Gone], records: list[RecordDoc], wb: WriteBatch
    ) -> None:
        changes: list[StatusChange] = []
        for g in gone:
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

    # -- conflicts (issue 7): detection in prepare, resolution and passport edits ------------
    def _check_conflicts(self, source: Source, wb: WriteBatch, summary: SyncSummary) -> None:
        """Compare every incoming record and patient with what the passport holds.

        Side effects on ``wb`` only: records the passport keeps are swapped for the stored copy
        (so the store counts them unchanged), conflicts leave ``wb.records`` for
        ``wb.conflicts`` with an audit entry, strategy decisions are audited, and every record
        written carries its new base (``sync_state``). Echoes produce no audit at all.
        """
        settings = self.config.conflicts
        open_conflicts: dict[tuple[str, str, str], list[Conflict]] | None = None

        def already_queued(rtype: str, uuid: str, incoming: dict[str, Any]) -> bool:
            nonlocal open_conflicts
            if open_conflicts is None:
                open_conflicts = _by_key(self.store.list_conflicts(state="open"))
            return any(
                _same_incoming(c.incoming, incoming)
                for c in open_conflicts.get((source.id, rtype, uuid), [])
            )

        stored_by_type: dict[str, dict[str, dict[str, Any]]] = {}
        for rtype in {r.resource_type for r in wb.records}:
            uuids = [r.uuid for r in wb.records if r.resource_type == rtype]
            stored_by_type[rtype] = self.store.get_records(source.id, rtype, uuids)
        kept: list[RecordDoc] = []
        for rec in wb.records:
            stored = stored_by_type.get(rec.resource_type, {}).get(rec.uuid)
            if stored is None:  # new to the passport (every record of a backfill): no conflict
                rec.sync_state = first_sync_state(rec)
                kept.append(rec)
                continue
            incoming = rec.to_dict()
            decision = check_record(
                stored,
                incoming,
                strategy=settings.strategy_for(rec.resource_type),
                fallback=settings.merge_fallback,
            )
            ref = f"{rec.resource_type}/{rec.uuid}"
            if decision.action == "echo":
                kept.append(rec)  # identical hash: the store's guard skips it, counted unchanged
            elif decision.action == "keep":
                kept.append(_stored_copy(stored, rec))
            elif decision.action == "conflict":
                summary.conflicts += 1
                if already_queued(rec.resource_type, rec.uuid, incoming):
                    continue
                state = stored.get("sync_state") if stored else None
                wb.conflicts.append(
                    Conflict(
                        source=source.id,
                        resource_type=rec.resource_type,
                        uuid=rec.uuid,
                        base=(state or {}).get("base_fields"),
                        passport=visible_fields(stored or {}),
                        incoming=incoming,
                        reason=decision.reason,
                    )
                )
                wb.audit.append(_conflict_audit(source.id, ref, decision.reason, decision.strategy))
            else:
                fields = decision.fields if decision.fields is not None else incoming
                doc = synced_record(incoming, fields, stored)
                for name in VISIBLE_FIELDS:
                    setattr(rec, name, doc[name])
                rec.sync_state = doc["sync_state"]
                kept.append(rec)
                if decision.action == "resolved":
                    wb.audit.append(
                        AuditEntry(
                            kind="conflict-resolved",
                            source=source.id,
                            message=f"{ref}: {decision.reason}",
                            details={
                                "strategy": decision.strategy,
                                "fields": list(decision.overlapping),
                            },
                        )
                    )
        wb.records[:] = kept
        self._check_patient_conflicts(source, wb, summary, already_queued)

    def _check_patient_conflicts(
        self,
        source: Source,
        wb: WriteBatch,
        summary: SyncSummary,
        already_queued: Callable[[str, str, dict[str, Any]], bool],
    ) -> None:
        """The shown demographics by policy, then base / passport / incoming against edits."""
        settings = self.config.conflicts
        for patient_id, merged in list(wb.passport_patients.items()):
            stored = self.store.get_patient(patient_id)
            outcome = reconcile_patient(
                stored,
                merged,
                priorities=self._priorities,
                policy=settings.demographics,
                strategy=settings.strategy_for("Patient"),
                fallback=settings.merge_fallback,
            )
            wb.passport_patients[patient_id] = outcome.doc
            decision = outcome.decision
            ref = f"Patient/{patient_id}"
            if decision.action == "conflict":
                summary.conflicts += 1
                if already_queued("Patient", patient_id, outcome.incoming):
                    continue
                wb.conflicts.append(
                    Conflict(
                        source=str(outcome.doc.get("demographics_from") or source.id),
                        resource_type="Patient",
                        uuid=patient_id,
                        base=outcome.base,
                        passport=outcome.passport,
                        incoming=outcome.incoming,
                        reason=decision.reason,
                    )
                )
                wb.audit.append(_conflict_audit(source.id, ref, decision.reason, decision.strategy))
            elif decision.action == "resolved":
                wb.audit.append(
                    AuditEntry(
                        kind="conflict-resolved",
                        source=source.id,
                        message=f"{ref}: {decision.reason}",
                        details={
                            "strategy": decision.strategy,
                            "fields": list(decision.overlapping),
                        },
                    )
                )

    def conflict_diff(self, conflict_id: int) -> list[dict[str, Any]]:
        """Side-by-side rows (field, base, passport, incoming, changed_by) of one conflict.

        Raises:
            LookupError: no conflict with that id.
        """
        conflict = self._conflict(conflict_id)
        incoming = conflict.incoming
        if conflict.resource_type != "Patient":
            incoming = visible_fields(incoming)
        return [
            {
                "field": r.field,
                "base": r.base,
                "passport": r.passport,
                "incoming": r.incoming,
                "changed_by": r.changed_by,
            }
            for r in field_diff(conflict.base, conflict.passport, incoming)
        ]

    def resolve_conflict(
        self,
        conflict_id: int,
        take: str | None = None,
        merged: dict[str, Any] | None = None,
        actor: str = "admin",
    ) -> Conflict:
        """Settle a queued conflict: take the source's or the passport's content, or ``merged``.

        Side effects: writes the chosen content (the incoming source content becomes the new
        base), closes the conflict and any older open one of the same record, audits who did it.
        Fields missing from ``merged`` keep the passport's value.

        Raises:
            LookupError: no such conflict, or its record / patient is gone from the passport.
            ValueError: not exactly one of ``take`` / ``merged``, an unknown ``take``, a field
                that cannot be edited, or the conflict is already resolved or has a newer one.
        """
        if (take is None) == (merged is None):
            msg = "give exactly one of take ('source' | 'passport') or merged"
            raise ValueError(msg)
        if take is not None and take not in ("source", "passport"):
            msg = f"take must be 'source' or 'passport', not {take!r}"
            raise ValueError(msg)
        conflict = self._conflict(conflict_id)
        if conflict.state != "open":
            msg = f"conflict {conflict_id} is already {conflict.state}"
            raise ValueError(msg)
        same = [
            c
            for c in self.store.list_conflicts(state="open")
            if (c.source, c.resource_type, c.uuid)
            == (conflict.source, conflict.resource_type, conflict.uuid)
            and c.id != conflict.id
        ]
        newer = [c.id for c in same if (c.id or 0) > conflict_id]
        if newer:
            msg = f"conflict {conflict_id} has a newer one for the same record: resolve {newer[-1]}"
            raise ValueError(msg)
        how = f"took {take}" if take else "merged"
        ref = f"{conflict.resource_type}/{conflict.uuid}"
        if conflict.resource_type == "Patient":
            self._resolve_patient(conflict, take, merged, actor, how)
        else:
            self._resolve_record(conflict, take, merged, actor, how)
        resolution = f"{how} by {actor}"
        self.store.close_conflict(conflict_id, resolution)
        for older in same:
            if older.id is not None:
                self.store.close_conflict(older.id, f"superseded by conflict {conflict_id}")
        self.store.add_audit(
            AuditEntry(
                kind="conflict-resolved",
                source=conflict.source,
                actor=actor,
                message=f"conflict {conflict_id} ({ref}): {how}",
                details={"conflict_id": conflict_id, "take": take, "merged": merged is not None},
            )
        )
        closed = self.store.get_conflict(conflict_id)
        return closed if closed is not None else conflict

    def _resolve_record(
        self,
        conflict: Conflict,
        take: str | None,
        merged: dict[str, Any] | None,
        actor: str,
        how: str,
    ) -> None:
        found = self.store.get_records(conflict.source, conflict.resource_type, [conflict.uuid])
        stored = found.get(conflict.uuid)
        if stored is None:
            msg = f"{conflict.resource_type}/{conflict.uuid} is no longer in the passport"
            raise LookupError(msg)
        passport = visible_fields(stored)
        if take == "source":
            fields = visible_fields(conflict.incoming)
        elif take == "passport":
            fields = passport
        else:
            fields = {**passport, **_only(merged or {}, VISIBLE_FIELDS)}
        doc = synced_record(conflict.incoming, fields, stored)
        if merged is not None and doc["sync_state"].get("edited_fields"):
            doc["sync_state"]["edited_at"] = self._now_iso()
            doc["sync_state"]["edited_by"] = actor
        changes = {
            k: doc.get(k)
            for k in (*VISIBLE_FIELDS, "content_hash", "version", "last_updated", "raw")
        }
        changes["sync_state"] = doc["sync_state"]
        self.store.update_record(conflict.source, conflict.resource_type, conflict.uuid, changes)

    def _resolve_patient(
        self,
        conflict: Conflict,
        take: str | None,
        merged: dict[str, Any] | None,
        actor: str,
        how: str,
    ) -> None:
        stored = self.store.get_patient(conflict.uuid)
        if stored is None:
            msg = f"Patient/{conflict.uuid} is no longer in the passport"
            raise LookupError(msg)
        stored = {k: v for k, v in stored.items() if k != "links"}
        passport = {k: stored.get(k) for k in DEMOGRAPHIC_FIELDS}
        if take == "source":
            fields = {k: conflict.incoming.get(k) for k in DEMOGRAPHIC_FIELDS}
        elif take == "passport":
            fields = passport
        else:
            fields = {**passport, **_only(merged or {}, DEMOGRAPHIC_FIELDS)}
        doc = resolved_patient(stored, fields, conflict.incoming)
        if merged is not None and doc.get("edited") is not None:
            doc["edited"] = {"at": self._now_iso(), "by": actor, "fields": sorted(merged)}
        self.store.apply(WriteBatch(passport_patients={conflict.uuid: doc}))

    def edit_record(
        self,
        source_id: str,
        resource_type: str,
        uuid: str,
        changes: dict[str, Any],
        actor: str = "admin",
    ) -> dict[str, Any]:
        """An admin's correction of a record's passport-visible fields.

        Side effects: updates the stored record (its base stays the source's, so the next sync
        sees the passport changed) and audits the field names (never the values).

        Raises:
            LookupError: no such record in the passport.
            ValueError: a field that cannot be edited, or no change at all.
        """
        if not changes:
            msg = "nothing to change"
            raise ValueError(msg)
        stored = self.store.get_records(source_id, resource_type, [uuid]).get(uuid)
        if stored is None:
            msg = f"no record {resource_type}/{uuid} from {source_id} in the passport"
            raise LookupError(msg)
        update = edit_changes(stored, changes, actor=actor, at=self._now_iso())
        self.store.update_record(source_id, resource_type, uuid, update)
        self.store.add_audit(
            AuditEntry(
                kind="passport-edit",
                source=source_id,
                actor=actor,
                message=f"{resource_type}/{uuid}: edited {', '.join(sorted(changes))}",
                details={"fields": sorted(changes)},
            )
        )
        return {**stored, **update}

    def edit_patient(
        self, patient_id: str, changes: dict[str, Any], actor: str = "admin"
    ) -> dict[str, Any]:
        """An admin's correction of a passport patient's demographics.

        Side effects: writes the patient (each hospital's version stays under ``sources``) and
        audits the field names (never the values).

        Raises:
            LookupError: no such patient.
            ValueError: a field that is not a demographic field, or no change at all.
        """
        if not changes:
            msg = "nothing to change"
            raise ValueError(msg)
        stored = self.store.get_patient(patient_id)
        if stored is None:
            msg = f"no patient {patient_id} in the passport"
            raise LookupError(msg)
        stored = {k: v for k, v in stored.items() if k != "links"}
        doc = _edit_patient(stored, changes, actor=actor, at=self._now_iso())
        audit = AuditEntry(
            kind="passport-edit",
            actor=actor,
            message=f"Patient/{patient_id}: edited {', '.join(sorted(changes))}",
            details={"fields": sorted(changes)},
        )
        self.store.apply(WriteBatch(passport_patients={patient_id: doc}, audit=[audit]))
        return doc

    def _conflict(self, conflict_id: int) -> Conflict:
        conflict = self.store.get_conflict(conflict_id)
        if conflict is None:
            msg = f"no conflict {conflict_id}"
            raise LookupError(msg)
        return conflict

    def _now_iso(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat()

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
        with self._apply_lock:
            prepared = self.prepare(source, sb)
            result = self.store.apply(prepared.batch, None)
        prepared.summary.written = result.written
        prepared.summary.unchanged = result.unchanged
        self._catchment.settle(self, source, prepared.summary)  # catchment (issue 6)
        return prepared.summary

    def sync_record(
        self, source_id: str, resource_type: str, uuid: str, *, actor: str = "admin"
    ) -> SyncSummary:
        source = self.source(source_id)
        fetched = source.fetch(resource_type, [uuid])
        summary = self.apply_resources(
            source, list(fetched.found.values()), gone=fetched.gone, failures=fetched.failures
        )
        self.store.add_audit(
            AuditEntry(
                kind="manual",
                source=source_id,
                actor=actor,
                message=f"sync-record {resource_type}/{uuid}: {summary.written} written",
            )
        )
        return summary

    def sync_patient(self, national_id: str, *, actor: str = "admin") -> list[SyncSummary]:
        """Pull everything of one patient from every hospital, now."""
        from mappers import normalise_national_id

        patient_id = normalise_national_id(national_id)
        linked: dict[str, set[str]] = {}
        for link in (self.store.get_patient(patient_id) or {}).get("links") or []:
            linked.setdefault(link["source"], set()).add(link["uuid"])
        # hospitals write one ID differently ("NID 1234" / "nid-1234"): search every spelling
        # the passport has seen for it, not only the one the admin typed
        spellings = {national_id, patient_id, *_separator_variants(national_id)}
        for doc in self.store.get_patient_link_docs(patient_id):
            for ident in doc.get("identifiers") or []:
                value = str(ident.get("value", "")) if isinstance(ident, dict) else ""
                if value and normalise_national_id(value) == patient_id:
                    spellings.add(value)
        summaries = []
        for sc in self.config.sources:
            if not sc.enabled:
                continue
            summary = SyncSummary(source=sc.id)
            try:
                source = self.source(sc.id)
                uuids = set(linked.get(sc.id, set()))
                for spelling in sorted(spellings):
                    uuids.update(
                        str(p.get("id")) for p in _patients_with_national_id(source, spelling)
                    )
                resources: list[dict[str, Any]] = []
                for uuid in sorted(uuids):
                    resources.extend(source.patient_history(uuid))
                if resources:
                    summary = self.apply_resources(source, resources)
            except Sync2Error as exc:
                summary.ok, summary.error = False, str(exc)
            summaries.append(summary)
        self.store.add_audit(
            AuditEntry(
                kind="manual",
                actor=actor,
                message=f"sync-patient: {sum(s.resources for s in summaries)} resources from "
                f"{len(summaries)} hospitals",
            )
        )
        return summaries

    def retry_failed(
        self,
        *,
        source_id: str | None = None,
        ids: Iterable[int] | None = None,
        only_due: bool = True,
        actor: str = "system",
    ) -> dict[str, int]:
        """Try open failed events again, by entity (one fetch settles every change of it)."""
        now = self._clock()
        if ids is not None:
            events = [e for i in ids if (e := self.store.get_failed(i)) is not None]
        else:
            events = self.store.list_failed(states=FAILED_OPEN_STATES, source=source_id)
            if only_due:
                events = [
                    e
                    for e in events
                    if (e.next_attempt_at or 0) <= now or e.state == FAILED_BLOCKED
                ]
        counts = {"done": 0, "retrying": 0, "dead": 0, "waiting": 0}
        by_entity: dict[tuple[str, str | None, str | None], list[FailedEvent]] = {}
        for e in events:
            by_entity.setdefault((e.source, e.resource_type, e.uuid), []).append(e)
        for (src, rtype, uuid), group in by_entity.items():
            ok, error = False, "no resource to fetch (a malformed feed entry)"
            if rtype and uuid:
                try:
                    ok, error = self._retry_entity(self.source(src), rtype, uuid)
                except SourceUnavailable:  # the hospital is down: not this event's fault
                    counts["waiting"] += len(group)
                    continue
                except Sync2Error as exc:
                    error = str(exc)
            for e in group:
                if ok:  # applied first, closed after: a crash in between only retries again
                    e.state = FAILED_DONE
                    self.store.update_failed(e)
                    counts["done"] += 1
                    continue
                e.attempts += 1
                e.error = error
                if e.attempts >= self.config.retry.max_attempts:
                    e.state = FAILED_DEAD
                    counts["dead"] += 1
                else:
                    e.state = FAILED_RETRYING
                    delay = min(
                        self.config.retry.max_backoff_seconds,
                        self.config.retry.backoff_seconds * 2**e.attempts,
                    )
                    e.next_attempt_at = now + delay
                    counts["retrying"] += 1
                self.store.update_failed(e)
        if events:
            self.store.add_audit(
                AuditEntry(
                    kind="retry",
                    source=source_id,
                    actor=actor,
                    message=f"retried {len(events)} failed events: {counts}",
                )
            )
        return counts

    def _retry_entity(self, source: Source, rtype: str, uuid: str) -> tuple[bool, str]:
        """Fetch one entity's current state and apply it; (done, error).

        A change that still fails (fetch or mapping) is not written as a new failed event: the
        existing one counts the attempt, so it is dead-lettered after ``max_attempts``.
        """
        breaker = getattr(source, "breaker", None)
        if breaker is not None and breaker.state == "open":
            msg = f"source {source.id} is unavailable (circuit breaker open)"
            raise SourceUnavailable(msg, retry_after=breaker.retry_in())
        fetched = source.fetch(rtype, [uuid])
        if fetched.failures:
            return False, fetched.failures[0].error
        sb = SourceBatch(
            stream="retry", cursor={}, resources=list(fetched.found.values()), gone=fetched.gone
        )
        prepared = self.prepare(source, sb)
        mine = [f for f in prepared.batch.failed if (f.resource_type, f.uuid) == (rtype, uuid)]
        if mine:
            return False, mine[0].error
        self.store.apply(prepared.batch, None)
        return True, ""


def _separator_variants(value: str) -> set[str]:
    """The usual other ways to write one ID, for an exact-match identifier search.

    >>> sorted(_separator_variants("nid-12 34"))
    ['NID 12 34', 'NID-12-34', 'nid 12 34', 'nid-12-34']
    """
    out = set()
    for sep in (" ", "-"):
        spaced = value.replace("-", sep).replace(" ", sep)
        out.update({spaced, spaced.upper()})
    return out


def _patients_with_national_id(source: Source, national_id: str) -> list[dict[str, Any]]:
    from mappers import normalise_national_id

    wanted = normalise_national_id(national_id)
    found = []
    for patient in source.find_patients(national_id):
        for ident in patient.get("identifier") or []:
            if (
                isinstance(ident, dict)
                and normalise_national_id(str(ident.get("value", ""))) == wanted
            ):
                found.append(patient)
                break
    return found


def _dedupe(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Last copy of each (type, id) wins; sorted so that what others point at comes first."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in resources:
        latest[(str(r.get("resourceType")), str(r.get("id")))] = r
    return sorted(latest.values(), key=lambda r: _TYPE_ORDER.get(str(r.get("resourceType")), 9))


def _ref_id(ref: Any) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        return ref["reference"].rsplit("/", 1)[-1]
    return None


def _code_key(codes: list[dict[str, str]]) -> str:
    for c in codes:
        if not c.get("system"):
            return c.get("code", "")
    return codes[0].get("code", "") if codes else ""


# -- conflicts (issue 7) helpers -------------------------------------------------------------
def _by_key(conflicts: list[Conflict]) -> dict[tuple[str, str, str], list[Conflict]]:
    out: dict[tuple[str, str, str], list[Conflict]] = {}
    for c in conflicts:
        out.setdefault((c.source, c.resource_type, c.uuid), []).append(c)
    return out


def _same_incoming(queued: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """A conflict already queued for this exact incoming change (a replay must not re-queue)."""
    if "content_hash" in incoming:
        return bool(queued.get("content_hash") == incoming.get("content_hash"))
    return queued == incoming


def _stored_copy(stored: dict[str, Any] | None, rec: RecordDoc) -> RecordDoc:
    """The stored record as a RecordDoc: written back, the store sees no change."""
    if stored is None:
        return rec
    names = RecordDoc.__dataclass_fields__
    return RecordDoc(**{k: v for k, v in stored.items() if k in names})


def _only(values: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        msg = f"not editable: {', '.join(unknown)} (editable: {', '.join(allowed)})"
        raise ValueError(msg)
    return dict(values)


def _conflict_audit(source_id: str, ref: str, reason: str, strategy: str | None) -> AuditEntry:
    return AuditEntry(
        kind="conflict",
        source=source_id,
        message=f"{ref}: {reason}; queued for a decision",
        details={"strategy": strategy},
    )
