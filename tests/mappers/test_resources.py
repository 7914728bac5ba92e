"""Table-driven unit tests per resource type and value type, over fhir2-shaped plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from mappers import (
    DoctorDoc,
    EncounterInfo,
    LocationDoc,
    MappingContext,
    PatientDoc,
    RecordDoc,
    categorise,
    encounter_info,
    map_resource,
    passport_record,
)

CTX = MappingContext(source="central", hospital="Central Hospital")
CIEL = "https://openconceptlab.org/orgs/CIEL/sources/CIEL"
TAG = "http://fhir.openmrs.org/ext/encounter-tag"


def obs(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"code": "1AAA", "display": "Thing"}], "text": "Thing"},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "effectiveDateTime": "2025-01-02T10:00:00+00:00",
    }
    base.update(fields)
    return base


def record(resource: dict[str, Any], ctx: MappingContext = CTX) -> RecordDoc:
    doc = map_resource(resource, ctx)
    assert isinstance(doc, RecordDoc)
    return doc


@pytest.mark.parametrize(
    ("value", "expected_value", "expected_unit"),
    [
        ({"valueQuantity": {"value": 75.0, "unit": "kg"}}, "75", "kg"),
        ({"valueQuantity": {"value": 36.6, "unit": "DEG C"}}, "36.6", "DEG C"),
        ({"valueQuantity": {"value": 5, "unit": "mmol/L", "comparator": "<"}}, "<5", "mmol/L"),
        ({"valueCodeableConcept": {"coding": [{"code": "u", "display": "Pos"}]}}, "Pos", None),
        ({"valueCodeableConcept": {"text": "Malaria", "coding": [{"code": "u"}]}}, "Malaria", None),
        ({"valueString": "Looks well"}, "Looks well", None),
        ({"valueDateTime": "2024-05-01T00:00:00+03:00"}, "2024-05-01T00:00:00+03:00", None),
        ({"valueBoolean": True}, "yes", None),
        ({"valueBoolean": False}, "no", None),
        ({}, None, None),
    ],
    ids=["qty-int", "qty-dec", "qty-cmp", "coded", "coded-text", "string", "datetime", "true",
         "false", "none"],
)  # fmt: skip
def test_observation_values(
    value: dict[str, Any], expected_value: str | None, expected_unit: str | None
) -> None:
    doc = record(obs(**value))
    assert (doc.value, doc.unit) == (expected_value, expected_unit)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("final", "final"),
        ("preliminary", "preliminary"),
        ("amended", "amended"),
        ("unknown", "final"),
        ("entered-in-error", "entered-in-error"),
        (None, "final"),
    ],
)
def test_observation_status(status: str | None, expected: str) -> None:
    assert record(obs(status=status)).status == expected


def test_obs_group_ignores_concatenated_value() -> None:
    group = obs(
        code={"text": "Vital signs construct"},
        valueString="120, 80",
        hasMember=[{"reference": "Observation/m1"}, {"reference": "Observation/m2"}],
    )
    doc = record(group)
    assert doc.members == ["m1", "m2"]
    assert doc.value is None


def test_codes_interpretation_and_reference_range() -> None:
    doc = record(
        obs(
            code={
                "coding": [
                    {"code": "5085AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "display": "Systolic"},
                    {"system": CIEL, "code": "5085"},
                    {"system": "http://loinc.org", "code": "8480-6"},
                    {"system": "http://snomed.info/sct", "code": "271649006"},
                ]
            },
            valueQuantity={"value": 150.0, "unit": "mmHg"},
            interpretation=[{"coding": [{"code": "H", "display": "High"}]}],
            referenceRange=[
                {"low": {"value": 90.0}, "high": {"value": 120.0},
                 "type": {"coding": [{"code": "normal"}]}},
            ],
        )
    )  # fmt: skip
    assert doc.name == "Systolic" and doc.type == "vital"
    assert [c["system"] for c in doc.codes] == [
        "",
        CIEL,
        "http://loinc.org",
        "http://snomed.info/sct",
    ]
    assert doc.data["interpretation"] == ["H"]
    assert doc.data["referenceRange"] == [{"low": 90.0, "high": 120.0, "type": "normal"}]
    assert doc.data["testName"] == "Systolic" and doc.data["result"] == "150"


@pytest.mark.parametrize(
    ("fields", "kind", "data"),
    [
        (
            {"code": {"text": "Problem added", "coding": [{"system": CIEL, "code": "6042"}]},
             "valueCodeableConcept": {"text": "Malaria"}},
            "condition",
            {"name": "Malaria", "details": "Problem added",
             "diagnosed": "2025-01-02T10:00:00+00:00"},
        ),
        (
            {"code": {"text": "Current medication"}, "valueCodeableConcept": {"text": "Aspirin"}},
            "medication",
            {"medicationName": "Aspirin", "dosage": None},
        ),
        (
            {"code": {"text": "Lab: malaria smear"}, "valueString": "negative"},
            "test",
            {"testName": "Lab: malaria smear", "result": "negative", "unit": None},
        ),
        (
            {"code": {"text": "Admission reason"}, "valueString": "fever"},
            "visit",
            {"hospital": "Central Hospital", "reason": "fever",
             "visitDate": "2025-01-02T10:00:00+00:00", "facility": None},
        ),
        (
            {"code": {"text": "Civil status"}, "valueString": "married"},
            "other",
            {"name": "Civil status", "details": "married"},
        ),
    ],
    ids=["condition", "medication", "test", "visit", "other"],
)  # fmt: skip
def test_portal_projection(fields: dict[str, Any], kind: str, data: dict[str, Any]) -> None:
    doc = record(obs(**fields))
    assert doc.type == kind
    assert doc.data == data
    assert passport_record(doc)["data"] == data


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("Anything", {"categories": ["vital-signs"]}, "vital"),
        ("CD4", {"categories": ["laboratory"]}, "test"),
        ("Weight", {"categories": ["laboratory"]}, "vital"),
        ("X", {"codes": [{"system": "http://loinc.org", "code": "29463-7"}]}, "vital"),
        ("X", {"codes": [{"system": "urn:oid:2.16.840.1.113883.3.7201", "code": "5089"}]}, "vital"),
        ("Malaria", {"concept_class": "Diagnosis"}, "condition"),
        ("Lab drug level", {"concept_class": "Drug"}, "medication"),
        ("Viral load", {"concept_class": "LabSet"}, "test"),
        ("X", {"codes": [{"system": CIEL, "code": "1284"}]}, "condition"),
        ("Chronic disease", {}, "condition"),
        ("Prescriptions given", {}, "medication"),
        ("CT scan", {}, "test"),
        ("Encounter note", {}, "visit"),
        ("Civil status", {}, "other"),
        ("Labour onset", {}, "other"),
        ("Symptom", {"concept_class": "Finding"}, "other"),
    ],
)  # fmt: skip
def test_categorise_table(name: str, kwargs: dict[str, Any], expected: str) -> None:
    assert categorise(name, **kwargs) == expected


def patient(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    base.update(fields)
    return base


def test_patient_identity_and_demographics() -> None:
    resource = patient(
        identifier=[
            {"use": "usual", "value": "OLD-1", "type": {"text": "Old ID"}},
            {
                "use": "official",
                "value": "1199 8800-7",
                "system": "urn:ke:nid",
                "type": {"coding": [{"code": "t-uuid-1"}], "text": "National ID"},
                "extension": [
                    {
                        "url": "http://fhir.openmrs.org/ext/patient/identifier#location",
                        "valueReference": {"reference": "Location/l1"},
                    }
                ],
            },
        ],
        name=[
            {
                "given": ["Amina", "Wanjiru"],
                "family": "Otieno",
                "extension": [
                    {
                        "url": "http://fhir.openmrs.org/ext/name",
                        "extension": [
                            {"url": "http://fhir.openmrs.org/ext/name#prefix", "valueString": "Ms"}
                        ],
                    }
                ],
            }
        ],
        gender="female",
        birthDate="1975",
        deceasedDateTime="2024-03-01T00:00:00+03:00",
        address=[
            {
                "use": "home",
                "city": "Kisumu",
                "extension": [
                    {
                        "url": "http://fhir.openmrs.org/ext/address",
                        "extension": [
                            {
                                "url": "http://fhir.openmrs.org/ext/address#address3",
                                "valueString": "Ward 9",
                            }
                        ],
                    }
                ],
            }
        ],
    )
    doc = map_resource(resource, CTX)
    assert isinstance(doc, PatientDoc)
    assert doc.identifiers[0]["value"] == "1199 8800-7"  # preferred first
    assert doc.identifiers[0]["location_uuid"] == "l1"
    assert doc.national_id == "119988007"
    assert (doc.name, doc.given, doc.family) == (
        "Amina Wanjiru Otieno",
        ["Amina", "Wanjiru"],
        "Otieno",
    )
    assert doc.names[0]["middle"] == "Wanjiru" and doc.names[0]["prefix"] == "Ms"
    assert (doc.birth_date, doc.birth_date_precision) == ("1975", "year")
    assert doc.deceased == "2024-03-01T00:00:00+03:00"
    assert doc.addresses[0]["address3"] == "Ward 9"


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (("National ID",), "NID9"),
        (("national id",), "NID9"),
        (("urn:ke:nid",), "NID9"),
        (("T-UUID-1",), "NID9"),
        (("Passport", "Old ID"), "OLD1"),
        (("Passport",), None),
    ],
)
def test_national_id_by_type_system_or_uuid(types: tuple[str, ...], expected: str | None) -> None:
    resource = patient(
        identifier=[
            {"value": "old-1", "type": {"text": "Old ID"}},
            {"value": "nid 9", "system": "urn:ke:nid",
             "type": {"text": "National ID", "coding": [{"code": "t-uuid-1"}]}},
        ]
    )  # fmt: skip
    doc = map_resource(resource, MappingContext(source="s", identifier_types=types))
    assert isinstance(doc, PatientDoc)
    assert doc.national_id == expected


@pytest.mark.parametrize(
    ("tag", "type_system", "kind", "name"),
    [
        ("visit", "http://fhir.openmrs.org/code-system/visit-type", "visit", "Visit"),
        ("encounter", "http://fhir.openmrs.org/code-system/encounter-type", "encounter", "Vitals"),
        (None, "http://fhir.openmrs.org/code-system/visit-type", "visit", "Visit"),
    ],
)
def test_encounters_and_visits(tag: str | None, type_system: str, kind: str, name: str) -> None:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "unknown",
        "type": [{"coding": [{"system": type_system, "code": "x", "display": "Vitals"}]}],
        "subject": {"reference": "Patient/p1"},
        "participant": [{"individual": {"display": "Jane Roe (Identifier: P-7)"}}],
        "location": [{"location": {"reference": "Location/l1", "display": "Ward A"}}],
        "period": {"start": "2025-01-02T09:00:00+00:00"},
        "partOf": {"reference": "Encounter/v1"},
    }
    if tag:
        resource["meta"] = {"tag": [{"system": TAG, "code": tag}]}
    doc = record(resource)
    assert (doc.type, doc.name, doc.data["kind"]) == ("visit", name, kind)
    assert (doc.doctor, doc.facility, doc.effective) == (
        "Jane Roe",
        "Ward A",
        "2025-01-02T09:00:00+00:00",
    )
    assert doc.encounter_uuid == "v1" and doc.status == "final"
    assert doc.data["hospital"] == "Central Hospital"
    assert encounter_info(resource) == EncounterInfo(
        "Jane Roe", "Ward A", "2025-01-02T09:00:00+00:00", "v1", facility_uuid="l1"
    )
    assert (doc.doctor_uuid, doc.facility_uuid) == (None, "l1")  # no Practitioner reference


@pytest.mark.parametrize(
    ("identifier", "kept"),
    [
        ([{"system": "http://fhir.openmrs.org/ext/provider/identifier", "value": "P-7"}], True),
        ([{"system": "http://fhir.openmrs.org/ext/user/identifier", "value": "admin"}], False),
        ({"value": "4444-6"}, True),
    ],
    ids=["provider", "bare-user", "no-system"],
)
def test_practitioners(identifier: Any, kept: bool) -> None:
    resource = {"resourceType": "Practitioner", "id": "u1", "identifier": identifier,
                "name": [{"given": ["Jane"], "family": "Roe"}]}  # fmt: skip
    doc = map_resource(resource, CTX)
    assert (doc is not None) == kept
    if kept:
        assert isinstance(doc, DoctorDoc) and doc.name == "Jane Roe"


def test_location_hierarchy_and_tags() -> None:
    resource = {
        "resourceType": "Location",
        "id": "ward-a",
        "name": "Ward A",
        "partOf": {"reference": "Location/hospital-1"},
        "meta": {"tag": [{"system": "http://fhir.openmrs.org/ext/location-tag",
                          "code": "Login Location"}]},
        "address": {"city": "Kisumu", "extension": [
            {"url": "http://fhir.openmrs.org/ext/address#address1", "valueString": "Block C"}]},
    }  # fmt: skip
    doc = map_resource(resource, CTX)
    assert isinstance(doc, LocationDoc)
    assert (doc.part_of, doc.tags) == ("hospital-1", ["Login Location"])
    assert doc.address == {"city": "Kisumu", "address1": "Block C"}


def test_strict_and_tolerant_paths_agree() -> None:
    """Validation changes what is refused, not what is kept (its cost is a bench figure)."""
    resource = obs(valueQuantity={"value": 75.0, "unit": "kg"})
    strict = map_resource(resource, MappingContext(source="s", validate=True))
    tolerant = map_resource(resource, MappingContext(source="s"))
    assert isinstance(strict, RecordDoc) and strict == tolerant
    assert (strict.value, strict.unit, strict.warnings) == ("75", "kg", [])
