"""Atom feed pages over HTTP: paging links, immutability, event sequences, category order."""

from __future__ import annotations

import json

import httpx
import pytest
from lxml import etree

from sync2.simulator import HospitalServer, generate_hospitals, serve_hospitals

ATOM = "{http://www.w3.org/2005/Atom}"


def _parse(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def _links(root: etree._Element) -> dict[str, str]:
    return {link.get("rel"): link.get("href") for link in root.iter(f"{ATOM}link")}


def _entries(root: etree._Element) -> list[dict[str, object]]:
    out = []
    for e in root.iter(f"{ATOM}entry"):
        out.append(
            {
                "id": e.findtext(f"{ATOM}id"),
                "terms": [c.get("term") for c in e.iter(f"{ATOM}category")],
                "content": e.findtext(f"{ATOM}content"),
                "updated": e.findtext(f"{ATOM}updated"),
            }
        )
    return out


def _actions(server: HospitalServer, feed: httpx.Client, category: str, k: int) -> list[tuple]:
    """(action, fhir link) of the last ``k`` entries of a feed, oldest first."""
    out: list[tuple] = []
    root = _parse(feed.get(f"/{category}/recent").text)
    while True:
        page = [
            (next(t for t in e["terms"] if t.isupper()), json.loads(e["content"])["fhir"])
            for e in _entries(root)
        ]
        out = page + out
        prev = _links(root).get("prev-archive")
        if len(out) >= k or prev is None:
            return out[-k:]
        root = _parse(feed.get(prev).text)


def test_recent_and_archive_links(server: HospitalServer, feed: httpx.Client) -> None:
    n_events = len(server.hospital.feeds["observation"])
    pages = (n_events + 4) // 5
    assert pages > 2
    recent = feed.get("/observation/recent")
    assert recent.status_code == 200
    assert recent.headers["content-type"].startswith("application/atom+xml")
    links = _links(_parse(recent.text))
    base = f"{server.url}/ws/atomfeed/observation/"
    assert links["self"] == base + "recent"
    assert links["via"] == f"{base}{pages}"
    assert links["prev-archive"] == f"{base}{pages - 1}"
    assert "next-archive" not in links

    first = _parse(feed.get("/observation/1").text)
    first_links = _links(first)
    assert first_links["self"] == first_links["via"] == base + "1"
    assert first_links["next-archive"] == base + "2"
    assert "prev-archive" not in first_links
    assert len(_entries(first)) == 5
    assert all(e["id"].startswith("tag:atomfeed.ict4h.org:") for e in _entries(first))
    middle_links = _links(_parse(feed.get(f"/observation/{pages - 1}").text))
    assert middle_links["next-archive"] == f"{base}{pages}"


@pytest.mark.parametrize("page", ["0", "-1", "9999", "abc"])
def test_missing_page_is_500(feed: httpx.Client, page: str) -> None:
    assert feed.get(f"/patient/{page}").status_code == 500


def test_category_without_events_has_empty_recent_page(feed: httpx.Client) -> None:
    root = _parse(feed.get("/cohort/recent").text)
    assert _entries(root) == []
    assert set(_links(root)) == {"self"}
    assert root.findtext(f"{ATOM}id").endswith("+0")


def test_archive_pages_never_change(server: HospitalServer, feed: httpx.Client) -> None:
    before = feed.get("/observation/1").content
    recent_via = _links(_parse(feed.get("/observation/recent").text))["via"]
    patient = server.hospital.patients.rows[0].uuid
    for _ in range(12):
        server.hospital.add_observation(patient, "weight", 70)
    assert feed.get("/observation/1").content == before
    assert _links(_parse(feed.get("/observation/recent").text))["via"] != recent_via


def test_amend_void_and_update_events(server: HospitalServer, feed: httpx.Client) -> None:
    h = server.hospital
    patient = next(p for p in h.patients.rows if not p.voided)
    old = h.add_observation(patient.uuid, "temperature", 37.0)
    new = h.amend_observation(old, 38.5)
    assert new != old
    assert _actions(server, feed, "observation", 4) == [
        ("CREATED", f"/ws/fhir2/R4/Observation/{old}"),
        ("CREATED", f"/ws/fhir2/R4/Observation/{new}"),
        ("UPDATED", f"/ws/fhir2/R4/Observation/{old}"),
        ("VOIDED", f"/ws/fhir2/R4/Observation/{old}"),
    ]
    h.void_observation(new)
    assert _actions(server, feed, "observation", 2) == [
        ("UPDATED", f"/ws/fhir2/R4/Observation/{new}"),
        ("VOIDED", f"/ws/fhir2/R4/Observation/{new}"),
    ]
    h.update_patient(patient.uuid, family="Newname")
    h.void_patient(patient.uuid)
    ref = f"/ws/fhir2/R4/Patient/{patient.uuid}"
    assert _actions(server, feed, "patient", 3) == [
        ("UPDATED", ref),
        ("UPDATED", ref),
        ("VOIDED", ref),
    ]


def test_category_and_key_order_vary(served: list[HospitalServer]) -> None:
    orders: set[tuple] = set()
    key_orders: set[tuple] = set()
    with httpx.Client(base_url=served[0].url + "/ws/atomfeed") as feed:
        for n in range(1, 6):
            for e in _entries(_parse(feed.get(f"/observation/{n}").text)):
                orders.add(tuple(t.isupper() for t in e["terms"]))
                key_orders.add(tuple(json.loads(e["content"])))
    assert len(orders) == 2
    assert key_orders == {("rest", "fhir"), ("fhir", "rest")}


def test_feed_filter_tag() -> None:
    hospitals = generate_hospitals(n=1, patients=3, obs_per_patient=3, seed=5, feed_filter=True)
    h = hospitals[0]
    with serve_hospitals(hospitals) as servers, httpx.Client(base_url=servers[0].url) as c:
        entries = _entries(_parse(c.get("/ws/atomfeed/patient/1").text))
        loc_entries = _entries(_parse(c.get("/ws/atomfeed/location/1").text))
    first = entries[0]
    patient_uuid = json.loads(first["content"])["fhir"].rsplit("/", 1)[1]
    p = h.patients.get(patient_uuid)
    addr = p.address
    want = "%".join(addr[k] for k in ("country", "state", "county", "city", "postal_code"))
    filters = [t for t in first["terms"] if "feedFilter" in t]
    assert len(filters) == 1
    assert f"<filter>{want}</filter>" in filters[0]
    assert filters[0].startswith('<?xml version="1.0"')
    assert all(len(e["terms"]) == 2 for e in loc_entries)


def test_feed_link_resolves_to_fhir(
    server: HospitalServer, feed: httpx.Client, fhir: httpx.Client
) -> None:
    entry = _entries(_parse(feed.get("/encounter/1").text))[0]
    link = json.loads(entry["content"])["fhir"]
    r = fhir.get(server.url + link)
    assert r.status_code == 200
    assert r.json()["resourceType"] == "Encounter"
