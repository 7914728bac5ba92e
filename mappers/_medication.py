"""MedicationRequest (drug orders) and MedicationDispense -> ``medication`` records.

A drug order that revises or discontinues another names it in ``priorPrescription``; the
record exposes that uuid as ``supersedes`` so the engine can retire the earlier line and the
passport shows one current line per medication.
"""

from __future__ import annotations

from typing import Any

from ._clinical import (
    clinical_record,
    compact,
    concept_name,
    concept_texts,
    encounter_of,
    extension_value,
    first_ref,
    label,
    note_text,
    people,
    record_status,
    ref_ids,
    status_code,
    when,
)
from ._context import MappingContext, MappingError
from ._fhir import JSON, codes_of, dicts, ref_id, str_or_none
from ._observation import number_text
from .documents import RecordDoc

FULFILLER_STATUS_EXT = "http://fhir.openmrs.org/ext/medicationrequest/fulfillerstatus"
RECORDED_EXT = "http://fhir.openmrs.org/ext/medicationdispense/recorded"
#: UCUM duration units (Timing.repeat.durationUnit) as words.
_DURATION_UNITS = {
    "s": "seconds", "min": "minutes", "h": "hours", "d": "days",
    "wk": "weeks", "mo": "months", "a": "years",
}  # fmt: skip


def medication_name(resource: JSON, uuid: str) -> str:
    """The drug: ``medicationReference.display`` (fhir2's drug name), else the concept.

    Every OpenMRS drug order and dispense names its drug or concept, so one without
    ``medication[x]`` is malformed: it goes to the failed-events queue rather than into the
    passport as a nameless medication.

    >>> medication_name({"medicationReference": {"reference": "Medication/m", "display": "Asp"}},
    ...     "o1")
    'Asp'
    >>> medication_name({"medicationCodeableConcept": {"text": "non coded drug Crocine"}}, "o1")
    'non coded drug Crocine'
    >>> medication_name({"resourceType": "MedicationRequest"}, "o1")
    Traceback (most recent call last):
    mappers._context.MappingError: MedicationRequest/o1: no medication (medication[x] missing)
    """
    ref = resource.get("medicationReference")
    concept = resource.get("medicationCodeableConcept")
    if isinstance(ref, dict) and str_or_none(ref.get("display")):
        return str(ref["display"])
    if isinstance(concept, dict):
        return concept_name(concept, "Medication")
    if isinstance(ref, dict) and ref_id(ref, "Medication"):
        return f"Medication {ref_id(ref, 'Medication')}"
    msg = f"{resource.get('resourceType')}/{uuid}: no medication (medication[x] missing)"
    raise MappingError(msg)


def _quantity(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    number = number_text(value.get("value"))
    unit = str_or_none(value.get("unit")) or str_or_none(value.get("code"))
    return " ".join(p for p in (number, unit) if p) or None


def _dict(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def dosage_of(dosage: JSON) -> JSON:
    """One dosage instruction's parts: dose, route, frequency, duration, as needed, text.

    >>> d = dosage_of({"doseAndRate": [{"doseQuantity": {"value": 1.0, "unit": "Tablet"}}],
    ...     "route": {"text": "Oral"}, "timing": {"code": {"text": "Once daily"},
    ...     "repeat": {"duration": 5, "durationUnit": "d"}}, "asNeededBoolean": False})
    >>> d["dose"], d["route"], d["frequency"], d["duration"], d["asNeeded"]
    ('1 Tablet', 'Oral', 'Once daily', '5 days', False)
    """
    dose = next(
        (
            q
            for q in (_quantity(r.get("doseQuantity")) for r in dicts(dosage.get("doseAndRate")))
            if q
        ),
        None,
    )
    timing = _dict(dosage.get("timing"))
    repeat = _dict(timing.get("repeat"))
    duration = number_text(repeat.get("duration"))
    unit = str_or_none(repeat.get("durationUnit"))
    as_needed = dosage.get("asNeededBoolean")
    return compact(
        {
            "dose": dose,
            "route": label(dosage.get("route")),
            "frequency": label(timing.get("code")),
            "duration": f"{duration} {_DURATION_UNITS.get(unit or '', unit or '')}".strip()
            if duration
            else None,
            "asNeeded": as_needed if isinstance(as_needed, bool) else None,
            "dosageText": str_or_none(dosage.get("text")),
            "instructions": "; ".join(concept_texts(dosage.get("additionalInstruction"))) or None,
        }
    )


def dosage_line(parts: JSON) -> str | None:
    """The portal's ``dosage`` string: dose, route, frequency and duration, else free text.

    >>> dosage_line({"dose": "1 Tablet", "frequency": "Once daily", "duration": "5 days"})
    '1 Tablet, Once daily, for 5 days'
    >>> dosage_line({"dosageText": "2 puffs when needed"}), dosage_line({})
    ('2 puffs when needed', None)
    """
    duration = f"for {parts['duration']}" if parts.get("duration") else None
    pieces = [parts.get("dose"), parts.get("route"), parts.get("frequency"), duration]
    line = ", ".join(p for p in pieces if p)
    return line or parts.get("dosageText") or None


def map_medication_request(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """A drug order as a ``medication`` record, naming the order it revises or discontinues."""
    name = medication_name(resource, uuid)
    dosage = next((dosage_of(d) for d in dicts(resource.get("dosageInstruction"))), {})
    status = status_code(resource.get("status"))
    encounter_uuid = encounter_of(resource)
    who = people(ctx, encounter_uuid, resource.get("requester"))
    dispense = _dict(resource.get("dispenseRequest"))
    authored = str_or_none(resource.get("authoredOn"))
    data: JSON = {
        "medicationName": name,
        "dosage": dosage_line(dosage),
        "status": status,
        **dosage,
        **compact(
            {
                "intent": str_or_none(resource.get("intent")),
                "priority": str_or_none(resource.get("priority")),
                "reason": "; ".join(concept_texts(resource.get("reasonCode"))) or None,
                "quantity": _quantity(dispense.get("quantity")),
                "refills": dispense.get("numberOfRepeatsAllowed"),
                "fulfillerStatus": str_or_none(extension_value(resource, FULFILLER_STATUS_EXT)),
                "note": note_text(resource),
                "authoredOn": authored,
            }
        ),
    }
    return clinical_record(
        resource,
        ctx,
        uuid,
        who,
        encounter_uuid,
        type="medication",
        name=name,
        value=data["dosage"],
        effective=authored,
        status=record_status(status),
        codes=codes_of(resource.get("medicationCodeableConcept")),
        data=data,
        supersedes=ref_id(resource.get("priorPrescription"), "MedicationRequest"),
    )


def map_medication_dispense(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """A dispense as a ``medication`` record, naming the drug orders it fills."""
    name = medication_name(resource, uuid)
    dosage = next((dosage_of(d) for d in dicts(resource.get("dosageInstruction"))), {})
    status = status_code(resource.get("status"))
    encounter_uuid = encounter_of(resource)
    who = people(
        ctx, encounter_uuid, first_ref(resource.get("performer"), "actor"), resource.get("location")
    )
    handed = when(resource, "whenHandedOver", "whenPrepared") or str_or_none(
        extension_value(resource, RECORDED_EXT)
    )
    substitution = resource.get("substitution")
    substituted = substitution.get("wasSubstituted") if isinstance(substitution, dict) else None
    data: JSON = {
        "medicationName": name,
        "dosage": dosage_line(dosage),
        "status": status,
        "dispensed": True,
        **dosage,
        **compact(
            {
                "quantity": _quantity(resource.get("quantity")),
                "whenPrepared": str_or_none(resource.get("whenPrepared")),
                "whenHandedOver": str_or_none(resource.get("whenHandedOver")),
                "dispenseType": label(resource.get("type")),
                "statusReason": label(resource.get("statusReasonCodeableConcept")),
                "substituted": substituted if isinstance(substituted, bool) else None,
                "note": note_text(resource),
            }
        ),
    }
    return clinical_record(
        resource,
        ctx,
        uuid,
        who,
        encounter_uuid,
        type="medication",
        name=name,
        value=data["dosage"],
        effective=handed,
        status=record_status(status),
        codes=codes_of(resource.get("medicationCodeableConcept")),
        data=data,
        based_on=ref_ids(resource.get("authorizingPrescription"), "MedicationRequest"),
    )
