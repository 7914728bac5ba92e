"""The whole history through REST: conditions, encounter diagnoses, drug and test orders and
dispenses, by the feed and by ``sync-patient``, against the simulator's own rows.

Expected values come from the simulator (``history_truth``: its rows, which orders a revise or
discontinue superseded, which rows are voided) or, for the mapper tests, are written by hand
from webservices.rest's representations (``ConditionResource2_2``, ``DiagnosisResource2_2``,
``MedicationDispenseResource2_6``): the shared fixtures hold no REST payload of these resources.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mappers.documents import INVALID_STATUSES
from mappers.openmrs_rest import RestShapeError
from mappers.openmrs_rest_history import (
    condition_from_rest,
    diagnosis_from_rest,
    dispense_from_rest,
)
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.simulator._rest import configure
from sync2.store import open_store
from tests.conftest import passport_rows
from tests.e2e.test_history import _check_fields

FEEDS = [
    "allergy",
    "location",
    "patient",
    "visit",
    "encounter",
    "observation",
    "condition",
    "diagnosis",
    "drug_order",
    "test_order",
    "medication_dispense",
]
TYPES = (
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "ServiceRequest",
    "MedicationDispense",
)


@pytest.fixture
def server() -> Iterator[Any]:
    hospitals = generate_hospitals(n=1, patients=10, obs_per_patient=2, seed=5)
    configure(hospitals[0], feed_dialect="classic", fhir=False)
    with serve_hospitals(hospitals) as running:
        yield running[0]


@pytest.fixture
def passport(server: Any, tmp_path: Path) -> Iterator[tuple[Any, Any, Pipeline]]:
    config = config_for_servers([server], f"sqlite:///{tmp_path / 'p.db'}")
    update = {"kind": "openmrs-rest", "feeds": FEEDS}
    config.sources[0] = config.sources[0].model_copy(update=update)
    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store)
    yield config, store, pipeline
    pipeline.close()
    store.close()


def _assert_matches(store: Any, hospital: Any, patient: str | None = None) -> int:
    """Every row of TYPES (of one patient, if named) is in the passport as the simulator holds
    it; returns how many live rows were checked. REST has no lab reports, so a test order a
    report superseded stays valid here."""
    checked = 0
    truth = hospital.history_truth()
    reports = set(truth["DiagnosticReport"])
    for rtype in TYPES:
        rows = {u: t for u, t in truth[rtype].items() if patient in (None, t["row"].patient.uuid)}
        stored = store.get_records(hospital.id, rtype, list(rows))
        for uuid, want in rows.items():
            got, where = stored.get(uuid), f"{rtype}/{uuid}"
            if want["row"].voided:
                assert got is None or got["status"] in INVALID_STATUSES, where
                continue
            successor = want["superseded_by"]
            successor = None if successor in reports else successor
            assert got is not None, f"{where} missing"
            assert (got["status"] not in INVALID_STATUSES) == (successor is None), where
            assert got.get("superseded_by") == successor, where
            row = want["row"]
            if rtype == "Condition" and row.rank is not None:
                _check_diagnosis(got, row, where)
            else:
                _check_fields(got, row, where)
            checked += 1
    return checked


def _check_diagnosis(got: dict[str, Any], row: Any, where: str) -> None:
    """fhir2's DiagnosisTranslatorImpl (the version with FhirConstants' rank URI) gives an
    encounter diagnosis the clinical status ``unknown`` (an earlier one said active/inactive by
    ``voided``); the simulator's fhir2 rendering copies the row's status, so it is checked
    apart."""
    assert (got["doctor"], got["facility"]) == (
        row.provider.full_name,
        row.encounter.location.name,
    ), where
    assert (got["type"], got["data"]["name"]) == ("condition", row.diagnosis), where
    assert got["data"]["clinicalStatus"] == "unknown", where


def test_the_history_arrives_by_the_classic_feed_and_changes_propagate(
    server: Any, passport: tuple[Any, Any, Pipeline]
) -> None:
    config, store, pipeline = passport
    h = server.hospital
    assert all(s.ok for s in pipeline.sync_all())
    assert store.list_failed(source=h.id) == []
    truth = h.history_truth()
    assert all(truth[t] for t in TYPES), "the generated history holds every type"
    assert _assert_matches(store, h) > 10

    problems = [
        u
        for u, t in truth["Condition"].items()
        if t["valid"] and t["row"].rank is None and t["row"].status == "active"
    ]
    diagnoses = [u for u, t in truth["Condition"].items() if t["valid"] and t["row"].rank]
    live = [
        u
        for u, t in truth["MedicationRequest"].items()
        if t["valid"] and t["row"].action == "NEW" and t["row"].stopped is None
    ]
    allergies = [u for u, t in truth["AllergyIntolerance"].items() if t["valid"]]
    assert len(problems) >= 2 and diagnoses and live and len(allergies) >= 2
    h.edit_allergy(allergies[0], severity="severe", comment="worse on re-exposure")
    h.void_record("AllergyIntolerance", allergies[1])
    h.resolve_condition(problems[0])
    h.void_record("Condition", problems[1])
    h.void_record("Condition", diagnoses[0])
    revised = h.revise_order(live[0], dose=3)
    handed = h.dispense(revised, quantity=12)
    assert all(s.ok for s in pipeline.sync_all())
    assert _assert_matches(store, h) > 10
    got = store.get_records(h.id, "Condition", [problems[0], problems[1], diagnoses[0]])
    assert got[problems[0]]["data"]["clinicalStatus"] == "inactive"
    assert got[problems[1]]["status"] == got[diagnoses[0]]["status"] == "entered-in-error"
    got = store.get_records(h.id, "AllergyIntolerance", allergies[:2])
    assert got[allergies[0]]["data"]["severity"] == "severe"
    assert got[allergies[1]]["status"] == "entered-in-error"
    orders = store.get_records(h.id, "MedicationRequest", [live[0]])
    assert orders[live[0]]["superseded_by"] == revised
    assert handed in {d["uuid"] for d in store.find_records(h.id, "MedicationDispense")}

    before = passport_rows(store, config)
    again = pipeline.sync_all()
    assert all(s.ok for s in again) and sum(s.written for s in again) == 0
    assert passport_rows(store, config) == before


def test_sync_patient_reads_the_patients_whole_history_by_search(
    server: Any, passport: tuple[Any, Any, Pipeline]
) -> None:
    _config, store, pipeline = passport
    h = server.hospital
    truth = h.history_truth()
    owners = [t["row"].patient for t in truth["MedicationRequest"].values() if t["valid"]]
    patient = next(
        p
        for p in owners
        if p.national_id
        and any(t["row"].patient is p for t in truth["Condition"].values() if t["valid"])
    )
    stopped = [
        u
        for u, t in truth["MedicationRequest"].items()
        if t["row"].patient is patient and t["row"].stopped is not None
    ]
    pipeline.sync_patient(patient.national_id, actor="test")
    assert _assert_matches(store, h, patient.uuid) >= 2
    if stopped:  # stopped orders come too: the search asks for status=any per care setting
        assert set(stopped) <= set(store.get_records(h.id, "MedicationRequest", stopped))


# -- mappers, against webservices.rest's representations ----------------------------------------
CIEL_MALARIA = "116128AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
PATIENT = {"uuid": "8f2c5a2e-41d5-4b7b-9d3a-0c3b7f1a9e11", "display": "100-2 - Jo Doe"}
CREATOR = {"uuid": "a1b2c3d4-0000-4000-8000-000000000001", "display": "admin"}


def _concept(uuid: str, name: str, *maps: str) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "display": name,
        "name": {"display": name},
        "mappings": [{"display": m} for m in maps],
    }


def test_a_coded_condition_with_onset_end_and_its_recorder() -> None:
    body = {
        "uuid": "c0ffee00-0000-4000-8000-000000000001",
        "display": "Malaria",
        "condition": {"coded": _concept(CIEL_MALARIA, "Malaria", "CIEL: 116128")},
        "patient": PATIENT,
        "clinicalStatus": "RESOLVED",
        "verificationStatus": "PROVISIONAL",
        "onsetDate": "2024-03-01T10:00:00.000+0300",
        "endDate": "2024-03-20T00:00:00.000+0000",
        "additionalDetail": "treated",
        "voided": False,
        "auditInfo": {"creator": CREATOR, "dateCreated": "2024-03-02T08:00:00.000+0000"},
    }
    c = condition_from_rest(body, {CREATOR["uuid"]: "Ada Obi"})
    assert c["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert c["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert [x["code"] for x in c["code"]["coding"]] == [CIEL_MALARIA, "116128"]
    assert c["onsetDateTime"] == "2024-03-01T07:00:00+00:00"  # +0300 read as UTC
    assert c["abatementDateTime"] == "2024-03-20T00:00:00+00:00"
    assert c["recorder"]["display"] == "Ada Obi"
    assert c["subject"]["reference"] == f"Patient/{PATIENT['uuid']}"
    assert c["note"] == [{"text": "treated"}]


def test_a_non_coded_condition_keeps_its_text_and_a_ref_is_refused() -> None:
    body = {
        "uuid": "c0ffee00-0000-4000-8000-000000000002",
        "condition": {"nonCoded": "Sickle cell trait"},
        "patient": PATIENT,
        "clinicalStatus": "ACTIVE",
        "auditInfo": {"creator": CREATOR},
    }
    c = condition_from_rest(body)
    assert c["code"]["text"] == "Sickle cell trait"
    assert c["recorder"]["display"] == "admin"  # no person name known: the username
    with pytest.raises(RestShapeError, match="names no patient"):
        condition_from_rest({"uuid": body["uuid"], "display": "x", "links": []})


def test_a_diagnosis_takes_its_encounter_time_certainty_and_rank() -> None:
    body = {
        "uuid": "d1a90000-0000-4000-8000-000000000003",
        "diagnosis": {"coded": _concept(CIEL_MALARIA, "Malaria", "CIEL: 116128")},
        "patient": PATIENT,
        "encounter": {
            "uuid": "e0c00000-0000-4000-8000-000000000004",
            "encounterDatetime": "2024-05-05T09:30:00.000+0000",
        },
        "certainty": "CONFIRMED",
        "rank": 2,
        "voided": False,
    }
    d = diagnosis_from_rest(body)
    assert d["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert d["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert d["recordedDate"] == "2024-05-05T09:30:00+00:00"
    assert d["encounter"]["reference"] == "Encounter/e0c00000-0000-4000-8000-000000000004"
    assert {"url": d["extension"][0]["url"], "valueInteger": 2} == d["extension"][0]


def test_a_dispense_reads_its_hl7_status_mapping_and_prescription() -> None:
    order = "0dde0000-0000-4000-8000-000000000005"
    body = {
        "uuid": "d15e0000-0000-4000-8000-000000000006",
        "patient": PATIENT,
        "drug": {"uuid": "d0000000-0000-4000-8000-000000000007", "display": "Aspirin 75mg"},
        "drugOrder": {"uuid": order, "display": "(NEW) Aspirin 75mg"},
        "status": _concept("5a70000-x", "Completed", "HL7 Medication Dispense Status: completed"),
        "dispenser": {"uuid": "9000000-p", "display": "P-1 - Ada Obi"},
        "quantity": 30,
        "quantityUnits": _concept("u1", "Tablet"),
        "dateHandedOver": "2024-06-01T12:00:00.000+0000",
        "voided": False,
    }
    d = dispense_from_rest(body)
    assert d["status"] == "completed"
    assert d["authorizingPrescription"] == [
        {"reference": f"MedicationRequest/{order}", "type": "MedicationRequest"}
    ]
    assert d["medicationReference"]["display"] == "Aspirin 75mg"
    assert d["quantity"]["value"] == 30 and d["quantity"]["unit"] == "Tablet"
    assert d["performer"][0]["actor"]["display"] == "Ada Obi"
    assert d["whenHandedOver"] == "2024-06-01T12:00:00+00:00"
    unmapped = {**body, "status": _concept("5a70000-y", "Completed", "CIEL: 1")}
    assert dispense_from_rest(unmapped)["status"] == "unknown"  # fhir2 reads only the mapping


def test_a_window_of_one_patients_conditions_costs_a_read_and_a_search(
    server: Any, passport: tuple[Any, Any, Pipeline]
) -> None:
    _config, store, pipeline = passport
    h = server.hospital
    assert all(s.ok for s in pipeline.sync_all())
    before = server.stats["rest_get:condition"]
    patient = h.valid_resources("Patient")[0]["id"]
    added = [
        h.add_condition(patient, d) for d in ("Malaria", "Asthma", "Pneumonia", "Tuberculosis")
    ]
    assert all(s.ok for s in pipeline.sync_all())
    assert set(added) <= set(store.get_records(h.id, "Condition", added))
    assert server.stats["rest_get:condition"] - before == 2  # not 4: the search brings 3
