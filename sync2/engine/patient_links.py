"""The I/O side of patient linking: gather the facts ``conflicts.links`` decides on, queue reviews.

Run by the pipeline's matching step for every source patient of a batch (``conflicts/links.py``
decides; this module reads the stored links, the passport patients and the queued reviews, and
turns a decision into a queue entry, an audit line and, for a held patient, parked records).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from conflicts.links import (
    DEMOGRAPHIC_CANDIDATES,
    NATIONAL_ID_CHANGED,
    RESOURCE_TYPE,
    SHARED_NATIONAL_ID,
    LinkDecision,
    LinkFacts,
    decide_link,
    demographic_candidates,
    demographic_key,
    link_summary,
)
from mappers import normalise_national_id
from mappers.documents import PatientDoc, RecordDoc

from ..sources import Source
from ..store import AuditEntry, Conflict, ParkedRecord, PassportStore, WriteBatch


def link_uuid(source_id: str, patient_uuid: str) -> str:
    """The review queue's ``uuid`` of one source patient.

    >>> link_uuid("h1", "abc")
    'h1:abc'
    """
    return f"{source_id}:{patient_uuid}"


def patient_uuid_of(conflict: Conflict) -> str:
    """The source patient uuid of a ``PatientLink`` review (its uuid minus ``<source>:``)."""
    prefix = f"{conflict.source}:"
    return conflict.uuid[len(prefix) :] if conflict.uuid.startswith(prefix) else conflict.uuid


class PatientLinker:
    """Link decisions for the patients of one batch of one source.

    Reads: the current links of the batch's patients (one query), the passport patient of each
    national ID (given by the caller), same-demographics passport patients for a patient with no
    national ID, and the review keys queued before (only when a review situation comes up).
    """

    def __init__(self, store: PassportStore, source_id: str, patients: list[PatientDoc]) -> None:
        self.store = store
        self.source_id = source_id
        uuids = {p.uuid for p in patients}
        self._linked = store.patient_links(source_id, uuids) if uuids else {}
        #: national ID -> the first source patient of this batch linked to it
        self._claims: dict[str, str] = {}
        self._queued: dict[str, set[str]] | None = None

    def claim(self, patient_id: str, patient_uuid: str) -> None:
        """This batch links ``patient_uuid`` to ``patient_id``: a later one of the same hospital
        with the same national ID is a second claim."""
        self._claims.setdefault(patient_id, patient_uuid)

    def decide(self, doc: PatientDoc, existing: dict[str, Any] | None) -> LinkDecision:
        """The decision for one source patient; ``existing`` is the passport patient of its
        national ID (with ``links``), or None."""
        facts = LinkFacts(
            uuid=doc.uuid,
            national_id=doc.national_id,
            linked_to=self._linked.get(doc.uuid),
            other_claim=self._other_claim(doc, existing),
        )
        if facts.linked_to is None and facts.national_id is None:
            facts = dataclasses.replace(facts, candidates=self._candidates(doc))
        decision = decide_link(facts)
        if decision.review is not None:  # only now read what was queued before
            queued = self._queued_keys().get(link_uuid(self.source_id, doc.uuid), set())
            if queued:
                decision = decide_link(dataclasses.replace(facts, queued=frozenset(queued)))
        return decision

    def _other_claim(self, doc: PatientDoc, existing: dict[str, Any] | None) -> str | None:
        nid = doc.national_id
        if nid is None:
            return None
        claimed = self._claims.get(nid)
        if claimed is not None and claimed != doc.uuid:
            return claimed
        for link in (existing or {}).get("links") or []:
            if link.get("source") == self.source_id and link.get("uuid") != doc.uuid:
                return str(link.get("uuid"))
        return None

    def _candidates(self, doc: PatientDoc) -> tuple[str, ...]:
        person = doc.to_dict()
        key = demographic_key(person)
        if key is None:
            return ()
        try:
            found = self.store.find_patients(birth_date=key[1])
        except NotImplementedError:  # a store without the search: no proposals, nothing lost
            return ()
        return demographic_candidates(person, found)

    def _queued_keys(self) -> dict[str, set[str]]:
        if self._queued is None:
            self._queued = {}
            for c in self.store.list_conflicts(state=None):
                if c.resource_type == RESOURCE_TYPE and c.source == self.source_id:
                    key = c.incoming.get("key")
                    if isinstance(key, str):
                        self._queued.setdefault(c.uuid, set()).add(key)
        return self._queued

    def queue(self, doc: PatientDoc, decision: LinkDecision, wb: WriteBatch) -> bool:
        """Put the decision's review (if any) on the queue in ``wb``; True when one was added.

        Side effects on ``wb`` only (a conflict and an audit line naming the case, not the
        person). Remembered for the rest of the batch, so one batch never queues it twice.
        """
        review = decision.review
        if review is None:
            return False
        uuid = link_uuid(self.source_id, doc.uuid)
        incoming: dict[str, Any] = {
            "case": review.case,
            "key": review.key,
            "patient_uuid": doc.uuid,
            "national_id": doc.national_id,
            **link_summary(doc.to_dict()),
        }
        if review.case == NATIONAL_ID_CHANGED:
            incoming["linked_national_id"] = decision.patient_id
        elif review.case == SHARED_NATIONAL_ID:
            incoming["other_patient_uuid"] = decision.other_claim
        elif review.case == DEMOGRAPHIC_CANDIDATES:
            incoming["candidates"] = list(decision.candidates)
        wb.conflicts.append(
            Conflict(
                source=self.source_id,
                resource_type=RESOURCE_TYPE,
                uuid=uuid,
                base=self.store.get_patient_link(self.source_id, doc.uuid),
                passport={"patient_id": self._linked.get(doc.uuid)},
                incoming=incoming,
                reason=review.reason,
            )
        )
        wb.audit.append(
            AuditEntry(
                kind="conflict",
                source=self.source_id,
                message=f"{RESOURCE_TYPE}/{uuid}: {review.case}; queued for a decision",
                details={"case": review.case},
            )
        )
        self._queued_keys().setdefault(uuid, set()).add(review.key)
        return True


def hold(
    doc: PatientDoc, decision: LinkDecision, records: list[RecordDoc], wb: WriteBatch
) -> PatientDoc:
    """Park a held patient's records under the review key (never attached by a sync or a
    registration) and return the link document to write: unlinked, its national ID replaced by
    the review key, so no store attaches it to the passport patient of that ID either."""
    key = decision.park_key or ""
    mine = [r for r in records if r.patient_uuid == doc.uuid]
    records[:] = [r for r in records if r.patient_uuid != doc.uuid]
    for rec in mine:
        rec.patient_id = None
        wb.parked.append(ParkedRecord(national_id=key, record=rec))
    return dataclasses.replace(doc, national_id=key, patient_id=None)


def patients_with_national_id(
    source: Source, patient_id: str, spellings: Iterable[str]
) -> set[str]:
    """uuids of the source's patients whose national ID normalises to ``patient_id``.

    FHIR identifier search is exact, so each spelling is searched; a hit counts only when one
    of its identifiers really is this national ID (a search by value alone can match others).
    """
    found: set[str] = set()
    for value in sorted({*spellings, patient_id}):
        for patient in source.find_patients(value):
            idents = patient.get("identifier") or []
            if any(
                isinstance(i, dict) and normalise_national_id(str(i.get("value", ""))) == patient_id
                for i in idents
            ):
                found.add(str(patient.get("id")))
    return found
