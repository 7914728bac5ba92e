"""Allergies and orders from real REST payloads, as mapped objects and read over HTTP.

Expected values are read off the fixture files by hand. The HTTP tests serve a real payload
from the simulator's REST endpoint (``corrupt`` serves any body verbatim) and read it through
the REST source, as a feed entry would make it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mappers.openmrs_rest import RestShapeError
from mappers.openmrs_rest_clinical import allergy_from_rest, order_from_rest
from sync2.config import SourceConfig
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.simulator._rest import configure, corrupt
from sync2.sources.atomfeed import FeedEntry, read_entry
from sync2.sources.openmrs_rest import OpenMRSRestSource

NOW = datetime(2026, 1, 1)


def _load(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / "rest" / name).read_text(encoding="utf-8"))


def test_allergy_in_default_rep(fixtures_dir: Path) -> None:
    allergy = allergy_from_rest(
        _load(fixtures_dir, "esm-patient-chart_allergy_default.json"), now=NOW
    )
    assert allergy["id"] == "dbba59ef-c8a5-4967-b20a-5761b1954f6d"
    assert allergy["patient"]["reference"] == "Patient/011cffa0-7383-45ef-962c-d1976718b8d4"
    assert allergy["category"] == ["medication"]
    assert allergy["code"]["coding"][0]["code"] == "162298AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert allergy["criticality"] == "low"  # severity Mild
    [reaction] = allergy["reaction"]
    assert [m["text"] for m in reaction["manifestation"]] == ["Cough"]


def test_allergy_list_entry_with_empty_noncoded_allergen_and_comment(fixtures_dir: Path) -> None:
    body = _load(fixtures_dir, "rest-api-docs_allergy_list.json")["results"][0]
    allergy = allergy_from_rest(body, now=NOW)
    assert allergy["code"]["text"] == "ACE inhibitors"  # "" is no free-text allergen
    assert allergy["criticality"] == "high"  # Severe
    assert allergy["note"] == [{"text": "take precautions can cause problems"}]
    names = [m["text"] for m in allergy["reaction"][0]["manifestation"]]
    assert names == ["Unknown", "Headache", "Hepatotoxicity"]


def test_o3_orders_one_drug_four_tests(fixtures_dir: Path) -> None:
    orders = [
        order_from_rest(o, now=NOW)
        for o in _load(fixtures_dir, "esm-patient-chart_orders_full.json")
    ]
    assert [o["resourceType"] for o in orders] == ["MedicationRequest"] + ["ServiceRequest"] * 4
    drug = orders[0]
    assert drug["status"] == "stopped"  # autoExpireDate 2024-11-23 has passed
    assert drug["medicationReference"]["reference"] == (
        "Medication/637499ff-1c54-4722-ba57-3e41b3d22a49"
    )
    dose = drug["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["unit"], dose["code"]) == (1, "Ampule(s)", "413516001")
    assert drug["reasonCode"] == [{"text": "hyper tension"}]
    assert drug["requester"]["display"] == "Super User"  # orderer "admin - Super User"
    assert [o["code"]["text"] for o in orders[1:]] == [
        "Serum chloride",
        "Serum calcium",
        "Serum glucose",
        "Serum glucose (mmol)",
    ]
    assert {o["status"] for o in orders[1:]} == {"active"}


def test_bahmni_flexible_drug_orders_read_their_json_instructions(fixtures_dir: Path) -> None:
    encounter = _load(fixtures_dir, "avni-bahmni_encounter_full_drugorders.json")
    orders = [order_from_rest(o, now=NOW) for o in encounter["orders"]]
    assert [o["medicationReference"]["display"] for o in orders] == [
        "Aspirin 75Mg",
        "Betamethasone crème",
        "Salbutamol 2Mg",
        "Cetirizine  10Mg",
        "Atorvastatin 10Mg",
    ]
    assert {o["dosageInstruction"][0]["text"] for o in orders} == {"As directed"}
    assert orders[0]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 1.5


def test_bahmni_plain_order_typed_lab_orders_are_service_requests(fixtures_dir: Path) -> None:
    encounter = _load(fixtures_dir, "avni-bahmni_encounter_full_voided_orders.json")
    kinds = [order_from_rest(o, now=NOW)["resourceType"] for o in encounter["orders"]]
    assert sorted(kinds) == ["MedicationRequest", "ServiceRequest", "ServiceRequest"]


def test_order_search_result_in_default_rep(fixtures_dir: Path) -> None:
    body = _load(fixtures_dir, "rest-api-docs_order_search_next.json")["results"][0]
    order = order_from_rest(body, now=NOW)
    assert (order["resourceType"], order["code"]["text"]) == ("ServiceRequest", "Pulse")


def test_order_refs_are_refused_naming_the_order(fixtures_dir: Path) -> None:
    refs = _load(fixtures_dir, "avni-bahmni_encounter_default_drugorders.json")["orders"]
    with pytest.raises(RestShapeError, match=refs[1]["uuid"]):
        order_from_rest(refs[1], now=NOW)


def test_bahmni_encounter_transactions_are_not_rest_resources(fixtures_dir: Path) -> None:
    """Bahmni's EncounterTransaction is not a /ws/rest/v1 shape: refused, not misread."""
    from mappers.openmrs_rest import encounter_from_rest

    for name in (
        "bahmniapps_bahmniencounter_obs.json",
        "openerp-atomfeed_bahmniencounter_orders.json",
    ):
        with pytest.raises(RestShapeError, match="no uuid"):
            encounter_from_rest(_load(fixtures_dir, name))


# -- over HTTP ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rest_server() -> Iterator[Any]:
    hospitals = generate_hospitals(n=1, patients=2, obs_per_patient=2, seed=4)
    configure(hospitals[0], feed_dialect="classic", fhir=False)
    with serve_hospitals(hospitals) as running:
        yield running[0]


@pytest.fixture
def source(rest_server: Any) -> Iterator[OpenMRSRestSource]:
    config = SourceConfig(  # type: ignore[call-arg]
        id="rest",
        name="REST",
        kind="openmrs-rest",
        base_url=rest_server.url,
        username=rest_server.username,
        password=rest_server.password,
    )
    src = OpenMRSRestSource(config)
    yield src
    src.close()


def test_a_drug_order_is_read_by_uuid_over_http(
    fixtures_dir: Path, rest_server: Any, source: OpenMRSRestSource
) -> None:
    body = _load(fixtures_dir, "esm-patient-chart_orders_full.json")[0]
    corrupt(rest_server.hospital, f"order/{body['uuid']}", json.dumps(body))
    fetched = source.fetch("MedicationRequest", [body["uuid"]])
    assert fetched.failures == [] and fetched.gone == []
    assert fetched.found[body["uuid"]]["medicationReference"]["display"] == "Permethrin"


def test_an_allergy_entry_names_its_patient_and_is_read_below_it(
    fixtures_dir: Path, rest_server: Any, source: OpenMRSRestSource
) -> None:
    body = _load(fixtures_dir, "esm-patient-chart_allergy_default.json")
    patient, allergy = body["patient"]["uuid"], body["uuid"]
    path = f"/openmrs/ws/rest/v1/patient/{patient}/allergy/{allergy}?v=full"
    event = read_entry(FeedEntry("tag:a", "Allergy", "", ["allergy"], path), "p")
    assert (event.resource_type, event.uuid, event.parent_uuid) == (
        "AllergyIntolerance",
        allergy,
        patient,
    )
    corrupt(rest_server.hospital, f"patient/{patient}/allergy/{allergy}", json.dumps(body))
    source.hints.allergy_patient[allergy] = patient  # what the source's window notes
    fetched = source.fetch("AllergyIntolerance", [allergy])
    assert fetched.found[allergy]["criticality"] == "low"
    unknown = "0c3b7f1a-41d5-4b7b-9d3a-8f2c5a2e9e11"
    missing = source.fetch("AllergyIntolerance", [unknown])
    assert "named none" in missing.failures[0].error


def test_a_voided_order_is_gone(
    fixtures_dir: Path, rest_server: Any, source: OpenMRSRestSource
) -> None:
    body = {**_load(fixtures_dir, "esm-patient-chart_orders_full.json")[1], "voided": True}
    corrupt(rest_server.hospital, f"order/{body['uuid']}", json.dumps(body))
    fetched = source.fetch("ServiceRequest", [body["uuid"]])
    assert [(g.uuid, g.reason) for g in fetched.gone] == [(body["uuid"], "voided")]
