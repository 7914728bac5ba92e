"""The International Patient Summary of one passport patient: a FHIR document Bundle.

A Composition (LOINC 60591-5, "Patient summary Document") with the IPS sections, each listing the
patient's valid records of its kind, then the patient's hospital Patient resources and every
listed record, as the passport serves them. Pure: served resources in, a Bundle out. The Bundle
is deterministic (its time is the newest record's change time), so the CLI export and the API
give the same document for the same passport.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from ._resources import JSON, instant

_LOINC = "http://loinc.org"
_VITAL_CATEGORY = "vital-signs"


@dataclass(frozen=True, slots=True)
class Section:
    code: str
    title: str
    types: tuple[str, ...]
    required: bool = False


#: The IPS sections, in the order the IPS guide lists them.
SECTIONS = (
    Section("48765-2", "Allergies and intolerances", ("AllergyIntolerance",), required=True),
    Section("11450-4", "Problem list", ("Condition",), required=True),
    Section(
        "10160-0", "Medication summary", ("MedicationRequest", "MedicationDispense"), required=True
    ),
    Section("30954-2", "Results", ("Observation", "DiagnosticReport")),
    Section("8716-3", "Vital signs", ("Observation",)),
    Section("46240-8", "History of encounters", ("Encounter",)),
    Section("18776-5", "Plan of care", ("ServiceRequest",)),
)


def is_vital(resource: JSON) -> bool:
    """An Observation in the vital-signs category.

    >>> is_vital({"category": [{"coding": [{"code": "vital-signs"}]}]}), is_vital({})
    (True, False)
    """
    for concept in resource.get("category") or []:
        if isinstance(concept, dict):
            for coding in concept.get("coding") or []:
                if isinstance(coding, dict) and coding.get("code") == _VITAL_CATEGORY:
                    return True
    return False


def _section_of(resource: JSON) -> Section | None:
    rtype = resource.get("resourceType")
    if rtype == "Observation":
        code = "8716-3" if is_vital(resource) else "30954-2"
        return next(s for s in SECTIONS if s.code == code)
    return next((s for s in SECTIONS if rtype in s.types), None)


def _narrative(title: str, count: int) -> JSON:
    text = f"{count} {'entry' if count == 1 else 'entries'}" if count else "No information"
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{html.escape(title)}: {text}</div>',
    }


def _sections(records: list[JSON]) -> list[JSON]:
    listed: dict[str, list[JSON]] = {s.code: [] for s in SECTIONS}
    for resource in records:
        section = _section_of(resource)
        if section is not None:
            listed[section.code].append(resource)
    out = []
    for section in SECTIONS:
        entries = listed[section.code]
        if not entries and not section.required:
            continue
        item: JSON = {
            "title": section.title,
            "code": {
                "coding": [{"system": _LOINC, "code": section.code, "display": section.title}]
            },
            "text": _narrative(section.title, len(entries)),
        }
        if entries:
            item["entry"] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in entries]
        else:
            item["emptyReason"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                        "code": "unavailable",
                    }
                ]
            }
        out.append(item)
    return out


def summary_bundle(
    patient_id: str, patients: list[JSON], records: list[JSON], base_url: str
) -> JSON:
    """The IPS document Bundle.

    Args:
        patient_id: the passport patient (normalised national ID).
        patients: that person's hospital Patient resources, the preferred one first.
        records: the person's valid records, as served.
        base_url: the FHIR base the ``fullUrl`` values are built on.
    """
    stamps = [str(r["meta"]["lastUpdated"]) for r in [*patients, *records]]
    when = max(stamps) if stamps else instant(0)
    digest = hashlib.sha256(f"{patient_id}|{when}".encode()).hexdigest()
    subject = patients[0]
    composition: JSON = {
        "resourceType": "Composition",
        "id": f"ips-{digest[:32]}",
        "status": "final",
        "type": {
            "coding": [{"system": _LOINC, "code": "60591-5", "display": "Patient summary Document"}]
        },
        "subject": {"reference": f"Patient/{subject['id']}"},
        "date": when,
        "author": [{"display": "sync2 patient passport"}],
        "title": "International Patient Summary",
        "confidentiality": "N",
        "section": _sections(records),
    }
    entries = [composition, *patients, *records]
    return {
        "resourceType": "Bundle",
        "id": f"ips-{digest[:32]}",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_as_uuid(digest)}"},
        "type": "document",
        "timestamp": when,
        "entry": [
            {"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r} for r in entries
        ],
    }


def _as_uuid(digest: str) -> str:
    """
    >>> _as_uuid("0" * 64)
    '00000000-0000-0000-0000-000000000000'
    """
    d = digest[:32]
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
