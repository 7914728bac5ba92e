"""Conformance: every real REST payload in the fixtures maps (or fails saying why).

Expected values are read off the fixture files by hand; the decimal-comma displays, +0530 dates,
voided members and ref-only representations are the traps each case names.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mappers import map_resource
from mappers._context import MappingContext
from mappers.documents import RecordDoc
from mappers.openmrs_rest import (
    RestShapeError,
    concept_info,
    encounter_from_rest,
    is_voided,
    location_from_rest,
    observations_from_rest,
    patient_from_rest,
    practitioner_from_rest,
    rest_datetime,
    visit_from_rest,
)

TODAY = date(2026, 1, 1)


def _load(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / "rest" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "uuid", "identifier", "birth", "gender"),
    [
        (
            "avni-bahmni_patient_full.json",
            "506c9d8c-7d92-4525-88b7-0804cd63fed5",
            "TRI08121601",
            "1983-01-01",  # +0530 midnight: still the first of January
            "male",
        ),
        (
            "openerp-atomfeed_patient_full_2013.json",
            "d6729333-bc31-4886-a864-0a6e7ae570a9",
            "GAN200066",
            "1978",  # birthdateEstimated: true, and over five years old
            "male",
        ),
        (
            "pacs-integration_patient_full.json",
            "105059a8-5226-4b1f-b512-0d3ae685287d",
            "GAN200053",
            "1996",  # estimated too
            "female",
        ),
    ],
)
def test_full_patients_map(
    fixtures_dir: Path, name: str, uuid: str, identifier: str, birth: str, gender: str
) -> None:
    patient = patient_from_rest(_load(fixtures_dir, name), today=TODAY)
    assert patient["id"] == uuid and patient["active"] is True
    assert [i["value"] for i in patient["identifier"]] == [identifier]
    assert (patient["birthDate"], patient["gender"]) == (birth, gender)
    assert patient["name"][0]["text"]


def test_avni_patient_names_and_address(fixtures_dir: Path) -> None:
    patient = patient_from_rest(_load(fixtures_dir, "avni-bahmni_patient_full.json"), today=TODAY)
    assert patient["name"][0]["family"] == "FFGGHHII"
    assert patient["name"][0]["given"] == ["AABCCDDEE"]
    assert patient["address"][0]["district"] == "Nilgiris"
    assert patient["meta"]["lastUpdated"] == "2016-03-24T07:30:36+00:00"  # 13:00:36 +0530


def test_search_result_patient_and_person_in_default_rep(fixtures_dir: Path) -> None:
    found = _load(fixtures_dir, "rest-api-docs_patient_search_next.json")["results"][0]
    patient = patient_from_rest(found, today=TODAY)
    assert patient["id"] == "b52ec6f9-0e26-424c-a4a1-c64f9d571eb3"
    assert "identifier" not in patient  # ref-rep identifiers carry no value
    assert patient["birthDate"] == "1936-12-04"
    person = _load(fixtures_dir, "rest-api-docs_person_search_next.json")["results"][0]
    assert patient_from_rest(person, today=TODAY)["gender"] == "male"


def test_numeric_obs_take_value_not_the_decimal_comma_display(fixtures_dir: Path) -> None:
    encounter = _load(fixtures_dir, "openmrs-react-components_encounter_full_numeric-obs.json")
    read = observations_from_rest(encounter["obs"], {})
    values = {o["id"]: o["valueQuantity"]["value"] for o in read.resources}
    assert values == {
        "4ef2c716-7c5a-41f4-a282-11d836345860": 68.2,
        "e232be48-973e-42cd-95d3-0c88c03e2d9f": 182.9,
    }
    resource = encounter_from_rest(encounter)
    assert resource["period"]["start"] == "2018-03-21T16:01:00+00:00"  # 12:01 -0400


def test_obs_groups_three_deep_with_a_voided_member(fixtures_dir: Path) -> None:
    encounter = _load(fixtures_dir, "avni-bahmni_encounter_full_obs-groups.json")
    read = observations_from_rest(encounter["obs"], {})
    assert read.voided == ["6a96ea5b-31f0-4bc3-8cd1-98759339ef92"]  # "Systolic Abnormal"
    by_id = {o["id"]: o for o in read.resources}
    systolic_data = by_id["ba633449-a6d7-4799-9373-5241fa5d9cf0"]
    members = [m["reference"] for m in systolic_data["hasMember"]]
    assert "Observation/6a96ea5b-31f0-4bc3-8cd1-98759339ef92" not in members
    assert all(
        o["subject"]["reference"].endswith("945e9825-99da-41f5-a16e-dc698fb4976b")
        for o in read.resources
    )
    assert any(o.get("valueQuantity", {}).get("value") == 130.0 for o in read.resources)
    resource = encounter_from_rest(encounter)
    assert resource["participant"][0]["individual"]["reference"] == (
        "Practitioner/7c8ec528-05da-4956-9976-0eca854a0082"
    )
    assert resource["partOf"]["reference"] == "Encounter/d98568c3-c2d9-47a7-a2e4-5c93924632f7"


def test_a_voided_encounter_is_seen_as_voided(fixtures_dir: Path) -> None:
    encounter = _load(fixtures_dir, "avni-bahmni_encounter_full_voided_orders.json")
    assert is_voided(encounter)
    assert not is_voided(_load(fixtures_dir, "avni-bahmni_encounter_full_drugorders.json"))


@pytest.mark.parametrize(
    "name",
    [
        "avni-bahmni_encounter_full_drugorders.json",
        "avni-bahmni_encounter_default_drugorders.json",
        "esm-patient-chart_encounter_default.json",
    ],
)
def test_encounters_without_obs_or_in_default_rep_map(fixtures_dir: Path, name: str) -> None:
    body = _load(fixtures_dir, name)
    resource = encounter_from_rest(body)
    assert resource["id"] == body["uuid"] and resource["period"]["start"]


def test_encounter_search_result_maps(fixtures_dir: Path) -> None:
    body = _load(fixtures_dir, "rest-api-docs_encounter_search_next.json")["results"][0]
    assert encounter_from_rest(body)["period"]["start"] == "2015-02-24T06:08:25+00:00"


def test_obs_refs_without_a_concept_fail_naming_the_obs(fixtures_dir: Path) -> None:
    refs = _load(fixtures_dir, "rest-api-docs_obs_search_next.json")["results"]
    with pytest.raises(RestShapeError, match=refs[0]["uuid"]):
        observations_from_rest(refs, {})
    default = _load(fixtures_dir, "esm-patient-chart_encounter_default.json")["obs"]
    with pytest.raises(RestShapeError, match="has no concept"):
        observations_from_rest(default, {})


def test_text_obs_in_default_rep(fixtures_dir: Path) -> None:
    obs = _load(fixtures_dir, "speech-assistant_obs_text_default.json")
    read = observations_from_rest([obs], {})
    [resource] = read.resources
    assert resource["valueString"] == "Saving Notes"
    assert resource["code"]["coding"][0]["code"] == "81d6e852-3f10-11e4-adec-0800271c1b75"
    assert resource["effectiveDateTime"] == "2022-10-17T07:46:53+00:00"


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("bahmniapps_visit_default.json", "2016-04-26T12:06:18+00:00", None),
        (
            "esm-patient-chart_visit_attributes.json",
            "2020-07-28T10:29:00+00:00",
            "2020-07-29T10:29:00+00:00",
        ),
    ],
)
def test_visits_map(fixtures_dir: Path, name: str, start: str, end: str | None) -> None:
    visit = visit_from_rest(_load(fixtures_dir, name))
    assert visit["meta"]["tag"][0]["code"] == "visit"
    assert visit["period"].get("start") == start and visit["period"].get("end") == end


def test_visit_search_result_maps(fixtures_dir: Path) -> None:
    body = _load(fixtures_dir, "rest-api-docs_visit_search_next.json")["results"][0]
    assert visit_from_rest(body)["period"]["end"] == "2017-01-18T08:20:03+00:00"


def test_locations_map(fixtures_dir: Path) -> None:
    results = _load(fixtures_dir, "bahmniapps_location_search.json")["results"]
    locations = [location_from_rest(r) for r in results]
    assert [loc["name"] for loc in locations] == [
        "IPD",
        "OPD",
        "Emergency",
        "Vaccination",
        "OT",
        "Registration",
    ]
    parent = "Location/c4284d68-622c-4f20-92bb-6f1d94708e01"
    assert all(loc["partOf"]["reference"] == parent for loc in locations)
    assert {t["code"] for t in locations[0]["meta"]["tag"]} == {"Report Location", "Login Location"}
    amani = location_from_rest(
        _load(fixtures_dir, "rest-api-docs_location_list.json")["results"][0]
    )
    assert (amani["name"], amani["status"]) == ("Amani Hospital", "active")


def test_provider_maps(fixtures_dir: Path) -> None:
    body = _load(fixtures_dir, "rest-api-docs_provider_list.json")["results"][0]
    practitioner = practitioner_from_rest(body)
    assert practitioner["identifier"][0]["value"] == "clerk"
    assert practitioner["name"] == [{"text": "John Smith"}]


def test_concept_full_rep_gives_datatype_units_and_codes() -> None:
    body = {
        "uuid": "5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "display": "Poids (kg)",
        "datatype": {"display": "Numeric"},
        "conceptClass": {"display": "Test"},
        "units": "kg",
        "allowDecimal": True,
        "mappings": [
            {"display": "CIEL: 5089", "conceptMapType": {"display": "SAME-AS"}},
            {"display": "LOINC: 29463-7", "conceptMapType": {"display": "SAME-AS"}},
        ],
    }
    info = concept_info(body)
    assert (info.datatype, info.units, info.class_name) == ("NM", "kg", "Test")
    assert info.codings == (
        {"system": "https://openconceptlab.org/orgs/CIEL/sources/CIEL", "code": "5089"},
        {"system": "http://loinc.org", "code": "29463-7"},
    )


def test_mapped_rest_resources_go_through_the_shared_mappers(fixtures_dir: Path) -> None:
    """The point of the row path: what REST gives ends as passport documents like fhir2's."""
    encounter = _load(fixtures_dir, "openmrs-react-components_encounter_full_numeric-obs.json")
    resource = observations_from_rest(encounter["obs"], {}).resources[0]
    ctx = MappingContext(source="h", hospital="H", identifier_types=(), encounters={})
    doc = map_resource(resource, ctx)
    assert isinstance(doc, RecordDoc)
    assert (doc.value, doc.name, doc.patient_uuid) == (
        "68.2",
        "Poids (kg)",
        "ad92c0a2-d9ad-4fe2-a4f8-6b677c0a3dac",
    )


def test_dates_in_every_form_real_servers_send() -> None:
    assert rest_datetime("2016-04-17T12:00:19.000+0530").isoformat() == "2016-04-17T06:30:19"
    assert rest_datetime(1714473839000).isoformat() == "2024-04-30T10:43:59"
    assert rest_datetime("016-04-29T06:51:46Z") is None
    assert rest_datetime(None) is None
