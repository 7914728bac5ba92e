"""``passport show``'s summary over mapped records: allergies, active problems, one line per
current medication, latest results; the timeline after it. Records come from the real fhir2
fixtures and hand-written fhir2-shaped resources; expected values are read from those."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mappers import MappingContext, RecordDoc, map_resource
from sync2.passport_view import passport_json, passport_text

CTX = MappingContext(source="central", hospital="Central Hospital")
PATIENT = {"national_id": "NID-1", "name": "Jo Doe", "links": [{"source": "central"}]}


def _stored(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    doc = map_resource(resource, CTX)
    assert isinstance(doc, RecordDoc)
    stored = doc.to_dict()
    stored.update(changes)
    return stored


def _order(
    uuid: str, status: str, dose: float, when: str, prior: str | None = None, drug: str = "ASPIRIN"
) -> Any:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": uuid,
        "status": status,
        "authoredOn": when,
        "medicationReference": {"reference": "Medication/d3", "display": drug},
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg"}}]}],
    }
    if prior:
        resource["priorPrescription"] = {"reference": f"MedicationRequest/{prior}"}
    return _stored(resource)


def _records(fixtures_dir: Path) -> list[dict[str, Any]]:
    fhir = fixtures_dir / "fhir"
    allergy = json.loads((fhir / "fhir2_AllergyIntoleranceWebTest_update.json").read_text())
    voided_allergy = {**allergy, "id": "a-err", "code": {"text": "Latex"}}
    voided_allergy["verificationStatus"] = {"coding": [{"code": "entered-in-error"}]}
    problem = json.loads((fhir / "fhir2_ConditionWebTest_create.json").read_text())
    resolved = {**problem, "id": "c-old", "code": {"text": "Measles"}}
    resolved["clinicalStatus"] = {"coding": [{"code": "resolved"}]}
    report = json.loads((fhir / "fhir2_DiagnosticReport_create_r4.json").read_text())
    order = json.loads((fhir / "fhir2_ServiceRequestWebTest_update.json").read_text())
    results = [
        _stored(
            {
                "resourceType": "Observation",
                "id": ref["reference"].split("/")[1],
                "code": {"text": "Systolic"},
                "valueQuantity": {"value": value, "unit": "mmHg"},
                "effectiveDateTime": "2011-03-04T11:45:33+11:00",
            }
        )
        for ref, value in zip(report["result"], (120.0, 118.0), strict=True)
    ]
    records = [
        _stored(allergy),
        _stored(voided_allergy),
        _stored(problem),
        _stored(resolved),
        _order("mr-new", "active", 650.0, "2024-05-02", prior="mr-old"),
        _order("mr-old", "active", 325.0, "2024-05-01"),
        # a discontinue order (fhir2 gives it no current status) retires the order it names
        _order("inh-stop", "unknown", 300.0, "2024-06-01", prior="inh", drug="Isoniazid"),
        _order("inh", "active", 300.0, "2024-04-01", drug="Isoniazid"),
        # a revision that changes the drug's form: one line, not two
        _order("pcm-inj", "active", 2.0, "2024-03-02", prior="pcm", drug="Paracetamol 2ml"),
        _order("pcm", "active", 500.0, "2024-03-01", drug="Paracetamol 500mg"),
        _stored(report),
        _stored(order),
        *results,
    ]
    return sorted(records, key=lambda r: r.get("effective") or "", reverse=True)


def test_summary_opens_the_passport(fixtures_dir: Path) -> None:
    view = passport_json(PATIENT, _records(fixtures_dir))
    summary = view["summary"]
    (allergy,) = summary["allergies"]  # the entered-in-error one is not a known allergy
    assert allergy["allergen"] == "value for allergen non coded. 123456"
    assert (allergy["severity"], allergy["reactions"]) == (
        "severe",
        ["1513AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA text"],
    )
    (problem,) = summary["problems"]  # Measles is resolved
    assert (problem["name"], problem["clinicalStatus"]) == ("CIEL 116128", "active")
    # the revised aspirin order replaces the first; isoniazid was discontinued; the
    # paracetamol tablets became an injection
    medication, injection = summary["medications"]
    assert (medication["medicationName"], medication["dosage"], medication["uuid"]) == (
        "ASPIRIN",
        "650 mg",
        "mr-new",
    )
    assert (injection["medicationName"], injection["uuid"]) == ("Paracetamol 2ml", "pcm-inj")
    (result,) = summary["results"]  # the order has no result; the report shows its results
    assert result["testName"] == "Systolic Blood Pressure"
    assert result["result"] == "Systolic: 120 mmHg; Systolic: 118 mmHg"
    kinds = {r["uuid"]: r["resource_type"] for r in view["records"]}
    assert kinds["mr-new"] == "MedicationRequest" and kinds[
        "7d13b03b-58c2-43f5-b34d-08750c51aea9"
    ] == ("ServiceRequest")
    timeline = set(kinds)
    assert "8a849d5e-6011-4279-a124-40ada5a687de" in timeline
    assert not timeline & {r["reference"].split("/")[1] for r in _report_results(fixtures_dir)}


def _report_results(fixtures_dir: Path) -> list[dict[str, str]]:
    path = fixtures_dir / "fhir" / "fhir2_DiagnosticReport_create_r4.json"
    results: list[dict[str, str]] = json.loads(path.read_text())["result"]
    return results


def test_summary_text_comes_before_the_timeline(fixtures_dir: Path) -> None:
    text = passport_text(passport_json(PATIENT, _records(fixtures_dir)))
    lines = text.splitlines()
    headings = ["Allergies", "Active problems", "Current medications", "Latest results"]
    positions = [lines.index(h) for h in [*headings, "Timeline"]]
    assert positions == sorted(positions)
    assert "  ASPIRIN (650 mg)  Central Hospital" in lines
    assert "    └ " in text  # the report's results under it


def test_an_empty_passport_says_so() -> None:
    text = passport_text(passport_json(PATIENT, []))
    assert text.count("  none known") == 4 and "(no records)" in text
