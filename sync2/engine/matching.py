"""The match stage: each source patient -> its passport patient, and each record placed.

Patients link by national ID only; a changed ID, a second patient of one hospital with the same
ID, and same-demographics proposals go to the review queue (:mod:`conflicts.links`, decided by
:class:`~sync2.engine.patient_links.PatientLinker`). A record whose patient is linked is
written; one whose patient is not (yet) in the passport is parked, or skipped with
``on_unmatched = "skip"``.
"""

from __future__ import annotations

from typing import Any

from conflicts.demographics import merge_patient
from conflicts.links import LinkDecision
from mappers import map_patients
from mappers.documents import STATUS_AMENDED, PatientDoc, RecordDoc

from ..config import Config
from ..sources import Failure, Source
from ..store import AuditEntry, ParkedRecord, PassportStore, WriteBatch
from .failures import FailedEvents
from .history import supersede_amended
from .mapping import context_for
from .patient_links import PatientLinker
from .patient_links import hold as hold_patient
from .summary import SyncSummary

#: source patient uuid -> passport patient id (linked) or the unmatched PatientDoc
Links = dict[str, PatientDoc | str]


class PatientMatcher:
    """Matches the patients of batches of one pipeline."""

    def __init__(
        self,
        config: Config,
        store: PassportStore,
        failed: FailedEvents,
        priorities: dict[str, int],
    ) -> None:
        self._config = config
        self._store = store
        self._failed = failed
        self._priorities = priorities

    def match(
        self,
        source: Source,
        patients: list[PatientDoc],
        records: list[RecordDoc],
        wb: WriteBatch,
        summary: SyncSummary | None = None,
    ) -> Links:
        """Link every patient of the batch, and those its records point at.

        A held patient's records leave ``records`` for ``wb.parked`` (under its review key).
        """
        links = self._known_links(source, patients, records, wb)
        linker = PatientLinker(self._store, source.id, patients)
        for doc in patients:
            nid = doc.national_id
            existing = self._store.get_patient(nid) if nid else None
            decision = linker.decide(doc, existing)
            if linker.queue(doc, decision, wb) and summary is not None:
                summary.conflicts += 1
            if decision.action == "hold":  # records wait under review:<nid> until resolved
                links[doc.uuid] = doc
                wb.patients.append(hold_patient(doc, decision, records, wb))
                continue
            if decision.action == "keep":  # in review: records stay on the old link, as it is
                doc.patient_id = links[doc.uuid] = str(decision.patient_id)
            else:
                links[doc.uuid] = self._link(source, doc, decision, existing, linker, wb)
            wb.patients.append(doc)
        return links

    def _known_links(
        self,
        source: Source,
        patients: list[PatientDoc],
        records: list[RecordDoc],
        wb: WriteBatch,
    ) -> Links:
        """Links of the patients the records point at but the batch does not carry: stored,
        else fetched (and added to ``patients``). Records whose patient cannot be read fail
        (retried once it can) rather than count as unmatched."""
        wanted = {r.patient_uuid for r in records if r.patient_uuid} - {p.uuid for p in patients}
        links: Links = dict(self._store.patient_links(source.id, wanted) if wanted else {})
        missing = wanted - set(links)
        if not missing:
            return links
        fetched = source.fetch("Patient", missing)
        patients.extend(map_patients(fetched.found.values(), context_for(self._config, source)))
        unreadable = {f.uuid: f.error for f in fetched.failures if f.uuid}
        for rec in records:
            if rec.patient_uuid in unreadable:
                error = f"its Patient/{rec.patient_uuid} could not be read: "
                failure = Failure(
                    error=error + unreadable[rec.patient_uuid],
                    resource_type=rec.resource_type,
                    uuid=rec.uuid,
                    payload_ref=f"{rec.resource_type}/{rec.uuid}",
                )
                wb.failed.append(self._failed.of(source.id, "", failure))
        if unreadable:
            records[:] = [r for r in records if r.patient_uuid not in unreadable]
        return links

    def _link(
        self,
        source: Source,
        doc: PatientDoc,
        decision: LinkDecision,
        existing: dict[str, Any] | None,
        linker: PatientLinker,
        wb: WriteBatch,
    ) -> PatientDoc | str:
        """Link ``doc`` to its passport patient (merged into ``wb``), or leave it unmatched."""
        nid = doc.national_id
        target = decision.patient_id if decision.action == "link" else nid
        if target is not None and target != nid:
            existing = self._store.get_patient(target)
        pending = wb.passport_patients.get(target) if target else None
        creates = self._config.matching.on_unmatched == "create"
        if target and (
            decision.action == "link" or existing is not None or pending is not None or creates
        ):
            doc.patient_id = target
            base = pending if pending is not None else existing
            if base is not None:
                base = {k: v for k, v in base.items() if k != "links"}
            wb.passport_patients[target] = merge_patient(
                base, target, source.id, doc.to_dict(), self._priorities
            )
            linker.claim(target, doc.uuid)
            return target
        if nid is not None:  # waits for that ID: a second one of this batch is held
            linker.claim(nid, doc.uuid)
        else:
            types = ", ".join(self._config.matching.identifier_types)
            wb.audit.append(
                AuditEntry(
                    kind="unmatched",
                    source=source.id,
                    message=f"patient {doc.uuid} has no national ID (identifier types {types})",
                )
            )
        return doc

    def place(
        self,
        source: Source,
        records: list[RecordDoc],
        links: Links,
        wb: WriteBatch,
        summary: SyncSummary,
    ) -> None:
        """Write records of linked patients; park (or skip) the others."""
        skip = self._config.matching.on_unmatched == "skip"
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
            if nid and skip:
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
            supersede_amended(source, rec, wb, self._store)
