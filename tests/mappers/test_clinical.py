"""Table-driven unit tests of the clinical mappers over fhir2-shaped plain dicts: statuses,
revisions, what a malformed resource becomes. Expected values are written by hand."""

from __future__ import annotations

from typing import Any

import pytest

from mappers import MappingContext, MappingError, RecordDoc, map_resource

CTX = MappingContext(source="central", hospital="Central Hospital")
RX = {"resourceType": "MedicationRequest", "id": "mr2", "subject": {"reference": "Patient/p1"}}


def record(resource: dict[str, Any]) -> RecordDoc:
    doc = map_resource(resource, CTX)
    assert isinstance(doc, RecordDoc)
    return doc


def test_revised_drug_order_names_the_order_it_supersedes() -> None:
    doc = record(
        {
            **RX,
            "status": "active",
            "intent": "order",
            "medicationReference": {"reference": "Medication/d1", "display": "ASPIRIN"},
            "priorPrescription": {"reference": "MedicationRequest/mr1"},
            "dosageInstruction": [
                {
                    "doseAndRate": [{"doseQuantity": {"value": 2.0, "unit": "tab (s)"}}],
                    "timing": {
                        "code": {"text": "Twice daily"},
                        "repeat": {"duration": 7, "durationUnit": "d"},
                    },
                    "route": {"coding": [{"code": "r", "display": "Oral"}]},
                }
            ],
        }
    )
    assert (doc.type, doc.name, doc.supersedes, doc.patient_uuid) == (
        "medication",
        "ASPIRIN",
        "mr1",
        "p1",
    )
    assert doc.data["dosage"] == "2 tab (s), Oral, Twice daily, for 7 days"
    assert (doc.data["frequency"], doc.data["duration"]) == ("Twice daily", "7 days")


@pytest.mark.parametrize(
    ("status", "record_status"),
    [
        ("active", "final"),
        ("stopped", "final"),
        ("completed", "final"),
        ("cancelled", "final"),  # a discontinued order is history, not a mistake
        ("entered-in-error", "entered-in-error"),
    ],
)
def test_drug_order_status_is_kept_apart_from_validity(status: str, record_status: str) -> None:
    doc = record({**RX, "status": status, "medicationCodeableConcept": {"text": "Isoniazid"}})
    assert (doc.data["status"], doc.status) == (status, record_status)


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "MedicationRequest", "id": "x", "status": "active"},
        {"resourceType": "MedicationDispense", "id": "x", "medicationReference": "Aspirin"},
    ],
    ids=["no-medication", "medication-not-an-object"],
)
def test_a_medication_without_a_drug_goes_to_failed_events(resource: dict[str, Any]) -> None:
    with pytest.raises(MappingError, match=f"{resource['resourceType']}/x: no medication"):
        map_resource(resource, CTX)


def test_non_coded_condition_and_abatement() -> None:
    doc = record(
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "inactive"}]},
            "extension": [
                {"url": "http://fhir.openmrs.org/ext/non-coded-condition", "valueString": "Gout"}
            ],
            "onsetDateTime": "2020-01-01",
            "abatementDateTime": "2021-02-02",
            "note": [{"text": "left foot"}],
        }
    )
    assert (doc.name, doc.data["details"], doc.data["diagnosed"]) == (
        "Gout",
        "left foot",
        "2020-01-01",
    )
    assert (doc.data["clinicalStatus"], doc.data["abatement"]) == ("inactive", "2021-02-02")


@pytest.mark.parametrize(
    ("verification", "status"),
    [("confirmed", "final"), ("entered-in-error", "entered-in-error")],
)
def test_allergy_entered_in_error(verification: str, status: str) -> None:
    doc = record(
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": {"reference": "Patient/p1"},
            "code": {"text": "Penicillin"},
            "category": "medication",  # one code where fhir2 sends a list
            "verificationStatus": {"coding": [{"code": verification}]},
            "criticality": "high",
            "reaction": [
                {"manifestation": [{"text": "Rash"}], "severity": "mild"},
                {"manifestation": [{"text": "Anaphylaxis"}], "severity": "severe"},
            ],
        }
    )
    assert (doc.status, doc.patient_uuid, doc.value) == (status, "p1", "Rash, Anaphylaxis")
    assert (doc.data["severity"], doc.data["criticality"]) == ("severe", "high")
    assert doc.data["category"] == ["medication"]


@pytest.mark.parametrize(
    ("report_status", "expected"),
    [("partial", "preliminary"), ("amended", "amended"), ("unknown", "final")],
)
def test_report_status(report_status: str, expected: str) -> None:
    doc = record(
        {
            "resourceType": "DiagnosticReport",
            "id": "r1",
            "status": report_status,
            "code": {"text": "CBC"},
            "effectiveDateTime": "2024-02-02",
            "issued": "2024-02-03",
        }
    )
    assert (doc.status, doc.data["status"], doc.effective) == (
        expected,
        report_status,
        "2024-02-02",
    )


def test_discontinued_test_order_names_the_order_it_replaces() -> None:
    doc = record(
        {
            "resourceType": "ServiceRequest",
            "id": "sr2",
            "status": "revoked",
            "intent": "order",
            "code": {"coding": [{"code": "x", "display": "CD4 count"}]},
            "subject": {"reference": "Patient/p1"},
            "requester": {"reference": "Practitioner/pr1"},
            "occurrencePeriod": {"start": "2024-01-01", "end": "2024-01-05"},
            "replaces": [{"reference": "ServiceRequest/sr1"}],
        }
    )
    assert (doc.name, doc.supersedes, doc.doctor, doc.doctor_uuid) == (
        "CD4 count",
        "sr1",
        None,
        "pr1",
    )
    assert (doc.effective, doc.data["occurrenceEnd"], doc.data["status"]) == (
        "2024-01-01",
        "2024-01-05",
        "revoked",
    )


def test_a_single_object_where_a_list_belongs_is_read_and_noted() -> None:
    doc = record(
        {
            **RX,
            "medicationCodeableConcept": {"text": "Isoniazid"},
            "dosageInstruction": {"text": "300 mg daily"},
            "performer": {"reference": "Practitioner/p1"},  # single in MedicationRequest
        }
    )
    assert doc.data["dosage"] == "300 mg daily"
    assert doc.warnings == [
        "tolerant: MedicationRequest.dosageInstruction is an object, read as a list of one"
    ]
