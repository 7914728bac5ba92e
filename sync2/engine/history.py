"""What a record does to an earlier one: an amended observation, a revised or discontinued
order, a lab report.

An OpenMRS obs edit voids the old row and creates an amended one with a new uuid; fhir2 exports
no link between them, so the old one is found by what they share (and superseded only if the
source confirms it voided).

OpenMRS never edits an order: a revision or a discontinuation is a new order naming the earlier
one (``previous_order_id``; fhir2 ``priorPrescription`` / ``replaces``), and the earlier one
stops. So the passport marks the earlier record superseded by the new one, and one current line
remains per medication. A lab report fulfils its test order (``basedOn``): the order is
superseded by the report, which carries the result read from its result observation.

An order delivered again after its successor (the feed's UPDATED entry for the stop comes after
the successor's CREATED) keeps its superseded status: orders are never revived at the source.
"""

from __future__ import annotations

from mappers.documents import STATUS_SUPERSEDED, RecordDoc

from ..sources import Source
from ..store import PassportStore, StatusChange, WriteBatch

_ORDER_TYPES = ("MedicationRequest", "ServiceRequest")
_REPORT = "DiagnosticReport"


def link_history(source_id: str, wb: WriteBatch, store: PassportStore) -> None:
    """Supersede revised / discontinued orders and fulfilled test orders; attach results."""
    records = wb.records
    _keep_superseded(source_id, records, store)
    for rec in records:
        if rec.supersedes and rec.resource_type in _ORDER_TYPES:
            verb = "discontinued" if rec.data.get("status") == "stopped" else "revised"
            wb.status_changes.append(
                StatusChange(
                    source_id,
                    rec.resource_type,
                    rec.supersedes,
                    STATUS_SUPERSEDED,
                    f"{verb} by {rec.resource_type}/{rec.uuid}",
                    rec.uuid,
                )
            )
        if rec.resource_type == _REPORT:
            _attach_report(source_id, rec, wb, store)


def _keep_superseded(source_id: str, records: list[RecordDoc], store: PassportStore) -> None:
    for rtype in _ORDER_TYPES:
        uuids = [r.uuid for r in records if r.resource_type == rtype]
        if not uuids:
            continue
        stored = store.get_records(source_id, rtype, uuids)
        for rec in records:
            old = stored.get(rec.uuid) if rec.resource_type == rtype else None
            if old and old.get("status") == STATUS_SUPERSEDED and old.get("superseded_by"):
                rec.status = STATUS_SUPERSEDED
                rec.superseded_by = old["superseded_by"]


def _attach_report(source_id: str, report: RecordDoc, wb: WriteBatch, store: PassportStore) -> None:
    """The report's orders are fulfilled by it; its first result observation gives its value."""
    for order in report.based_on:
        wb.status_changes.append(
            StatusChange(
                source_id,
                "ServiceRequest",
                order,
                STATUS_SUPERSEDED,
                f"result reported in {_REPORT}/{report.uuid}",
                report.uuid,
            )
        )
    if not report.members:
        return
    in_batch = {r.uuid: r.to_dict() for r in wb.records if r.resource_type == "Observation"}
    wanted = [u for u in report.members if u not in in_batch]
    found = {**in_batch, **(store.get_records(source_id, "Observation", wanted) if wanted else {})}
    result = next((found[u] for u in report.members if u in found), None)
    if result is None or result.get("value") is None:
        return  # not synced yet: the report keeps its conclusion as its value
    report.value, report.unit = result["value"], result.get("unit")
    report.data = {**report.data, "result": result["value"], "unit": result.get("unit")}


def supersede_amended(source: Source, new: RecordDoc, wb: WriteBatch, store: PassportStore) -> None:
    """Supersede the observation an amended one replaces (same patient, encounter, time and
    code), when the source answers it is voided."""
    candidates = store.find_records(
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
        # a look-up that failed proves nothing: such a twin stays valid (a later sync of
        # its void marks it), rather than being superseded on a guess
        voided = {g.uuid for g in source.fetch("Observation", matches).gone}
        matches = [uuid for uuid in matches if uuid in voided]
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


def _code_key(codes: list[dict[str, str]]) -> str:
    for c in codes:
        if not c.get("system"):
            return c.get("code", "")
    return codes[0].get("code", "") if codes else ""
