"""OpenMRS REST allergies and orders -> the rows ``openmrs_rows`` builds fhir2 resources from.

The clinical half of :mod:`mappers.openmrs_rest`: ``patient/{uuid}/allergy`` objects become
AllergyIntolerance, ``order`` objects (``type`` drugorder / testorder, or a plain ``order`` whose
order type is a test order) become MedicationRequest / ServiceRequest, through the same builders
the MySQL adapter uses. Order statuses depend on the clock, so the builders take ``now`` (naive
UTC, as every REST date is read). Pure: JSON in, dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .openmrs_rest import (
    RestShapeError,
    concept_info,
    display_of,
    is_voided,
    provider_name,
    rest_datetime,
    uuid_of,
)
from .openmrs_rows import (
    AllergyContext,
    ConceptInfo,
    OrderContext,
    Party,
    allergy_resource,
    medication_request_resource,
    service_request_resource,
    severity_from_text,
)

JSON = dict[str, Any]
#: user uuid -> the user's person name
Users = Mapping[str, str]
#: CIEL severity concepts (the allergy.concept.severity.* global properties' defaults)
_SEVERITY_CONCEPTS = {
    "1498AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA": "mild",
    "1499AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA": "moderate",
    "1500AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA": "severe",
}
_DRUG_ORDER = "org.openmrs.DrugOrder"
_TEST_ORDER = "org.openmrs.TestOrder"


def _concept(value: Any) -> ConceptInfo | None:
    return concept_info(value) if uuid_of(value) else None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def audit_row(obj: Mapping[str, Any]) -> JSON:
    """``auditInfo`` as the row's ``date_created`` / ``date_changed`` / ``date_voided``."""
    info = obj.get("auditInfo") if isinstance(obj.get("auditInfo"), dict) else {}
    assert isinstance(info, dict)
    return {
        "date_created": rest_datetime(info.get("dateCreated")),
        "date_changed": rest_datetime(info.get("dateChanged")),
        "date_voided": rest_datetime(info.get("dateVoided")),
    }


def creator_uuid(obj: Mapping[str, Any]) -> str | None:
    """The uuid of the user who created the object (``auditInfo.creator``)."""
    info = obj.get("auditInfo")
    return uuid_of(info.get("creator")) if isinstance(info, dict) else None


def recorder(obj: Mapping[str, Any], users: Users | None) -> Party | None:
    """Who recorded an allergy or a condition: its creating user, named by the person name the
    caller looked up (a user ref shows only the username, the fallback)."""
    uuid = creator_uuid(obj)
    if uuid is None:
        return None
    info = obj.get("auditInfo")
    username = display_of(info.get("creator")) if isinstance(info, dict) else None
    return uuid, (users or {}).get(uuid) or username


def _severity(value: Any) -> str | None:
    uuid = uuid_of(value)
    if uuid in _SEVERITY_CONCEPTS:
        return _SEVERITY_CONCEPTS[str(uuid)]
    return severity_from_text(display_of(value))  # a local severity concept: its English name


def allergy_from_rest(
    obj: Mapping[str, Any],
    *,
    now: datetime,
    patient_uuid: str | None = None,
    users: Users | None = None,
) -> JSON:
    """``patient/{p}/allergy/{uuid}`` as fhir2's AllergyIntolerance (the patient may come from the
    path when the object has no ``patient``; ``users`` names its creator, see :func:`recorder`)."""
    uuid = uuid_of(obj)
    if uuid is None:
        msg = "REST allergy has no uuid"
        raise RestShapeError(msg)
    allergen = obj.get("allergen") if isinstance(obj.get("allergen"), dict) else {}
    assert isinstance(allergen, dict)
    row = {
        "uuid": uuid,
        "allergen_type": allergen.get("allergenType"),
        "non_coded_allergen": allergen.get("nonCodedAllergen"),
        "comments": obj.get("comment"),
        "voided": is_voided(obj),
        **audit_row(obj),
    }
    reactions = tuple(
        (_concept(r.get("reaction")), r.get("reactionNonCoded"))
        for r in _dicts(obj.get("reactions"))
    )
    ctx = AllergyContext(
        patient_uuid=uuid_of(obj.get("patient")) or patient_uuid,
        allergen=_concept(allergen.get("codedAllergen")),
        severity=_severity(obj.get("severity")),
        reactions=reactions,
        recorder=recorder(obj, users),
    )
    return allergy_resource(row, ctx, now=now)


def order_kind(obj: Mapping[str, Any]) -> str:
    """``drugorder`` or ``testorder``: the REST ``type``, else the order type's Java class.

    Raises:
        RestShapeError: an order of another kind (referral, a module's own) or none at all.
    """
    kind = str(obj.get("type") or "").lower()
    order_type = obj.get("orderType") if isinstance(obj.get("orderType"), dict) else {}
    java = str(order_type.get("javaClassName") or "") if isinstance(order_type, dict) else ""
    if kind in ("drugorder", "testorder"):
        return kind
    if java == _DRUG_ORDER or obj.get("drug") is not None or "dosingType" in obj:
        return "drugorder"
    if java == _TEST_ORDER or kind == "order":
        return "testorder"  # Bahmni lists its lab orders as plain "order"
    msg = f"REST order {uuid_of(obj)} is neither a drug nor a test order (type {kind!r})"
    raise RestShapeError(msg)


def _dosing_instructions(value: Any) -> str | None:
    """Free text, or Bahmni's JSON string (``{"instructions": "As directed"}``) read out."""
    if not isinstance(value, str) or not value.strip():
        return None
    if value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict):
            parts = [
                str(v) for v in parsed.values() if isinstance(v, str | int | float) and v != ""
            ]
            return "; ".join(parts) or None
    return value


def _order_row(obj: Mapping[str, Any], uuid: str) -> JSON:
    return {
        "uuid": uuid,
        "order_number": obj.get("orderNumber"),
        "order_action": obj.get("action"),
        "urgency": obj.get("urgency"),
        "date_activated": rest_datetime(obj.get("dateActivated")),
        "date_stopped": rest_datetime(obj.get("dateStopped")),
        "auto_expire_date": rest_datetime(obj.get("autoExpireDate")),
        "scheduled_date": rest_datetime(obj.get("scheduledDate")),
        "fulfiller_status": obj.get("fulfillerStatus"),
        "comment_to_fulfiller": obj.get("commentToFulfiller"),
        "order_reason_non_coded": obj.get("orderReasonNonCoded"),
        "instructions": obj.get("instructions"),
        "dosing_instructions": _dosing_instructions(obj.get("dosingInstructions")),
        "dose": obj.get("dose"),
        "duration": obj.get("duration"),
        "quantity": obj.get("quantity"),
        "num_refills": obj.get("numRefills"),
        "as_needed": obj.get("asNeeded") is True,
        "drug_non_coded": obj.get("drugNonCoded"),
        "voided": is_voided(obj),
        **audit_row(obj),
    }


def _frequency(value: Any) -> ConceptInfo | None:
    """An OrderFrequency names its concept; a ref-only frequency is coded by its own uuid."""
    if not uuid_of(value):
        return None
    concept = value.get("concept") if isinstance(value, dict) else None
    if uuid_of(concept):
        return concept_info({**concept, "display": display_of(value) or display_of(concept)})
    return concept_info(value)


def order_from_rest(obj: Mapping[str, Any], *, now: datetime) -> JSON:
    """``order/{uuid}?v=full`` as fhir2's MedicationRequest (drug) or ServiceRequest (test)."""
    uuid = uuid_of(obj)
    if uuid is None:
        msg = "REST order has no uuid"
        raise RestShapeError(msg)
    if not uuid_of(obj.get("concept")) and not uuid_of(obj.get("drug")):
        msg = f"REST order {uuid} is a ref (no concept, no drug): read it with v=full"
        raise RestShapeError(msg)
    row = _order_row(obj, uuid)
    if order_kind(obj) == "drugorder":
        return medication_request_resource(row, order_context(obj), now=now)
    return service_request_resource(row, order_context(obj), now=now)


def order_context(obj: Mapping[str, Any]) -> OrderContext:
    """The refs of an order (or of a dispense, which has the same ones) as the builders take
    them."""
    orderer = obj.get("orderer")
    drug = obj.get("drug")
    previous = uuid_of(obj.get("previousOrder"))
    return OrderContext(
        patient_uuid=uuid_of(obj.get("patient")),
        concept=_concept(obj.get("concept")),
        encounter_uuid=uuid_of(obj.get("encounter")),
        requester=(str(uuid_of(orderer)), provider_name(orderer)) if uuid_of(orderer) else None,
        drug=(str(uuid_of(drug)), display_of(drug)) if uuid_of(drug) else None,
        previous=(previous, None) if previous else None,
        reason=_concept(obj.get("orderReason")),
        dose_units=_concept(obj.get("doseUnits")),
        quantity_units=_concept(obj.get("quantityUnits")),
        route=_concept(obj.get("route")),
        frequency=_frequency(obj.get("frequency")),
        duration_units=_concept(obj.get("durationUnits")),
    )
