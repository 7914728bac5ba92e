"""Problem lists and encounter diagnoses from the real DBUnit datasets, checked against their
rows; the 1.9 active list (allergies and problems in one table) too."""

from __future__ import annotations

import pytest

from tests.mysql.clinical import drain, iso, source, uuids, voided

pytestmark = pytest.mark.mysql

#: OpenMRS ConditionClinicalStatus -> the FHIR condition-clinical code of the same meaning.
CLINICAL = {
    "ACTIVE": "active",
    "INACTIVE": "inactive",
    "HISTORY_OF": "inactive",
    "RECURRENCE": "recurrence",
    "RELAPSE": "relapse",
    "REMISSION": "remission",
    "RESOLVED": "resolved",
}


@pytest.mark.parametrize(
    "dataset",
    [
        "fhir2_FhirConditionDaoImplTest_initial_data.xml",
        "core_HibernateConditionDAOTestDataSet.xml",
    ],
)
def test_problem_list_matches_the_dataset_rows(datasets, openmrs, dataset):
    db = datasets.db(dataset)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:condition")
    assert failures == []
    patients = uuids(openmrs, db, "person", "person_id")
    concepts = uuids(openmrs, db, "concept", "concept_id")
    rows = datasets.rows(dataset, "conditions")
    assert len(found) + len(gone) == len(rows) > 0
    statuses = set()
    for row in rows:
        if voided(row):
            assert gone[row["uuid"]].resource_type == "Condition"
            continue
        res = found[row["uuid"]]
        assert res["subject"]["reference"] == f"Patient/{patients[int(row['patient_id'])]}"
        assert res["category"][0]["coding"][0]["code"] == "problem-list-item"
        status = res["clinicalStatus"]["coding"][0]["code"]
        assert status == CLINICAL[row["clinical_status"]]
        statuses.add(status)
        if row.get("verification_status"):
            assert res["verificationStatus"]["coding"][0]["code"] == (
                row["verification_status"].lower()
            )
        assert res.get("onsetDateTime") == iso(row.get("onset_date"))
        assert res.get("abatementDateTime") == iso(row.get("end_date"))
        if row.get("condition_coded"):
            assert res["code"]["coding"][0]["code"] == concepts[int(row["condition_coded"])]
        else:
            assert "code" not in res  # the dataset's uncoded rows have no name at all
    assert "active" in statuses


@pytest.mark.parametrize(
    "dataset",
    [
        "fhir2_FhirDiagnosisDaoImplTest_initial_dataset.xml",
        "core_HibernateDiagnosisDAOTestDataset.xml",
        "core_EncounterServiceTest-initialData.xml",
    ],
)
def test_encounter_diagnoses_match_the_dataset_rows(datasets, openmrs, dataset):
    db = datasets.db(dataset)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:diagnosis")
    assert failures == []
    encounters = uuids(openmrs, db, "encounter", "encounter_id")
    concepts = uuids(openmrs, db, "concept", "concept_id")
    rows = datasets.rows(dataset, "encounter_diagnosis")
    assert len(found) + len(gone) == len(rows) > 0
    for row in rows:
        if voided(row):
            assert gone[row["uuid"]].resource_type == "Condition"
            continue
        res = found[row["uuid"]]
        assert res["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
        assert res["encounter"]["reference"] == (
            f"Encounter/{encounters[int(row['encounter_id'].strip())]}"
        )
        assert res["verificationStatus"]["coding"][0]["code"] == row["certainty"].lower()
        rank = [e["valueInteger"] for e in res["extension"] if e["url"].endswith("diagnosis-rank")]
        assert rank == [int(row["dx_rank"])]
        if row.get("diagnosis_coded"):
            assert res["code"]["coding"][0]["code"] == concepts[int(row["diagnosis_coded"])]
        if row.get("diagnosis_non_coded"):
            assert res["code"]["text"] == row["diagnosis_non_coded"]


def test_the_19_active_list_gives_allergies_and_problems(datasets, openmrs):
    db = datasets.db("core_ActiveListTest.xml", legacy_19=True)
    found, gone, failures = drain(source(openmrs.dsn(db)))
    assert failures == []
    assert not [g for g in gone.values() if g.resource_type in ("AllergyIntolerance", "Condition")]
    concepts = uuids(openmrs, db, "concept", "concept_id")
    patients = uuids(openmrs, db, "person", "person_id")
    rows = {
        int(r["active_list_id"]): r for r in datasets.rows("core_ActiveListTest.xml", "active_list")
    }
    allergy = found[rows[1]["uuid"]]  # active_list_allergy: POLLEN, MILD
    assert allergy["resourceType"] == "AllergyIntolerance"
    assert allergy["category"] == ["environment"]
    assert allergy["criticality"] == "low"
    assert allergy["code"]["coding"][0]["code"] == concepts[int(rows[1]["concept_id"])]
    assert allergy["patient"]["reference"] == f"Patient/{patients[int(rows[1]['person_id'])]}"
    assert allergy["onsetDateTime"] == iso(rows[1]["start_date"])
    problem = found[rows[2]["uuid"]]  # active_list_problem, no end date: active
    assert problem["resourceType"] == "Condition"
    assert problem["clinicalStatus"]["coding"][0]["code"] == "active"
    assert problem["code"]["coding"][0]["code"] == concepts[int(rows[2]["concept_id"])]
    assert problem["onsetDateTime"] == iso(rows[2]["start_date"])
