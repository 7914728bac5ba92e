"""Conformance of the clinical types (allergies, conditions, orders, dispenses, reports) over
the real fhir2 payloads in ../shared/fixtures/openmrs/fhir: every expected value is read from
the fixture file itself, never from the mapper.

fhir2 ships no MedicationRequest or MedicationDispense JSON (fixtures README); those two are
built here from real DBUnit rows the way fhir2's translators shape them
(``MedicationRequestTranslatorImpl``, ``DosageTranslatorImpl``,
``MedicationDispenseTranslatorImpl``), and checked against the rows.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mappers import EncounterInfo, MappingContext, RecordDoc, map_resource, passport_record

CTX = MappingContext(source="demo", hospital="Demo Hospital")


def _raw(fixtures_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures_dir / "fhir" / name).read_text())
    data.setdefault("id", "assigned-by-server")  # a POST body: the server gives the id
    return data


def _record(resource: dict[str, Any], ctx: MappingContext = CTX) -> RecordDoc:
    doc = map_resource(resource, ctx)
    assert isinstance(doc, RecordDoc)
    assert doc.uuid == resource["id"] and doc.raw is resource and doc.hospital == ctx.hospital
    return doc


def _ciel(coding_code: str) -> str:
    """A CIEL concept uuid (``5085AAAA…``) as a reader sees it: ``CIEL 5085``."""
    return "CIEL " + coding_code.rstrip("A")


@pytest.mark.parametrize("name", ["create", "update", "updateWithWrongId", "updateWithoutId"])
def test_allergy_intolerance(fixtures_dir: Path, name: str) -> None:
    raw = _raw(fixtures_dir, f"fhir2_AllergyIntoleranceWebTest_{name}.json")
    doc = _record(raw)
    code = raw["code"]
    allergen = code.get("text") or _ciel(code["coding"][0]["code"])
    reaction = raw["reaction"][0]
    assert (doc.type, doc.resource_type, doc.name, doc.status) == (
        "allergy",
        "AllergyIntolerance",
        allergen,
        "final",
    )
    assert doc.patient_uuid == raw["patient"]["reference"].split("/")[1]
    assert doc.doctor == raw["recorder"].get("display")
    assert doc.doctor_uuid == raw["recorder"]["reference"].split("/")[1]
    assert doc.data["allergen"] == allergen
    assert doc.data["category"] == raw["category"]
    assert doc.data["allergyType"] == raw["type"]
    assert doc.data["clinicalStatus"] == raw["clinicalStatus"]["coding"][0]["code"]
    verification = raw.get("verificationStatus")
    assert doc.data["verificationStatus"] == (
        verification["coding"][0]["code"] if verification else None
    )
    assert doc.data["severity"] == reaction["severity"]
    (mapped,) = doc.data["reactions"]
    assert mapped["severity"] == reaction["severity"]
    assert mapped["manifestations"] == [m["text"] for m in reaction["manifestation"]]
    if "substance" in reaction:  # the CIEL coding names it
        assert mapped["substance"] == "CIEL " + reaction["substance"]["coding"][1]["code"]
    notes = [n["text"] for n in raw.get("note", [])]
    assert doc.data["comment"] == ("; ".join(notes) or None)
    assert passport_record(doc)["type"] == "allergy"


@pytest.mark.parametrize("suffix", ["", "_r3"])
def test_problem_list_condition(fixtures_dir: Path, suffix: str) -> None:
    raw = _raw(fixtures_dir, f"fhir2_ConditionWebTest_create{suffix}.json")
    doc = _record(raw)
    status = raw["clinicalStatus"]
    status = status if isinstance(status, str) else status["coding"][0]["code"]
    diagnosed = raw.get("onsetDateTime") or raw["recordedDate"]
    assert (doc.type, doc.resource_type, doc.name, doc.status) == (
        "condition",
        "Condition",
        "CIEL " + raw["code"]["coding"][1]["code"],
        "final",
    )
    assert doc.data["name"] == doc.name and doc.data["details"] is None
    assert doc.data["diagnosed"] == diagnosed == doc.effective
    assert doc.data["clinicalStatus"] == status == "active"
    assert doc.data["kind"] == "problem" and doc.encounter_uuid is None
    assert doc.patient_uuid == raw["subject"]["reference"].split("/")[1]
    assert {"system": raw["code"]["coding"][1]["system"], "code": "116128"} in doc.codes


@pytest.mark.parametrize("suffix", ["", "_r3"])
def test_encounter_diagnosis(fixtures_dir: Path, suffix: str) -> None:
    raw = _raw(fixtures_dir, f"fhir2_ConditionDiagnosis_create{suffix}.json")
    encounter = (raw.get("encounter") or raw["context"])["reference"].split("/")[1]
    ctx = MappingContext(
        source="demo",
        hospital="Demo Hospital",
        encounters={encounter: EncounterInfo(doctor="Dr. Alice Smith", facility="Ward A")},
    )
    doc = _record(raw, ctx)
    rank = next(e["valueInteger"] for e in raw["extension"] if e["url"].endswith("diagnosis-rank"))
    verification = raw["verificationStatus"]
    certainty = verification if isinstance(verification, str) else verification["coding"][0]["code"]
    assert (doc.type, doc.name) == ("condition", _ciel(raw["code"]["coding"][0]["code"]))
    assert doc.encounter_uuid == encounter
    assert (doc.doctor, doc.facility) == ("Dr. Alice Smith", "Ward A")  # from its encounter
    assert doc.data["kind"] == "diagnosis"
    assert (doc.data["rank"], doc.data["certainty"]) == (rank, certainty)
    assert doc.data["diagnosed"] == (raw.get("onsetDateTime") or raw["recordedDate"])


@pytest.mark.parametrize("name", ["create", "update", "updateWithWrongId", "updateWithoutId"])
def test_service_request(fixtures_dir: Path, name: str) -> None:
    raw = _raw(fixtures_dir, f"fhir2_ServiceRequestWebTest_{name}.json")
    doc = _record(raw)
    assert (doc.type, doc.resource_type, doc.name, doc.status) == (
        "test",
        "ServiceRequest",
        raw["code"]["text"],
        "final",
    )
    assert doc.data["testName"] == raw["code"]["text"] and doc.data["result"] is None
    assert doc.data["status"] == raw["status"] and doc.data["kind"] == "order"
    assert doc.data["intent"] == raw["intent"]
    assert doc.doctor == raw["requester"]["display"] and doc.doctor_uuid is None
    assert doc.data["performer"] == raw["performer"][0]["display"]
    assert doc.data["reason"] == raw["reason"][0]["concept"]["text"]  # R5 shape, still read
    assert doc.effective == raw["occurrenceDateTime"]
    assert doc.data["authoredOn"] == raw["authoredOn"]
    assert doc.patient_uuid is None  # the body names its subject by display only
    assert doc.supersedes is None


@pytest.mark.parametrize(
    "name",
    [
        "fhir2_DiagnosticReport_create_r4.json",
        "fhir2_DiagnosticReport_create_r3.json",
        "fhir2_DiagnosticReport_create_r4_no_id.json",
        "fhir2_DiagnosticReport_create_r4_wrong_id.json",
        "fhir2_DiagnosticReport_with_service_request_refs_create_r4.json",
        "fhir2_DiagnosticReport_with_invalid_service_request_refs_create_r4.json",
    ],
)
def test_diagnostic_report(fixtures_dir: Path, name: str) -> None:
    raw = _raw(fixtures_dir, name)
    doc = _record(raw)
    code = raw["code"]
    assert (doc.type, doc.resource_type, doc.status) == ("test", "DiagnosticReport", raw["status"])
    assert doc.name == (code.get("text") or code["coding"][0]["display"])
    assert doc.members == [r["reference"].split("/")[1] for r in raw["result"]]
    assert doc.based_on == [r["reference"].split("/")[1] for r in raw.get("basedOn", [])]
    assert doc.data["result"] == raw.get("conclusion") == doc.value
    assert doc.data["issued"] == raw["issued"] == doc.effective
    assert doc.data["kind"] == "report" and doc.data["category"] == ["LAB"]
    encounter = raw.get("encounter") or raw.get("context")
    assert doc.encounter_uuid == (encounter["reference"].split("/")[1] if encounter else None)
    subject = raw.get("subject")
    assert doc.patient_uuid == (subject["reference"].split("/")[1] if subject else None)


# --- MedicationRequest / MedicationDispense from DBUnit rows, shaped as fhir2 shapes them ---


def _rows(path: Path, table: str) -> list[dict[str, str | None]]:
    return [
        {k: (None if v == "[NULL]" else v) for k, v in el.attrib.items()}
        for el in ET.parse(path).getroot()
        if el.tag == table
    ]


def _one(path: Path, table: str, **match: str) -> dict[str, str | None]:
    (row,) = [r for r in _rows(path, table) if all(r.get(k) == v for k, v in match.items())]
    return row


def _concept_name(path: Path, concept_id: str) -> str:
    names = [r for r in _rows(path, "concept_name") if r["concept_id"] == concept_id]
    best = next((r for r in names if r.get("concept_name_type") == "FULLY_SPECIFIED"), names[0])
    return str(best["name"])


def _fhir2_medication_request(
    order: dict[str, Any], drug_order: dict[str, Any], drug: dict[str, Any], std: Path
) -> dict[str, Any]:
    """A drug order as fhir2's MedicationRequestTranslatorImpl writes it (fields it sets)."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": order["uuid"],
        "status": "stopped" if order.get("date_stopped") else "active",
        "intent": "order",
        "authoredOn": order["date_created"],
        "medicationReference": {"reference": f"Medication/{drug['uuid']}", "display": drug["name"]},
        "requester": {"reference": "Practitioner/c2299800-cca9-11e0-9572-0800200c9a66"},
        "dosageInstruction": [
            {
                "asNeededBoolean": drug_order["as_needed"] == "true",
                "route": {"text": _concept_name(std, drug_order["route"])},
                "additionalInstruction": [{"text": order["instructions"]}]
                if order.get("instructions")
                else [],
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": float(drug_order["dose"]),
                            "unit": _concept_name(std, drug_order["dose_units"]),
                        }
                    }
                ],
            }
        ],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": int(drug_order["num_refills"]),
            "quantity": {
                "value": float(drug_order["quantity"]),
                "unit": _concept_name(std, drug_order["quantity_units"]),
            },
        },
    }
    return resource


def test_medication_request_revision(fixtures_dir: Path) -> None:
    dbunit = fixtures_dir / "dbunit"
    std = dbunit / "core_standardTestDataset.xml"
    pair = dbunit / "core_OrderServiceTest-discontinueAmbiguousOrderByConcept.xml"
    first, revised = (_one(pair, "orders", order_id=i) for i in ("112", "113"))
    assert revised["previous_order_id"] == first["order_id"] and revised["order_action"] == "REVISE"
    drug_order = _one(pair, "drug_order", order_id="113")
    drug = _one(std, "drug", drug_id=str(drug_order["drug_inventory_id"]))
    resource = _fhir2_medication_request(revised, drug_order, drug, std)
    resource["priorPrescription"] = {"reference": f"MedicationRequest/{first['uuid']}"}
    doc = _record(resource)
    dose = f"{drug_order['dose']} {_concept_name(std, str(drug_order['dose_units']))}"
    assert (doc.type, doc.resource_type, doc.name) == (
        "medication",
        "MedicationRequest",
        drug["name"],
    )
    assert doc.supersedes == first["uuid"]
    assert doc.data["medicationName"] == drug["name"] == "ASPIRIN"
    assert doc.data["dose"] == dose == "321.1 mg"
    assert doc.data["route"] == _concept_name(std, str(drug_order["route"]))
    assert doc.data["dosage"] == f"{dose}, {doc.data['route']}" == doc.value
    assert doc.data["refills"] == int(str(drug_order["num_refills"]))
    assert doc.data["status"] == "active" and doc.status == "final"
    assert doc.effective == revised["date_created"]
    assert doc.doctor_uuid == "c2299800-cca9-11e0-9572-0800200c9a66" and doc.doctor is None


def test_medication_request_instructions(fixtures_dir: Path) -> None:
    dataset = fixtures_dir / "dbunit" / "fhir2_FhirMedicationRequestDaoImpl_initial_data.xml"
    std = fixtures_dir / "dbunit" / "core_standardTestDataset.xml"
    order = _one(dataset, "orders", order_id="1005")
    drug_order = _one(dataset, "drug_order", order_id="1005")
    drug = _one(dataset, "drug", drug_id=str(drug_order["drug_inventory_id"]))
    doc = _record(_fhir2_medication_request(order, drug_order, drug, std))
    assert doc.name == drug["name"] == "Bedaquiline"
    assert doc.data["instructions"] == order["instructions"]
    assert doc.data["status"] == "stopped"  # date_stopped is set
    assert doc.data["quantity"] == f"1 {_concept_name(std, str(drug_order['quantity_units']))}"
    assert doc.supersedes is None


def test_medication_dispense(fixtures_dir: Path) -> None:
    dbunit = fixtures_dir / "dbunit"
    std = dbunit / "core_standardTestDataset.xml"
    dataset = dbunit / "core_MedicationDispenseServiceTest-initialData.xml"
    row = _one(dataset, "medication_dispense", medication_dispense_id="1")
    order = _one(std, "orders", order_id=str(row["drug_order_id"]))
    drug = _one(std, "drug", drug_id=str(row["drug_id"]))
    location = _one(std, "location", location_id=str(row["location_id"]))
    term = next(
        t
        for m in _rows(dataset, "concept_reference_map")
        if m["concept_id"] == row["status"]
        for t in _rows(dataset, "concept_reference_term")
        if t["concept_reference_term_id"] == m["concept_reference_term_id"]
    )
    resource = {
        "resourceType": "MedicationDispense",
        "id": row["uuid"],
        "status": term["code"],
        "authorizingPrescription": [{"reference": f"MedicationRequest/{order['uuid']}"}],
        "medicationReference": {"reference": f"Medication/{drug['uuid']}", "display": drug["name"]},
        "location": {"reference": f"Location/{location['uuid']}", "display": location["name"]},
        "type": {"text": _concept_name(dataset, str(row["type"]))},
        "quantity": {"value": float(str(row["quantity"]))},
        "whenPrepared": row["date_prepared"],
        "whenHandedOver": row["date_handed_over"],
        "dosageInstruction": [{"text": row["dosing_instructions"]}],
        "substitution": {"wasSubstituted": row["was_substituted"] == "true"},
    }
    doc = _record(resource)
    assert (doc.type, doc.resource_type, doc.name) == (
        "medication",
        "MedicationDispense",
        "Triomune-30",
    )
    assert doc.based_on == [order["uuid"]]
    assert doc.data["status"] == term["code"] == "completed"
    assert doc.data["dosage"] == row["dosing_instructions"]
    assert doc.effective == row["date_handed_over"]
    assert (doc.facility, doc.facility_uuid) == (location["name"], location["uuid"])
    assert doc.data["dispenseType"] == "First Fill" and doc.data["substituted"] is False
    assert doc.data["quantity"] == "1"
