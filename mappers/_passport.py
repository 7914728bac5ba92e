"""The ``medicalrecords`` document as the Patient Passport portal reads it."""

from __future__ import annotations

from typing import Any

from .documents import RecordDoc


def passport_record(doc: RecordDoc) -> dict[str, Any]:
    """A record in the portal's own shape, plus the raw resource and where it came from.

    ``data`` is already the portal's per-type block (``{name, details, diagnosed}``,
    ``{medicationName, dosage}``, ``{testName, result, unit}`` or ``{hospital, reason,
    visitDate}``); ``createdBy`` is the doctor.

    >>> rec = RecordDoc(source="central", resource_type="Observation", uuid="o1",
    ...     patient_uuid="p1", type="vital", name="Weight", doctor="Dr. A", hospital="Central",
    ...     data={"testName": "Weight", "result": "75", "unit": "kg"}, version="7")
    >>> out = passport_record(rec)
    >>> out["type"], out["createdBy"], out["data"]["result"], out["provenance"]["resourceType"]
    ('vital', 'Dr. A', '75', 'Observation')
    """
    return {
        "patientId": doc.patient_id,
        "type": doc.type,
        "data": dict(doc.data),
        "createdBy": doc.doctor,
        "hospital": doc.hospital,
        "status": doc.status,
        "raw": doc.raw,
        "source": doc.source,
        "uuid": doc.uuid,
        "version": doc.version,
        "provenance": {
            "source": doc.source,
            "resourceType": doc.resource_type,
            "uuid": doc.uuid,
            "patientUuid": doc.patient_uuid,
            "encounterUuid": doc.encounter_uuid,
            "versionId": doc.version,
            "lastUpdated": doc.last_updated,
            "contentHash": doc.content_hash,
            "warnings": list(doc.warnings),
        },
    }
