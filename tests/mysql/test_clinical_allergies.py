"""Allergies, problems and diagnoses from the real DBUnit datasets, checked against their rows."""

from __future__ import annotations

import pytest

from tests.mysql.clinical import drain, iso, source, uuids, voided

pytestmark = pytest.mark.mysql

ALLERGIES = (
    "fhir2_FhirAllergyIntoleranceDaoImplTest_initial_data.xml",
    "fhir2_FhirAllergyIntoleranceDaoImplTest_shared_concept_data.xml",
    "core_allergyTestDataset.xml",
)
#: OpenMRS allergen type -> FHIR category (fhir2's AllergyIntoleranceCategoryTranslator).
CATEGORY = {"DRUG": ["medication"], "FOOD": ["food"], "ENVIRONMENT": ["environment"]}
#: severity level -> criticality (fhir2's AllergyIntoleranceCriticalityTranslator).
CRITICALITY = {"mild": "low", "moderate": "unable-to-assess", "severe": "high"}


def test_allergies_match_the_dataset_rows(datasets, openmrs):
    db = datasets.db(*ALLERGIES)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:allergy")
    assert failures == []
    patients = uuids(openmrs, db, "person", "person_id")
    concepts = uuids(openmrs, db, "concept", "concept_id")
    levels = {
        g["property_value"]: g["property"].rsplit(".", 1)[1]
        for g in datasets.rows(ALLERGIES[0], "global_property")
    }
    rows = [r for name in ALLERGIES for r in datasets.rows(name, "allergy")]
    reactions = [r for name in ALLERGIES for r in datasets.rows(name, "allergy_reaction")]
    assert len(found) + len(gone) == len(rows) == 13
    for row in rows:
        if voided(row):
            assert gone[row["uuid"]].resource_type == "AllergyIntolerance"
            assert row["uuid"] not in found
            continue
        res = found[row["uuid"]]
        assert res["patient"]["reference"] == f"Patient/{patients[int(row['patient_id'])]}"
        assert res["code"]["coding"][0]["code"] == concepts[int(row["coded_allergen"])]
        if row.get("non_coded_allergen"):
            assert res["code"]["text"] == row["non_coded_allergen"]
        assert res.get("category") == CATEGORY.get(row["allergen_type"])
        assert res["clinicalStatus"]["coding"][0]["code"] == "active"
        assert res["recordedDate"] == iso(row["date_created"])
        level = levels.get(concepts[int(row["severity_concept_id"])])
        assert res.get("criticality") == CRITICALITY.get(level)
        expected = [
            concepts[int(x["reaction_concept_id"])]
            for x in reactions
            if x["allergy_id"] == row["allergy_id"]
        ]
        got = [
            m["coding"][0]["code"] for m in res.get("reaction", [{}])[0].get("manifestation", [])
        ]
        assert got == expected
        if expected and level:
            assert res["reaction"][0]["severity"] == level


def test_peanut_allergies_keep_their_free_text(datasets, openmrs):
    db = datasets.db(*ALLERGIES)
    found, _, _ = drain(source(openmrs.dsn(db)), prefix="mysql:allergy")
    texts = sorted(
        r["code"]["text"] for r in found.values() if r["code"].get("text", "").startswith("Peanut")
    )
    assert texts == ["Peanut butter", "Peanut oil"]


def test_point_lookups_of_clinical_types(datasets, openmrs):
    db = datasets.db(*ALLERGIES)
    src = source(openmrs.dsn(db))
    rows = datasets.rows(ALLERGIES[0], "allergy")
    live = next(r["uuid"] for r in rows if not voided(r))
    dead = next(r["uuid"] for r in rows if voided(r))
    result = src.fetch("AllergyIntolerance", [live, dead, "no-such-allergy"])
    assert list(result.found) == [live]
    assert result.found[live]["resourceType"] == "AllergyIntolerance"
    assert sorted((g.uuid, g.reason) for g in result.gone) == sorted(
        [(dead, "voided"), ("no-such-allergy", "deleted")]
    )
    order = "2662e6c2-697b-11e3-bd76-0800271c1b75"  # the standard dataset's drug order 222
    assert list(src.fetch("MedicationRequest", [order]).found) == [order]
    src.close()
