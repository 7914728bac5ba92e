"""Encounter (and visit) -> RecordDoc, and the EncounterInfo observations borrow from it."""

from __future__ import annotations

import re

from ._context import EncounterInfo, MappingContext
from ._fhir import JSON, dicts, ref_id, str_or_none, tag_codes, text_of
from .documents import STATUS_ENTERED_IN_ERROR, STATUS_FINAL, RecordDoc

ENCOUNTER_TAG = "http://fhir.openmrs.org/ext/encounter-tag"
VISIT_TYPE_SYSTEM = "http://fhir.openmrs.org/code-system/visit-type"
_IDENTIFIER_SUFFIX = re.compile(r"\s*\(Identifier:[^)]*\)\s*$")


def doctor_name(display: str | None) -> str | None:
    """A participant display without fhir2's ``" (Identifier: X)"`` suffix.

    >>> doctor_name("John Doe (Identifier: Test)"), doctor_name("Super User"), doctor_name(None)
    ('John Doe', 'Super User', None)
    """
    if not display:
        return None
    return _IDENTIFIER_SUFFIX.sub("", display) or None


def encounter_kind(resource: JSON) -> str:
    """``visit`` or ``encounter``: fhir2 returns both from one search and tells them apart by
    ``meta.tag``; without a tag, a visit-type coding marks a visit.

    >>> encounter_kind({"meta": {"tag": [{"system": ENCOUNTER_TAG, "code": "visit"}]}})
    'visit'
    >>> encounter_kind({"type": [{"coding": [{"system": VISIT_TYPE_SYSTEM, "code": "x"}]}]})
    'visit'
    >>> encounter_kind({})
    'encounter'
    """
    tags = tag_codes(resource, ENCOUNTER_TAG)
    if tags:
        return "visit" if tags[0].lower() == "visit" else "encounter"
    for concept in dicts(resource.get("type")):
        if any(c.get("system") == VISIT_TYPE_SYSTEM for c in dicts(concept.get("coding"))):
            return "visit"
    return "encounter"


def _first_display(items: object, key: str) -> str | None:
    for item in dicts(items):
        ref = item.get(key)
        if isinstance(ref, dict) and str_or_none(ref.get("display")):
            return str(ref["display"])
    return None


def _first_id(items: object, key: str, resource_type: str) -> str | None:
    for item in dicts(items):
        found = ref_id(item.get(key), resource_type)
        if found:
            return found
    return None


def _start(resource: JSON) -> str | None:
    period = resource.get("period")
    return str_or_none(period.get("start")) if isinstance(period, dict) else None


def encounter_info(resource: JSON) -> EncounterInfo:
    """What observations of this encounter inherit: doctor, facility, date and visit.

    >>> info = encounter_info({"participant": [{"individual": {"display": "Jo (Identifier: 7)",
    ...     "reference": "Practitioner/p1"}}], "location": [{"location": {"display": "Ward A"}}],
    ...     "period": {"start": "2025-01-02"}, "partOf": {"reference": "Encounter/v1"}})
    >>> info.doctor, info.facility, info.date, info.visit_uuid, info.doctor_uuid
    ('Jo', 'Ward A', '2025-01-02', 'v1', 'p1')
    """
    return EncounterInfo(
        doctor=doctor_name(_first_display(resource.get("participant"), "individual")),
        facility=_first_display(resource.get("location"), "location"),
        date=_start(resource),
        visit_uuid=ref_id(resource.get("partOf"), "Encounter"),
        doctor_uuid=_first_id(resource.get("participant"), "individual", "Practitioner"),
        facility_uuid=_first_id(resource.get("location"), "location", "Location"),
    )


def map_encounter(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """An Encounter or visit as a passport ``visit`` record."""
    kind = encounter_kind(resource)
    type_name = None
    for concept in dicts(resource.get("type")):
        type_name = text_of(concept)
        if type_name:
            break
    name = "Visit" if kind == "visit" else (type_name or "Encounter")
    info = encounter_info(resource)
    reasons = [t for t in (text_of(c) for c in dicts(resource.get("reasonCode"))) if t]
    status = (
        STATUS_ENTERED_IN_ERROR
        if resource.get("status") in ("entered-in-error", "cancelled")
        else STATUS_FINAL
    )  # fhir2 always sends "unknown"
    data: JSON = {
        "hospital": ctx.hospital,
        "reason": "; ".join(reasons) or type_name,
        "visitDate": info.date,
        "kind": kind,
        "encounterType": type_name,
        "facility": info.facility,
    }
    period = resource.get("period")
    if isinstance(period, dict) and str_or_none(period.get("end")):
        data["endDate"] = period["end"]
    return RecordDoc(
        source=ctx.source,
        resource_type="Encounter",
        uuid=uuid,
        patient_uuid=ref_id(resource.get("subject"), "Patient"),
        type="visit",
        name=name,
        effective=info.date,
        status=status,
        hospital=ctx.hospital,
        doctor=info.doctor,
        facility=info.facility,
        encounter_uuid=info.visit_uuid,
        doctor_uuid=info.doctor_uuid,
        facility_uuid=info.facility_uuid,
        data=data,
    )
