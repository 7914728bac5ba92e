"""Render the whole-history rows as fhir2 sends them: AllergyIntolerance, Condition (problem list
and encounter diagnosis), MedicationRequest, MedicationDispense, ServiceRequest, DiagnosticReport.

Shapes follow the fhir2 module's R4 translators and the real payloads in the shared fixtures
(code = the concept uuid coding with its display, then the mapped CIEL / LOINC codings).
"""

from __future__ import annotations

from typing import Any

from ._concepts import (
    ALLERGENS,
    CIEL,
    DIAGNOSES,
    DRUGS,
    FREQUENCIES,
    KINDS,
    LOINC,
    ORAL,
    REACTIONS,
    SNOMED,
    TESTS,
    ciel_uuid,
)
from ._fhir import _meta, _text, encounter_ref, patient_ref, practitioner_ref
from ._records import (
    Allergy,
    Condition,
    Dispense,
    DrugOrder,
    Order,
    Report,
    TestOrder,
)
from ._util import fhir_datetime, fhir_instant

ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
DIAGNOSIS_RANK = "http://fhir.openmrs.org/R4/StructureDefinition/diagnosis-rank"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
_CRITICALITY = {"severe": "high", "moderate": "low", "mild": "low"}


def _coded(name: str, ciel: int, *maps: tuple[str, str]) -> dict[str, Any]:
    coding: list[dict[str, str]] = [{"code": ciel_uuid(ciel), "display": name}]
    coding.append({"system": CIEL, "code": str(ciel)})
    coding.extend({"system": s, "code": c} for s, c in maps)
    return {"coding": coding, "text": name}


def _status(system: str, code: str) -> dict[str, Any]:
    display = code.replace("-", " ").capitalize()
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def allergy(a: Allergy) -> dict[str, Any]:
    ciel, category = ALLERGENS[a.allergen]
    allergen = _coded(a.allergen, ciel)
    out: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": a.uuid,
        "meta": _meta(a),
        "text": _text([("Id", a.uuid), ("Allergen", a.allergen), ("Severity", a.severity)]),
        "clinicalStatus": _status(ALLERGY_CLINICAL, "active"),
        "verificationStatus": _status(ALLERGY_VERIFICATION, "confirmed"),
        "type": "allergy",
        "category": [category],
        "criticality": _CRITICALITY.get(a.severity, "unable-to-assess"),
        "code": allergen,
        "patient": patient_ref(a.patient),
        "recordedDate": fhir_datetime(a.date_created),
    }
    if a.provider is not None:
        out["recorder"] = practitioner_ref(a.provider)
    if a.comment:
        out["note"] = [{"text": a.comment}]
    out["reaction"] = [
        {
            "substance": allergen,
            "manifestation": [_coded(r, REACTIONS[r]) for r in a.reactions],
            "severity": a.severity,
        }
    ]
    return out


def condition(c: Condition) -> dict[str, Any]:
    ciel, snomed = DIAGNOSES[c.diagnosis]
    diagnosis = c.rank is not None
    out: dict[str, Any] = {
        "resourceType": "Condition",
        "id": c.uuid,
        "meta": _meta(c),
        "text": _text([("Id", c.uuid), ("Condition", c.diagnosis), ("Status", c.status)]),
    }
    if diagnosis:
        out["extension"] = [{"url": DIAGNOSIS_RANK, "valueInteger": c.rank}]
    out["clinicalStatus"] = _status(CONDITION_CLINICAL, c.status)
    out["verificationStatus"] = _status(CONDITION_VERIFICATION, c.certainty)
    category = "encounter-diagnosis" if diagnosis else "problem-list-item"
    out["category"] = [_status(CONDITION_CATEGORY, category)]
    out["code"] = _coded(c.diagnosis, ciel, (SNOMED, snomed))
    out["subject"] = patient_ref(c.patient)
    if c.encounter is not None:
        out["encounter"] = encounter_ref(c.encounter)
    out["onsetDateTime"] = fhir_datetime(c.onset)
    if c.end is not None:
        out["abatementDateTime"] = fhir_datetime(c.end)
    out["recordedDate"] = fhir_datetime(c.date_created)
    if c.provider is not None:
        out["recorder"] = practitioner_ref(c.provider)
    return out


def order_status(o: Order) -> str:
    """What fhir2 reports for an order: stopped once revised or discontinued (and for the
    discontinuing order itself), completed once expired, else active."""
    if o.action == "DISCONTINUE" or o.stopped is not None:
        return "stopped"
    if o.auto_expire is not None and o.auto_expire <= o.activated:
        return "completed"
    return "active"


def _order_common(o: Order, rtype: str) -> dict[str, Any]:
    return {
        "resourceType": rtype,
        "id": o.uuid,
        "meta": _meta(o),
    }


def _medication_ref(drug: str) -> dict[str, str]:
    ciel, _unit = DRUGS[drug]
    return {"reference": f"Medication/{ciel_uuid(ciel)}", "type": "Medication", "display": drug}


def _dosage(o: DrugOrder) -> dict[str, Any]:
    unit = DRUGS[o.drug][1]
    frequency = _coded(o.frequency, FREQUENCIES[o.frequency])
    text = f"{o.dose:g} {unit} {ORAL[1]} {o.frequency} for {o.duration} days"
    return {
        "text": text,
        "timing": {"repeat": {"duration": o.duration, "durationUnit": "d"}, "code": frequency},
        "asNeededBoolean": False,
        "route": _coded(ORAL[1], ORAL[0]),
        "doseAndRate": [{"doseQuantity": {"value": o.dose, "unit": unit}}],
    }


def medication_request(o: DrugOrder) -> dict[str, Any]:
    out = _order_common(o, "MedicationRequest")
    out["text"] = _text([("Id", o.uuid), ("Medication", o.drug), ("Action", o.action)])
    out["status"] = order_status(o)
    out["intent"] = "order"
    out["priority"] = "routine"
    out["medicationReference"] = _medication_ref(o.drug)
    out["subject"] = patient_ref(o.patient)
    if o.encounter is not None:
        out["encounter"] = encounter_ref(o.encounter)
    out["authoredOn"] = fhir_datetime(o.activated)
    if o.provider is not None:
        out["requester"] = practitioner_ref(o.provider)
    if o.action != "DISCONTINUE":
        out["dosageInstruction"] = [_dosage(o)]
    out["dispenseRequest"] = {"validityPeriod": {"start": fhir_datetime(o.activated)}}
    if o.stopped is not None:
        out["dispenseRequest"]["validityPeriod"]["end"] = fhir_datetime(o.stopped)
    if o.previous is not None:
        out["priorPrescription"] = {
            "reference": f"MedicationRequest/{o.previous.uuid}",
            "type": "MedicationRequest",
        }
    return out


def medication_dispense(d: Dispense) -> dict[str, Any]:
    unit = DRUGS[d.order.drug][1]
    out: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": d.uuid,
        "meta": _meta(d),
        "text": _text([("Id", d.uuid), ("Medication", d.order.drug)]),
        "status": "completed",
        "medicationReference": _medication_ref(d.order.drug),
        "subject": patient_ref(d.patient),
    }
    if d.encounter is not None:
        out["context"] = encounter_ref(d.encounter)
    if d.provider is not None:
        out["performer"] = [{"actor": practitioner_ref(d.provider)}]
    out["authorizingPrescription"] = [
        {"reference": f"MedicationRequest/{d.order.uuid}", "type": "MedicationRequest"}
    ]
    out["quantity"] = {"value": d.quantity, "unit": unit}
    out["whenHandedOver"] = fhir_datetime(d.date_created)
    out["dosageInstruction"] = [_dosage(d.order)]
    return out


def _test_codeable(test: str) -> dict[str, Any]:
    ciel, loinc, _kind = TESTS[test]
    return _coded(test, ciel, (LOINC, loinc))


def service_request(o: TestOrder) -> dict[str, Any]:
    out = _order_common(o, "ServiceRequest")
    out["text"] = _text([("Id", o.uuid), ("Test", o.test)])
    status = order_status(o)
    out["status"] = "revoked" if status == "stopped" else status
    out["intent"] = "order"
    out["priority"] = "routine"
    out["code"] = _test_codeable(o.test)
    out["subject"] = patient_ref(o.patient)
    if o.encounter is not None:
        out["encounter"] = encounter_ref(o.encounter)
    period = {"start": fhir_datetime(o.activated)}
    if o.stopped is not None:
        period["end"] = fhir_datetime(o.stopped)
    out["occurrencePeriod"] = period
    if o.provider is not None:
        out["requester"] = practitioner_ref(o.provider)
    if o.previous is not None:
        out["replaces"] = [
            {"reference": f"ServiceRequest/{o.previous.uuid}", "type": "ServiceRequest"}
        ]
    return out


def diagnostic_report(r: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": r.uuid,
        "meta": _meta(r),
        "text": _text([("Id", r.uuid), ("Test", r.order.test), ("Status", r.status)]),
        "basedOn": [{"reference": f"ServiceRequest/{r.order.uuid}", "type": "ServiceRequest"}],
        "status": r.status,
        "category": [{"coding": [{"system": REPORT_CATEGORY, "code": "LAB"}]}],
        "code": _test_codeable(r.order.test),
        "subject": patient_ref(r.patient),
    }
    if r.encounter is not None:
        out["encounter"] = encounter_ref(r.encounter)
    out["issued"] = fhir_instant(r.date_created)
    if r.provider is not None:
        out["performer"] = [practitioner_ref(r.provider)]
    out["result"] = [
        {"reference": f"Observation/{o.uuid}", "type": "Observation"}
        for o in r.results
        if not o.voided
    ]
    if r.conclusion:
        out["conclusion"] = r.conclusion
    return out


RENDERERS = {
    "AllergyIntolerance": allergy,
    "Condition": condition,
    "MedicationRequest": medication_request,
    "MedicationDispense": medication_dispense,
    "ServiceRequest": service_request,
    "DiagnosticReport": diagnostic_report,
}
#: result obs kind of each orderable test
TEST_RESULT_KIND = {name: kind for name, (_c, _l, kind) in TESTS.items() if kind in KINDS}


def strip_displays(resource: dict[str, Any]) -> dict[str, Any]:
    """The same resource with every Practitioner and Location reference reduced to its id, as
    an older fhir2 (or a provider without a person) sends it: the client must look them up."""
    return _strip(resource)  # type: ignore[no-any-return]


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref.startswith(("Practitioner/", "Location/")):
            return {k: v for k, v in value.items() if k not in ("display", "identifier")}
        return {k: _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
