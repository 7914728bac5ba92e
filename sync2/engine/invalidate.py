"""Changes that are no longer valid at the source: voids, deletions, merges and edits.

A voided or deleted record is marked entered-in-error; one replaced by an edit is marked
superseded and points at its successor; a voided patient loses its link to the passport patient.
Nothing is deleted: the passport keeps what it was told, with its status.
"""

from __future__ import annotations

from collections.abc import Iterable

from mappers.documents import STATUS_ENTERED_IN_ERROR, STATUS_SUPERSEDED, PatientDoc

from ..sources import Gone, Source
from ..store import AuditEntry, PassportStore, StatusChange, WriteBatch


def invalidate(source: Source, gone: Iterable[Gone], wb: WriteBatch, store: PassportStore) -> None:
    """Status changes for what ``source`` reports gone, ahead of any found in this batch."""
    changes: list[StatusChange] = []
    for g in gone:
        if g.resource_type == "Patient":
            unlink_patient(source, g, wb, store)
        elif g.replaced_by:
            reason = f"replaced by {g.resource_type}/{g.replaced_by}"
            changes.append(
                StatusChange(
                    source.id, g.resource_type, g.uuid, STATUS_SUPERSEDED, reason, g.replaced_by
                )
            )
        else:
            reason = f"{g.reason} at the source"
            changes.append(
                StatusChange(source.id, g.resource_type, g.uuid, STATUS_ENTERED_IN_ERROR, reason)
            )
    wb.status_changes[:0] = changes  # before any supersede found in this batch


def unlink_patient(source: Source, gone: Gone, wb: WriteBatch, store: PassportStore) -> None:
    """A hospital voided (or merged away) its patient: that hospital's patient no longer
    speaks for the passport patient. The link goes (audited); the records stay as they are,
    each corrected by its own void event."""
    link = store.get_patient_link(source.id, gone.uuid)
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
