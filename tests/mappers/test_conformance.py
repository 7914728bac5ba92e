"""Conformance: every real OpenMRS payload in ../shared/fixtures/openmrs maps, and the fields
the passport lists (DESIGN.md) arrive in its documents.

Request bodies that fhir2 accepts on POST carry no id (the server assigns one); they are given a
deterministic uuid here, as the server would, and checked separately to go to the failed-events
queue (MappingError) while they still lack it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from mappers import (
    DoctorDoc,
    EncounterInfo,
    LocationDoc,
    MappingContext,
    MappingError,
    PatientDoc,
    RecordDoc,
    bundle_resources,
    map_resource,
    passport_record,
)

#: The fixtures that fail strict R4B validation (fixtures README): they must still sync. The
#: ``*_r3`` files are STU3 shapes; the ServiceRequest bodies carry R5's ``reason[].concept``.
STRICT_FAILURES = {
    "esm-core_Bundle_Location_login-summary-data.json",
    "fhir2_PatientWebTest_create.json",
    "fhir2_PractitionerWebTest_create.json",
    "fhir2_ConditionDiagnosis_create_r3.json",
    "fhir2_ConditionWebTest_create_r3.json",
    "fhir2_DiagnosticReport_create_r3.json",
    "fhir2_ServiceRequestWebTest_create.json",
    "fhir2_ServiceRequestWebTest_update.json",
    "fhir2_ServiceRequestWebTest_updateWithWrongId.json",
    "fhir2_ServiceRequestWebTest_updateWithoutId.json",
}
CTX = MappingContext(
    source="demo", hospital="Demo Hospital", identifier_types=("OpenMRS ID",), validate=True
)


def _resources(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    items = list(bundle_resources(data)) if data.get("resourceType") == "Bundle" else [data]
    out = []
    for item in items:
        if "id" not in item:  # a POST body: the server would assign this id
            item = {**item, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, path.name))}
        out.append(item)
    return out


def _fixture_files(fixtures_dir: Path) -> list[Path]:
    files = sorted((fixtures_dir / "fhir").glob("*.json"))
    files.append(fixtures_dir / "sync2" / "fhir_r4_patient_searchset_bundle_openmrs.json")
    assert len(files) >= 11, files
    return files


def _load(fixtures_dir: Path, name: str) -> list[dict[str, Any]]:
    folder = "sync2" if name.startswith("fhir_r4_") else "fhir"
    return _resources(fixtures_dir / folder / name)


def _fixture_params() -> list[Any]:
    from tests.conftest import FIXTURES

    if not (FIXTURES / "fhir").is_dir():
        return [pytest.param(None, id="no-fixtures")]  # the test skips, or fails in CI
    return [pytest.param(path, id=path.name) for path in _fixture_files(FIXTURES)]


@pytest.mark.parametrize("path", _fixture_params())
def test_every_fixture_resource_maps(path: Path | None) -> None:
    if path is None:
        from tests.conftest import FIXTURES, missing

        missing(f"no fixtures at {FIXTURES}")
    for resource in _resources(path):
        doc = map_resource(resource, CTX)
        assert doc is not None, f"{path.name}: {resource['resourceType']} dropped"
        assert doc.uuid == resource["id"]
        assert doc.raw is resource and doc.content_hash
        strict = [w for w in doc.warnings if w.startswith("strict R4B validation failed")]
        if path.name in STRICT_FAILURES:
            assert strict, f"{path.name}: expected a kept strict-validation warning"
        else:
            assert not strict, f"{path.name}: unexpected {strict}"


def test_fixtures_map_to_every_document_kind(fixtures_dir: Path) -> None:
    counts: dict[str, int] = {}
    for path in _fixture_files(fixtures_dir):
        for resource in _resources(path):
            doc = map_resource(resource, CTX)
            counts[type(doc).__name__] = counts.get(type(doc).__name__, 0) + 1
    print(f"\nfixture documents mapped: {counts}")
    assert set(counts) == {"PatientDoc", "RecordDoc", "DoctorDoc", "LocationDoc"}


def test_strict_failures_map_tolerantly_without_validation(fixtures_dir: Path) -> None:
    """The engine's default (validate=False) path also keeps a note on the odd shapes."""
    fast = MappingContext(source="demo", identifier_types=("Test Identifier Type",))
    for name in sorted(STRICT_FAILURES):
        for resource in _load(fixtures_dir, name):
            doc = map_resource(resource, fast)
            assert doc is not None, name
    patient = map_resource(_load(fixtures_dir, "fhir2_PatientWebTest_create.json")[0], fast)
    assert isinstance(patient, PatientDoc)
    assert patient.national_id == "44446"  # the identifier was an object, not a list
    assert any("identifier is an object" in w for w in patient.warnings)


def test_post_bodies_without_id_go_to_failed_events(fixtures_dir: Path) -> None:
    without_id = 0
    for path in _fixture_files(fixtures_dir):
        data = json.loads(path.read_text())
        if data.get("resourceType") != "Bundle" and "id" not in data:
            without_id += 1
            with pytest.raises(MappingError, match=f"{data['resourceType']} has no id"):
                map_resource(data, CTX)
    assert without_id >= 4


def test_patient_fields(fixtures_dir: Path) -> None:
    (resource,) = _load(fixtures_dir, "esm-patient-chart_Patient.json")
    doc = map_resource(resource, CTX)
    assert isinstance(doc, PatientDoc)
    assert doc.national_id == "100008E"
    first = doc.identifiers[0]
    assert first["type"] == "OpenMRS ID"
    assert first["type_uuid"] == "05a29f94-c0ed-11e2-94be-8c13b969e334"
    assert first["location_uuid"] == "736b08f9-94d6-4b50-ad58-6bc69b9cbfb8"
    assert first["use"] == "official"
    assert (doc.name, doc.given, doc.family) == ("Joshua Johnson", ["Joshua"], "Johnson")
    assert (doc.gender, doc.birth_date, doc.birth_date_precision) == ("male", "2019-09-25", "day")
    assert doc.deceased is False
    assert len(doc.addresses) == 14
    assert doc.addresses[0]["address1"] == "Nansana"
    assert doc.addresses[0]["city"] == "Wakiso" and doc.addresses[0]["use"] == "home"
    assert (doc.version, doc.last_updated) == ("1719312976000", "2024-06-25T10:56:16.000+00:00")
    by_uuid = map_resource(
        resource,
        MappingContext(source="demo", identifier_types=("05A29F94-C0ED-11E2-94BE-8C13B969E334",)),
    )
    assert isinstance(by_uuid, PatientDoc) and by_uuid.national_id == "100008E"


def test_patient_searchset_bundle(fixtures_dir: Path) -> None:
    (resource,) = _load(fixtures_dir, "fhir_r4_patient_searchset_bundle_openmrs.json")
    doc = map_resource(resource, CTX)
    assert isinstance(doc, PatientDoc)
    assert doc.national_id == "10000X"
    assert doc.identifiers[0]["location_uuid"] == "58c57d25-8d39-41ab-8422-108a0c277d98"
    assert doc.addresses[0]["address1"] == "12 Univ St."
    assert doc.birth_date == "1979-01-21" and doc.deceased is False


def test_observation_bundle_fields(fixtures_dir: Path) -> None:
    resources = _load(fixtures_dir, "esm-patient-chart_Bundle_Observation_weight-height.json")
    encounter = "86512be8-e535-456f-8076-3d43c0cc6206"
    ctx = MappingContext(
        source="demo",
        hospital="Demo Hospital",
        encounters={encounter: EncounterInfo(doctor="Dr. Alice Smith", facility="Ward A")},
    )
    docs = [map_resource(r, ctx) for r in resources]
    assert len(docs) == len(resources) >= 40
    for doc, raw in zip(docs, resources, strict=True):
        assert isinstance(doc, RecordDoc)
        assert doc.type == "vital", doc.name
        assert doc.patient_uuid == "8673ee4f-e2ab-4077-ba55-4980f408773e"
        assert doc.unit in ("kg", "cm")
        assert doc.value is not None and not doc.value.endswith(".0")
        assert float(doc.value) == raw["valueQuantity"]["value"]
        assert doc.effective == raw["effectiveDateTime"]
        assert doc.status == "final"
        assert {"system": "http://loinc.org", "code": "3141-9"} in doc.codes or {
            "system": "http://loinc.org",
            "code": "8302-2",
        } in doc.codes
        assert doc.codes[0]["system"] == ""
        assert doc.data["testName"] == doc.name and doc.data["result"] == doc.value
        assert doc.data["referenceRange"][0]["type"] == "absolute"
    first = docs[0]
    assert isinstance(first, RecordDoc)
    assert (first.encounter_uuid, first.doctor, first.facility) == (
        encounter,
        "Dr. Alice Smith",
        "Ward A",
    )
    portal = passport_record(first)
    assert portal["createdBy"] == "Dr. Alice Smith" and portal["hospital"] == "Demo Hospital"
    assert portal["raw"] is resources[0] and portal["provenance"]["source"] == "demo"


def test_encounter_fields(fixtures_dir: Path) -> None:
    (resource,) = _load(fixtures_dir, "fhir2_EncounterWebTest_create.json")
    doc = map_resource(resource, CTX)
    assert isinstance(doc, RecordDoc)
    assert (doc.type, doc.name, doc.doctor, doc.facility) == (
        "visit",
        "Consultation",
        "John Doe",
        "Unknown Location",
    )
    assert doc.effective == "2005-01-01T00:00:00+05:30"
    assert (doc.doctor_uuid, doc.facility_uuid) == (
        resource["participant"][0]["individual"]["reference"].split("/")[1],
        resource["location"][0]["location"]["reference"].split("/")[1],
    )
    assert doc.encounter_uuid == "6519d653-393b-4118-9c83-a3715b82d4ac"
    assert doc.data["kind"] == "encounter"
    assert doc.data["visitDate"] == doc.effective
    assert doc.data["reason"].startswith("The patient had fever")


def test_practitioner_and_locations(fixtures_dir: Path) -> None:
    (practitioner,) = _load(fixtures_dir, "fhir2_PractitionerWebTest_create.json")
    doctor = map_resource(practitioner, CTX)
    assert isinstance(doctor, DoctorDoc)
    assert (doctor.name, doctor.identifier) == ("Dr Adam John", "4444-6")
    locations = [
        map_resource(r, CTX)
        for r in _load(fixtures_dir, "esm-core_Bundle_Location_login-summary-data.json")
    ]
    assert len(locations) == 4
    for loc in locations:
        assert isinstance(loc, LocationDoc) and loc.name
        assert "Login Location" in loc.tags and "SUBSETTED" not in loc.tags
    (created,) = _load(fixtures_dir, "fhir2_LocationWebTest_create.json")
    loc = map_resource(created, CTX)
    assert isinstance(loc, LocationDoc)
    assert loc.tags == ["mCSD_Location"] and loc.address["city"] == "kampala"
