"""OpenMRS REST conditions, encounter diagnoses and dispenses -> the ``openmrs_rows`` builders.

The shapes are webservices.rest's (``ConditionResource2_2``, ``DiagnosisResource2_2`` served at
``patientdiagnoses``, ``MedicationDispenseResource2_6``), read in their full representation:

- ``condition`` / ``diagnosis`` are a *CodedOrFreeText*: ``coded`` (a concept, default rep, so
  with its mappings), ``nonCoded`` (free text) and ``specificName``;
- ``clinicalStatus`` (ACTIVE, INACTIVE, HISTORY_OF, ...), ``verificationStatus`` and a
  diagnosis's ``certainty`` are the Java enum names, as the database columns hold them;
- a condition names no provider: its recorder is ``auditInfo.creator``, a *user*, whose ref
  shows only a username, so the caller passes the person names it looked up (``users``);
- a dispense's ``status`` is a concept mapped SAME-AS into the HL7 medicationdispense-status
  code system, as fhir2 reads it; its ``drugOrder`` is the MedicationRequest it fulfils.

Pure: JSON in, fhir2-shaped dicts out.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from .openmrs_rest_clinical import Users, audit_row, order_context, recorder
from .openmrs_rows import (
    ConceptInfo,
    ConditionContext,
    DispenseContext,
    Party,
    condition_resource,
    diagnosis_resource,
    dispense_status,
    medication_dispense_resource,
)

JSON = dict[str, Any]


def _coded_or_free(value: Any) -> tuple[ConceptInfo | None, str | None]:
    """(concept, free text) of a CodedOrFreeText; ``{}`` or null is neither."""
    if not isinstance(value, dict):
        return None, None
    coded = value.get("coded")
    concept = concept_info(coded) if uuid_of(coded) else None
    free = value.get("nonCoded")
    return concept, free if isinstance(free, str) and free.strip() else None


def _need(obj: Mapping[str, Any], what: str) -> str:
    uuid = uuid_of(obj)
    if uuid is None:
        msg = f"REST {what} has no uuid"
        raise RestShapeError(msg)
    if uuid_of(obj.get("patient")) is None:
        msg = f"REST {what} {uuid} names no patient (read it with v=full)"
        raise RestShapeError(msg)
    return uuid


def condition_from_rest(obj: Mapping[str, Any], users: Users | None = None) -> JSON:
    """``condition/{uuid}?v=full`` (problem list, 2.2+) as fhir2's Condition."""
    uuid = _need(obj, "condition")
    concept, free = _coded_or_free(obj.get("condition"))
    row = {
        "uuid": uuid,
        "clinical_status": obj.get("clinicalStatus"),
        "verification_status": obj.get("verificationStatus"),
        "condition_non_coded": free,
        "onset_date": rest_datetime(obj.get("onsetDate")),
        "end_date": rest_datetime(obj.get("endDate")),
        "additional_detail": obj.get("additionalDetail"),
        "voided": is_voided(obj),
        **audit_row(obj),
    }
    ctx = ConditionContext(
        patient_uuid=uuid_of(obj.get("patient")),
        concept=concept,
        recorder=recorder(obj, users),
        encounter_uuid=uuid_of(obj.get("encounter")),
    )
    return condition_resource(row, ctx)


def diagnosis_from_rest(obj: Mapping[str, Any], users: Users | None = None) -> JSON:
    """``patientdiagnoses/{uuid}?v=full`` (encounter diagnosis, 2.2+) as fhir2's Condition."""
    uuid = _need(obj, "diagnosis")
    concept, free = _coded_or_free(obj.get("diagnosis"))
    encounter = obj.get("encounter")
    rank = obj.get("rank")
    row = {
        "uuid": uuid,
        "certainty": obj.get("certainty"),
        "dx_rank": rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
        "diagnosis_non_coded": free,
        "voided": is_voided(obj),
        **audit_row(obj),
    }
    ctx = ConditionContext(
        patient_uuid=uuid_of(obj.get("patient")),
        concept=concept,
        recorder=recorder(obj, users),
        encounter_uuid=uuid_of(encounter),
        encounter_datetime=rest_datetime(
            encounter.get("encounterDatetime") if isinstance(encounter, dict) else None
        ),
    )
    return diagnosis_resource(row, ctx)


def _status_maps(status: Any) -> list[JSON]:
    """A status concept's mappings as the rows :func:`dispense_status` reads."""
    out = []
    mappings = status.get("mappings") if isinstance(status, dict) else None
    for mapping in mappings if isinstance(mappings, list) else []:
        if not isinstance(mapping, dict):
            continue
        term = mapping.get("conceptReferenceTerm")
        source, _, code = (display_of(term) or display_of(mapping) or "").partition(": ")
        kind = display_of(mapping.get("conceptMapType")) or "SAME-AS"
        out.append({"url": None, "source_name": source, "code": code, "map_type": kind})
    return out


def _party(value: Any, name: str | None) -> Party | None:
    uuid = uuid_of(value)
    return (uuid, name) if uuid else None


def dispense_from_rest(obj: Mapping[str, Any]) -> JSON:
    """``medicationdispense/{uuid}?v=full`` (2.6+) as fhir2's MedicationDispense."""
    uuid = _need(obj, "medication dispense")
    dispenser, location = obj.get("dispenser"), obj.get("location")
    row = {
        "uuid": uuid,
        "quantity": obj.get("quantity"),
        "dose": obj.get("dose"),
        "as_needed": obj.get("asNeeded") is True,
        "dosing_instructions": obj.get("dosingInstructions"),
        "date_prepared": rest_datetime(obj.get("datePrepared")),
        "date_handed_over": rest_datetime(obj.get("dateHandedOver")),
        "was_substituted": obj.get("wasSubstituted"),
        "voided": is_voided(obj),
        **audit_row(obj),
    }

    def concept(key: str) -> ConceptInfo | None:
        return concept_info(obj[key]) if uuid_of(obj.get(key)) else None

    ctx = DispenseContext(
        order=order_context(obj),
        status=dispense_status(_status_maps(obj.get("status"))),
        status_reason=concept("statusReason"),
        dispense_type=concept("type"),
        location=_party(location, display_of(location)),
        dispenser=_party(dispenser, provider_name(dispenser) if uuid_of(dispenser) else None),
        prescription_uuid=uuid_of(obj.get("drugOrder")),
        substitution_type=concept("substitutionType"),
        substitution_reason=concept("substitutionReason"),
    )
    return medication_dispense_resource(row, ctx)
