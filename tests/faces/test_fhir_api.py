"""The FHIR face read by fhirpy (a client nobody here wrote) against a real ``sync2 serve``.

Expected values come from the simulated hospitals' own truth (``valid_resources``) and from the
hand-written resources the fixture stored, never from the server's answers.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, ResourceNotFound
from typer.testing import CliRunner

from mappers import normalise_national_id
from mappers._validate import strict_validation
from sync2.cli import app
from sync2.sources.atomfeed import parse_page, read_entry
from sync2.store import AuditEntry

from .conftest import CENTRAL_TOKEN, DOCTOR_TOKEN, District

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def client(district: District, token: str = DOCTOR_TOKEN) -> SyncFHIRClient:
    return SyncFHIRClient(district.fhir, authorization=f"Bearer {token}")


def truth(district: District, resource_type: str) -> dict[str, dict[str, Any]]:
    """Every valid resource of a type at every hospital, by uuid (the simulators' truth)."""
    found: dict[str, dict[str, Any]] = {}
    for server in district.servers:
        for resource in server.hospital.valid_resources(resource_type):
            found[resource["id"]] = resource
    return found


def assert_valid(resource: dict[str, Any]) -> None:
    assert strict_validation(resource) == [], resource.get("resourceType")


def test_metadata_lists_exactly_what_is_served(district: District) -> None:
    body = httpx.get(f"{district.fhir}/metadata", timeout=10).json()
    assert_valid(body)
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert types == {
        "Patient", "Practitioner", "Location", "Provenance", "Observation", "Encounter",
        "AllergyIntolerance", "Condition", "MedicationRequest", "MedicationDispense",
        "ServiceRequest", "DiagnosticReport",
    }  # fmt: skip
    observation = next(r for r in body["rest"][0]["resource"] if r["type"] == "Observation")
    assert {p["name"] for p in observation["searchParam"]} >= {"patient", "code", "date", "_id"}


def test_fhirpy_pages_every_observation_once(district: District) -> None:
    expected = truth(district, "Observation")
    got = client(district).resources("Observation").limit(7).fetch_all()
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(expected)
    for resource in got[:10]:
        assert_valid(resource.serialize())
    assert client(district).resources("Observation").count() == len(expected)


def test_a_read_keeps_the_hospital_resource_and_says_where_it_came_from(
    district: District,
) -> None:
    server = district.servers[0]
    uuid, original = next(iter(truth(district, "Observation").items()))
    owner = next(
        s for s in district.servers if uuid in {o["id"] for o in s.hospital.valid_observations()}
    )
    resource = client(district).reference("Observation", uuid).to_resource().serialize()
    assert_valid(resource)
    assert resource["code"] == original["code"]
    # the subject is the person's one passport Patient (id: the normalised national ID)
    hospital_patient = owner.hospital.valid_resources("Patient")
    patient_uuid = original["subject"]["reference"].split("/")[1]
    (nid,) = [
        i["value"]
        for p in hospital_patient
        if p["id"] == patient_uuid
        for i in p["identifier"]
        if i.get("type", {}).get("text") == "National ID"
    ]
    assert resource["subject"]["reference"] == f"Patient/{normalise_national_id(nid)}"
    assert resource["subject"]["display"] == original["subject"]["display"]
    assert resource["meta"]["source"] == f"urn:sync2:hospital:{owner.hospital.id}"
    assert {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid}"} in resource["identifier"]
    provenance = httpx.get(
        f"{district.fhir}/Provenance", params={"target": f"Observation/{uuid}"},
        headers=district.headers(), timeout=10,
    ).json()  # fmt: skip
    assert_valid(provenance)
    (entry,) = provenance["entry"]
    agents = [a["who"]["display"] for a in entry["resource"]["agent"]]
    assert owner.hospital.name in agents
    assert server  # the first hospital is served too (sanity of the fixture)


def test_search_by_patient_code_and_date(district: District) -> None:
    observations = truth(district, "Observation")
    uuid, sample = next(iter(observations.items()))
    patient_uuid = sample["subject"]["reference"].split("/")[1]
    same_patient = {
        k for k, o in observations.items() if o["subject"]["reference"] == f"Patient/{patient_uuid}"
    }
    found = client(district).resources("Observation").search(patient=patient_uuid).fetch_all()
    # the passport answers for the person: this hospital's records are all there
    assert same_patient <= {r["id"] for r in found}
    code = sample["code"]["coding"][0]["code"]
    with_code = {
        k
        for k, o in observations.items()
        if any(c.get("code") == code for c in o["code"]["coding"])
    }
    by_code = client(district).resources("Observation").search(code=code).fetch_all()
    assert {r["id"] for r in by_code} == with_code
    day = sample["effectiveDateTime"][:10]
    on_day = {k for k, o in observations.items() if o.get("effectiveDateTime", "")[:10] == day}
    by_day = client(district).resources("Observation").search(date=day).fetch_all()
    assert {r["id"] for r in by_day} == on_day
    assert uuid in on_day


def test_patient_search_by_national_id(district: District) -> None:
    patients = truth(district, "Patient")
    nid_of: dict[str, str] = {}
    for uuid, patient in patients.items():
        for ident in patient.get("identifier", []):
            if ident.get("type", {}).get("text") == "National ID":
                nid_of[uuid] = normalise_national_id(ident["value"])  # spelled apart
    counts = {n: list(nid_of.values()).count(n) for n in nid_of.values()}
    nid = max(sorted(counts), key=lambda n: counts[n])
    expected = {f"urn:uuid:{uuid}" for uuid, value in nid_of.items() if value == nid}
    assert len(expected) > 1, "the fixture's person is known at several hospitals"
    (found,) = client(district).resources("Patient").search(identifier=nid).fetch_all()
    resource = found.serialize()
    assert_valid(resource)
    assert resource["id"] == nid
    kept = {i["value"] for i in resource["identifier"] if i.get("system") == "urn:ietf:rfc:3986"}
    assert kept == expected
    by_id = client(district).reference("Patient", nid).to_resource().serialize()
    assert by_id == resource


def test_new_record_types_are_read_and_searched(district: District) -> None:
    for rtype, record in district.extra.items():
        resource = client(district).reference(rtype, record.uuid).to_resource().serialize()
        assert_valid(resource)
        assert resource["meta"]["source"] == f"urn:sync2:hospital:{record.source}"
        found = client(district).resources(rtype).search(patient=record.patient_id).fetch_all()
        assert [r["id"] for r in found] == [record.uuid]


def test_summary_is_a_valid_ips_document_listing_the_patient_history(district: District) -> None:
    pid = next(iter(district.extra.values())).patient_id
    response = httpx.get(
        f"{district.fhir}/Patient/{pid}/$summary", headers=district.headers(), timeout=10
    )
    bundle = response.json()
    assert response.status_code == 200
    assert_valid(bundle)
    composition = bundle["entry"][0]["resource"]
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    listed = {
        code: {e["reference"] for e in section.get("entry", [])}
        for code, section in sections.items()
    }
    extra = district.extra
    assert listed["48765-2"] == {f"AllergyIntolerance/{extra['AllergyIntolerance'].uuid}"}
    assert listed["11450-4"] == {f"Condition/{extra['Condition'].uuid}"}
    assert listed["10160-0"] == {f"MedicationRequest/{extra['MedicationRequest'].uuid}"}
    assert f"DiagnosticReport/{extra['DiagnosticReport'].uuid}" in listed["30954-2"]
    links = {link["uuid"] for link in district.store.get_patient_link_docs(pid)}
    expected_obs = {
        f"Observation/{k}"
        for k, o in truth(district, "Observation").items()
        if o["subject"]["reference"].split("/")[1] in links
    }
    results_and_vitals = listed.get("30954-2", set()) | listed.get("8716-3", set())
    assert {r for r in results_and_vitals if r.startswith("Observation/")} == expected_obs
    in_bundle = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    assert set().union(*listed.values()) <= in_bundle


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("Observation?colour=blue", 400, "colour"),
        ("Observation?_count=5000", 400, "_count"),
        ("Observation?date=2024-13-45", 400, "date"),
        ("Observation?_lastUpdated=xx2024", 400, "_lastUpdated"),
        ("Observation?_id=bad%20id", 400, "_id"),
        ("Observation?_sort=-_lastUpdated", 400, "_sort"),
        ("Observation?_cursor=garbage", 400, "_cursor"),
        ("Observation/no-such-uuid", 404, "Observation"),
        ("Spaceship", 404, "Spaceship"),
        ("Patient/no-such-patient/$summary", 404, "no-such-patient"),
    ],
)
def test_bad_requests_get_an_operation_outcome_naming_the_problem(
    district: District, path: str, status: int, named: str
) -> None:
    response = httpx.get(f"{district.fhir}/{path}", headers=district.headers(), timeout=10)
    assert response.status_code == status
    body = response.json()
    assert_valid(body)
    assert body["resourceType"] == "OperationOutcome"
    assert named in body["issue"][0]["diagnostics"]


def test_no_token_no_data_and_basic_auth_carries_a_token(district: District) -> None:
    anonymous = httpx.get(f"{district.fhir}/Observation", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    wrong = httpx.get(
        f"{district.fhir}/Observation", headers=district.headers("x" * 32), timeout=10
    )
    assert wrong.status_code == 401
    feed = httpx.get(f"{district.url}/ws/atomfeed/observation/recent", timeout=10)
    assert feed.status_code == 401
    basic = httpx.get(
        f"{district.fhir}/Observation?_count=1", auth=("anyone", DOCTOR_TOKEN), timeout=10
    )
    assert basic.status_code == 200
    with pytest.raises(AuthorizationError):
        SyncFHIRClient(district.fhir).resources("Observation").fetch()


def test_a_source_is_never_served_its_own_records(district: District) -> None:
    """A caller named like a source (a parent pulling back) gets none of that source's rows."""
    central = next(s for s in district.servers if s.hospital.id == "central")
    own = {o["id"] for o in central.hospital.valid_observations()}
    others = set(truth(district, "Observation")) - own
    got = client(district, CENTRAL_TOKEN).resources("Observation").limit(50).fetch_all()
    assert {r["id"] for r in got} == others
    uuid = next(iter(own))
    with pytest.raises(ResourceNotFound):
        client(district, CENTRAL_TOKEN).reference("Observation", uuid).to_resource()


def test_every_patient_read_is_audited_without_the_national_id(district: District) -> None:
    pid = next(iter(district.extra.values())).patient_id
    httpx.get(f"{district.fhir}/Patient/{pid}/$summary", headers=district.headers(), timeout=10)
    entries: list[AuditEntry] = district.store.list_audit(kind="fhir-read", limit=1000)
    summary = [e for e in entries if "$summary" in e.message]
    assert summary and summary[0].actor == "doctor:reader"
    import hashlib

    assert hashlib.sha256(pid.encode()).hexdigest()[:16] in summary[0].details["patients"]
    assert all(pid not in repr(e.to_dict()) for e in entries)


def test_passport_export_writes_the_same_ips_bundle_as_summary(district: District) -> None:
    pid = next(iter(district.extra.values())).patient_id
    served = httpx.get(
        f"{district.fhir}/Patient/{pid}/$summary", headers=district.headers(), timeout=10
    ).json()
    result = CliRunner().invoke(
        app, ["passport", "export", pid, "--format", "fhir", "--config", str(district.config_path)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == served
    missing = CliRunner().invoke(
        app, ["passport", "export", "NID-0000-0000", "--config", str(district.config_path)]
    )
    assert missing.exit_code == 1


def test_the_feed_pages_every_record_once_in_the_atomfeed_format(district: District) -> None:
    """Walked as the OpenMRS atomfeed client walks it: recent, back to page 1, then forward."""
    get = functools.partial(httpx.get, headers=district.headers(), timeout=10)
    recent = parse_page(get(f"{district.url}/ws/atomfeed/observation/recent").content, "recent")
    assert recent.self_url and recent.self_url.endswith("/observation/recent")
    assert recent.via_url and recent.next_archive is None
    page = parse_page(get(recent.via_url).content, recent.via_url)
    while page.prev_archive:
        page = parse_page(get(page.prev_archive).content, page.prev_archive)
    seen: list[str] = []
    while True:
        assert len(page.entries) == 5 or page.next_archive is None
        for entry in page.entries:
            event = read_entry(entry, page.url)
            assert (event.resource_type, event.action) == ("Observation", "UPDATED")
            assert event.filters and event.filters[0].bean == "atomfeed.locationFeedFilterStrategy"
            seen.append(event.uuid)
        if page.next_archive is None:
            break
        page = parse_page(get(page.next_archive).content, page.next_archive)
    stored = {
        d["uuid"]
        for s in district.config.sources
        for d in district.store.find_records(s.id, "Observation")
    }
    assert sorted(seen) == sorted(stored)
    assert page.via_url == recent.via_url
    assert get(f"{district.url}/ws/atomfeed/observation/9999").status_code == 404
    assert get(f"{district.url}/ws/atomfeed/observation/0").status_code == 404
    assert get(f"{district.url}/ws/atomfeed/nonsense/recent").status_code == 404
    empty = parse_page(get(f"{district.url}/ws/atomfeed/visit/recent").content, "visit")
    assert empty.entries == []


@pytest.mark.parametrize("rtype", ["Patient", "Encounter", "Location", "Practitioner", "Condition"])
def test_every_type_answers_a_strictly_valid_searchset(district: District, rtype: str) -> None:
    response = httpx.get(
        f"{district.fhir}/{rtype}", params={"_count": 20}, headers=district.headers(), timeout=10
    )
    bundle = response.json()
    assert response.status_code == 200
    assert_valid(bundle)
    assert bundle["type"] == "searchset"
    if rtype in ("Patient", "Encounter", "Location"):
        assert bundle["entry"], f"the district holds {rtype} resources"
