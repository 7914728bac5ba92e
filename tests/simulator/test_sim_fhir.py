"""FHIR R4 over HTTP: reads, auth, batch and incremental search, paging quirks, shapes."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from sync2.simulator import HospitalServer
from sync2.simulator._util import fhir_instant


def _client(s: HospitalServer) -> httpx.Client:
    return httpx.Client(base_url=s.fhir_base, auth=(s.username, s.password))


def _rebase(url: str, base: str) -> str:
    """Keep the query of a fhir2 next link, use the real base (the link names the wrong host)."""
    return f"{base}?{urlsplit(url).query}"


def _walk(c: httpx.Client, base: str, first: str) -> tuple[list[dict], list[str]]:
    resources: list[dict] = []
    next_urls: list[str] = []
    bundle = c.get(first).json()
    while True:
        resources += [e["resource"] for e in bundle.get("entry", [])]
        nxt = next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None)
        if nxt is None:
            return resources, next_urls
        next_urls.append(nxt)
        bundle = c.get(_rebase(nxt, base)).json()


def test_read_gone_unknown(server: HospitalServer, fhir: httpx.Client) -> None:
    h = server.hospital
    obs = next(o for o in h.observations.rows if not o.voided)
    r = fhir.get(f"/Observation/{obs.uuid}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == obs.uuid
    assert body["meta"]["versionId"] == str(obs.date_created * 1000)
    assert body["meta"]["lastUpdated"] == fhir_instant(obs.date_created)
    assert r.headers["etag"] == f'W/"{obs.date_created * 1000}"'
    h.void_observation(obs.uuid)
    assert fhir.get(f"/Observation/{obs.uuid}").status_code == 410
    assert fhir.get("/Observation/00000000-0000-4000-8000-000000000000").status_code == 404
    assert fhir.get(f"/Patient/{obs.uuid}").status_code == 404
    patient = h.patients.rows[0].uuid
    h.void_patient(patient)
    assert fhir.get(f"/Patient/{patient}").status_code == 410
    assert server.stats["gone"] == 2


def test_auth(server: HospitalServer) -> None:
    url = f"{server.fhir_base}/Patient"
    for auth in (None, (server.username, "wrong"), ("admin", "Admin123")):
        r = httpx.get(url, auth=auth)
        assert r.status_code == 401
        assert r.json()["resourceType"] == "OperationOutcome"
    assert httpx.get(f"{server.fhir_base}/metadata").status_code == 200
    assert httpx.get(url, auth=(server.username, server.password)).status_code == 200
    assert server.stats["unauthorized"] == 3


def test_id_batch_search_excludes_voided(server: HospitalServer, fhir: httpx.Client) -> None:
    h = server.hospital
    valid = [
        o.uuid
        for o in h.observations.rows
        if not o.voided and o.members is None and o.group is None
    ][:5]
    h.void_observation(valid[0])
    wanted = [*valid, "00000000-0000-4000-8000-000000000000"]
    bundle = fhir.get("/Observation", params={"_id": ",".join(wanted), "_count": 100}).json()
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 4
    assert {e["resource"]["id"] for e in bundle["entry"]} == set(valid[1:])
    assert all(e["fullUrl"].endswith(e["resource"]["id"]) for e in bundle["entry"])


def test_last_updated_ge_is_inclusive_and_gt_acts_like_ge(served: list[HospitalServer]) -> None:
    s = served[0]
    rows = [o for o in s.hospital.observations.rows if not o.voided]
    cut = rows[len(rows) // 2].date_created
    want = {o.uuid for o in rows if o.date_created >= cut}
    with _client(s) as c:
        for prefix in ("ge", "gt"):
            got, _ = _walk(
                c, s.fhir_base, f"/Observation?_lastUpdated={prefix}{fhir_instant(cut)}&_count=100"
            )
            assert {r["id"] for r in got} == want
        le, _ = _walk(c, s.fhir_base, f"/Observation?_lastUpdated=lt{fhir_instant(cut)}&_count=100")
    assert {r["id"] for r in le} == {o.uuid for o in rows if o.date_created <= cut}


def test_paging_via_wrong_host_next_links(served: list[HospitalServer]) -> None:
    s = served[1]
    with _client(s) as c:
        resources, next_urls = _walk(c, s.fhir_base, "/Observation?_count=25")
        first = c.get("/Observation?_count=25").json()
    assert next_urls
    assert all(
        url.startswith("http://localhost:8080/openmrs/ws/fhir2/R4?_getpages=") for url in next_urls
    )
    assert "_bundletype=searchset" in next_urls[0]
    ids = [r["id"] for r in resources]
    assert len(ids) == len(set(ids)) == first["total"]
    assert set(ids) == {o["id"] for o in s.hospital.valid_observations()}
    assert s.stats["fhir_pages"] >= len(next_urls)


def test_count_default_and_clamp(served: list[HospitalServer]) -> None:
    with _client(served[0]) as c:
        assert len(c.get("/Observation").json()["entry"]) == 10
        assert len(c.get("/Observation?_count=500").json()["entry"]) == 100
        summary = c.get("/Observation?_summary=count").json()
    assert "entry" not in summary
    assert summary["total"] == len(served[0].hospital.valid_observations())


def test_expired_page_is_410(served: list[HospitalServer]) -> None:
    with _client(served[0]) as c:
        r = c.get("", params={"_getpages": "nope", "_getpagesoffset": 10, "_count": 10})
    assert r.status_code == 410


def test_paging_cache_keeps_100_searches(served: list[HospitalServer]) -> None:
    s = served[0]
    with _client(s) as c:
        first = c.get("/Observation?_count=5").json()
        nxt = next(lk["url"] for lk in first["link"] if lk["relation"] == "next")
        for _ in range(100):
            c.get("/Observation?_count=5")
        assert c.get(_rebase(nxt, s.fhir_base)).status_code == 410


def test_practitioner_search_returns_all_users(served: list[HospitalServer]) -> None:
    s = served[0]
    with _client(s) as c:
        bundle = c.get("/Practitioner", params={"identifier": "PRV-001", "_count": 100}).json()
    systems = [e["resource"]["identifier"][0]["system"] for e in bundle["entry"]]
    assert systems.count("http://fhir.openmrs.org/ext/provider/identifier") == 1
    assert systems.count("http://fhir.openmrs.org/ext/user/identifier") == len(s.hospital.users)
    assert len(s.hospital.users) > 1


def test_encounter_tags_visits_and_include(served: list[HospitalServer]) -> None:
    s = served[0]
    patient = s.hospital.patients.rows[0].uuid
    with _client(s) as c:
        visits = c.get("/Encounter", params={"_tag": "visit", "patient": patient}).json()
        obs = c.get(
            "/Observation",
            params={
                "subject": f"Patient/{patient}",
                "_include": "Observation:encounter",
                "_count": 100,
            },
        ).json()
    tags = {e["resource"]["meta"]["tag"][0]["code"] for e in visits["entry"]}
    assert tags == {"visit"}
    types = [e["resource"]["resourceType"] for e in obs["entry"]]
    assert types.count("Observation") == obs["total"]
    enc_ids = {
        e["resource"]["id"] for e in obs["entry"] if e["resource"]["resourceType"] == "Encounter"
    }
    assert enc_ids == {
        e["resource"]["encounter"]["reference"].split("/")[1]
        for e in obs["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }


def test_identifier_search(served: list[HospitalServer]) -> None:
    s = served[0]
    p = s.hospital.patients.rows[0]
    with _client(s) as c:
        by_value = c.get("/Patient", params={"identifier": p.national_id}).json()
        by_type = c.get("/Patient", params={"identifier": f"National ID|{p.national_id}"}).json()
        wrong_type = c.get("/Patient", params={"identifier": f"OpenMRS ID|{p.national_id}"}).json()
        bad = c.get("/Patient", params={"nonsense": "1"})
    assert [e["resource"]["id"] for e in by_value["entry"]] == [p.uuid]
    assert [e["resource"]["id"] for e in by_type["entry"]] == [p.uuid]
    assert wrong_type["total"] == 0
    assert bad.status_code == 400


def test_resource_shapes(served: list[HospitalServer]) -> None:
    h = served[0].hospital
    patient = h.valid_resources("Patient")[0]
    assert [i["type"]["text"] for i in patient["identifier"]] == ["OpenMRS ID", "National ID"]
    assert patient["identifier"][0]["use"] == "official"
    assert patient["identifier"][0]["extension"][0]["url"].endswith("identifier#location")
    assert patient["address"][0]["extension"][0]["url"] == "http://fhir.openmrs.org/ext/address"
    weights = [
        o for o in h.valid_observations() if o["code"]["coding"][0]["code"].startswith("5089")
    ]
    assert weights
    w = weights[0]
    assert "system" not in w["code"]["coding"][0]
    assert {"system": "http://loinc.org", "code": "29463-7"} in w["code"]["coding"]
    assert w["valueQuantity"]["unit"] == "kg"
    assert w["subject"]["display"].endswith(")")
    groups = [o for o in h.valid_observations() if "hasMember" in o]
    assert groups and ", " in groups[0]["valueString"]
    kinds = {next(k for k in o if k.startswith("value")) for o in h.valid_observations()}
    assert {
        "valueQuantity",
        "valueCodeableConcept",
        "valueString",
        "valueDateTime",
        "valueBoolean",
    } <= kinds
    statuses = {o["status"] for o in h.valid_observations()}
    assert "amended" in statuses
    enc = next(e for e in h.valid_resources("Encounter") if "participant" in e)
    assert enc["participant"][0]["individual"]["display"].startswith("Dr. ")
    assert "(Identifier: PRV-" in enc["participant"][0]["individual"]["display"]
    wards = [loc for loc in h.valid_resources("Location") if "partOf" in loc]
    assert len(wards) == 3


@pytest.mark.parametrize("prefix", ["eq", "le"])
def test_last_updated_day_precision(served: list[HospitalServer], prefix: str) -> None:
    s = served[0]
    rows = [o for o in s.hospital.observations.rows if not o.voided]
    day = fhir_instant(rows[0].date_created)[:10]
    with _client(s) as c:
        got, _ = _walk(c, s.fhir_base, f"/Observation?_lastUpdated={prefix}{day}&_count=100")
    days = {r["meta"]["lastUpdated"][:10] for r in got}
    assert day in days
    assert all(d <= day for d in days) and (prefix == "le" or days == {day})
