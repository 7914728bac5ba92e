"""What a record of the whole history does to an earlier one.

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

from .store import PassportStore, StatusChange, WriteBatch

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
