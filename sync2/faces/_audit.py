"""Every read of a patient's data leaves a line in the audit log: who, which passport patients
(their ids hashed, never the national ID itself), what they read."""

from __future__ import annotations

import hashlib

from ..store import AuditEntry, PassportStore


def hashed_patient(patient_id: str) -> str:
    """The audit log's name for a passport patient.

    >>> hashed_patient("NID12345678")
    'd87e123d392e8dc3'
    """
    return hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:16]


def audit_read(store: PassportStore, actor: str, what: str, patients: set[str]) -> None:
    """Write one ``fhir-read`` audit entry for a read that returned these patients' data."""
    hashed = sorted({hashed_patient(p) for p in patients if p})
    if not hashed:
        return
    store.add_audit(
        AuditEntry(
            kind="fhir-read",
            message=f"{what}: data of {len(hashed)} passport patient(s)",
            actor=actor,
            details={"patients": hashed[:100], "patient_count": len(hashed)},
        )
    )
