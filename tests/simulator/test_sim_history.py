"""The whole-history types over HTTP: fhir2 shapes, searches, voids (410), feed entries of
revisions and discontinues, the knobs for bare references and an out-of-order server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from lxml import etree

from sync2.simulator import HospitalServer
from sync2.simulator._records import CLINICAL_TYPES

ATOM = "{http://www.w3.org/2005/Atom}"
TYPES = CLINICAL_TYPES


def _search(fhir: httpx.Client, path: str) -> list[dict]:
    out: list[dict] = []
    bundle = fhir.get(path).json()
    while True:
        out += [e["resource"] for e in bundle.get("entry", [])]
        nxt = next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None)
        if nxt is None:
            return out
        bundle = fhir.get("?" + nxt.split("?", 1)[1]).json()


def _last_entries(feed: httpx.Client, category: str, k: int) -> list[tuple[str, str]]:
    """(action, fhir link) of the last ``k`` entries of a category, oldest first."""
    out: list[tuple[str, str]] = []
    root = etree.fromstring(feed.get(f"/{category}/recent").content)
    while True:
        page = []
        for e in root.iter(f"{ATOM}entry"):
            action = next(
                c.get("term") for c in e.iter(f"{ATOM}category") if c.get("term").isupper()
            )
            page.append((action, json.loads(e.findtext(f"{ATOM}content"))["fhir"]))
        out = page + out
        prev = next((lk.get("href") for lk in root.iter(f"{ATOM}link")
                     if lk.get("rel") == "prev-archive"), None)  # fmt: skip
        if len(out) >= k or prev is None:
            return out[-k:]
        root = etree.fromstring(feed.get(prev).content)


@pytest.mark.parametrize("rtype", TYPES)
def test_each_type_by_patient_id_and_last_updated(served: list[HospitalServer], rtype: str) -> None:
    s = served[0]
    rows = [r for r in s.hospital.tables[rtype].rows if not r.voided]
    assert rows, rtype
    with httpx.Client(base_url=s.fhir_base, auth=(s.username, s.password)) as fhir:
        everything = _search(fhir, f"/{rtype}?_count=3")
        assert [r["id"] for r in everything] == [r.uuid for r in rows]
        patient = rows[0].patient
        mine = {r.uuid for r in rows if r.patient is patient}
        got = _search(fhir, f"/{rtype}?patient={patient.uuid}")
        assert {r["id"] for r in got} == mine
        ids = [r.uuid for r in rows[:2]]
        assert {r["id"] for r in _search(fhir, f"/{rtype}?_id={','.join(ids)}")} == set(ids)
        newest = max(r.lu for r in rows)
        since = time_iso(newest)
        recent = _search(fhir, f"/{rtype}?_lastUpdated=ge{since}&_sort=_lastUpdated")
        assert {r["id"] for r in recent} == {r.uuid for r in rows if r.lu >= newest}
        one = fhir.get(f"/{rtype}/{rows[0].uuid}").json()
        assert one["resourceType"] == rtype and one["id"] == rows[0].uuid


def time_iso(epoch: int) -> str:
    from sync2.simulator._util import fhir_datetime

    return fhir_datetime(epoch)


def test_shapes_follow_the_fhir2_fixtures(served: list[HospitalServer], fixtures_dir: Path) -> None:
    """The keys a real fhir2 payload carries are the keys the simulator serves."""
    h = served[0].hospital
    pairs = {
        "AllergyIntolerance": "fhir2_AllergyIntoleranceWebTest_update.json",
        "Condition": "fhir2_ConditionDiagnosis_create.json",
        "DiagnosticReport": "fhir2_DiagnosticReport_with_service_request_refs_create_r4.json",
    }
    for rtype, name in pairs.items():
        real = json.loads((fixtures_dir / "fhir" / name).read_text())
        keys = set(real) - {"id"}
        carrying = [r for r in h.valid_resources(rtype) if keys <= set(r)]
        assert carrying, (rtype, keys)


def test_void_is_410_and_left_out_of_searches(server: HospitalServer, fhir: httpx.Client) -> None:
    h = server.hospital
    patient = h.patients.rows[0].uuid
    uuid = h.add_allergy(patient, "Peanuts", "mild", ("Hives",))
    assert fhir.get(f"/AllergyIntolerance/{uuid}").json()["code"]["text"] == "Peanuts"
    h.void_record("AllergyIntolerance", uuid)
    assert fhir.get(f"/AllergyIntolerance/{uuid}").status_code == 410
    assert uuid not in {r["id"] for r in _search(fhir, f"/AllergyIntolerance?patient={patient}")}


def test_revise_and_discontinue_are_new_orders(
    server: HospitalServer, fhir: httpx.Client, feed: httpx.Client
) -> None:
    h = server.hospital
    patient = h.patients.rows[0].uuid
    first = h.prescribe(patient, "Metformin 500mg tablet", dose=1)
    revised = h.revise_order(first, dose=2)
    stopped = h.discontinue_order(revised)
    assert _last_entries(feed, "drug_order", 5) == [
        ("CREATED", f"/ws/fhir2/R4/MedicationRequest/{first}"),
        ("CREATED", f"/ws/fhir2/R4/MedicationRequest/{revised}"),
        ("UPDATED", f"/ws/fhir2/R4/MedicationRequest/{first}"),
        ("CREATED", f"/ws/fhir2/R4/MedicationRequest/{stopped}"),
        ("UPDATED", f"/ws/fhir2/R4/MedicationRequest/{revised}"),
    ]
    body = {r["id"]: r for r in _search(fhir, f"/MedicationRequest?patient={patient}")}
    assert body[first]["status"] == "stopped"
    assert body[revised]["priorPrescription"]["reference"] == f"MedicationRequest/{first}"
    assert body[revised]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 2
    assert body[stopped]["priorPrescription"]["reference"] == f"MedicationRequest/{revised}"


def test_test_orders_link_as_procedure_request_and_reports_name_them(
    server: HospitalServer, fhir: httpx.Client, feed: httpx.Client
) -> None:
    h = server.hospital
    order = h.order_test(h.patients.rows[0].uuid, "Haemoglobin")
    report = h.report_result(order, 11.2)
    assert _last_entries(feed, "test_order", 1) == [
        ("CREATED", f"/ws/fhir2/R4/ProcedureRequest/{order}")
    ]
    assert fhir.get(f"/ProcedureRequest/{order}").status_code == 404  # R4 has no such type
    body = fhir.get(f"/DiagnosticReport/{report}").json()
    assert body["basedOn"] == [{"reference": f"ServiceRequest/{order}", "type": "ServiceRequest"}]
    result = fhir.get("/" + body["result"][0]["reference"]).json()
    assert result["valueQuantity"]["value"] == 11.2


def test_bare_references_and_ignored_sort(server: HospitalServer, fhir: httpx.Client) -> None:
    h = server.hospital
    patient = h.patients.rows[0].uuid
    a, b = h.add_allergy(patient), h.add_allergy(patient)
    h._clock = h.now() + 5  # the edit is seconds later than both creations
    h.edit_allergy(a, comment="newest now")
    h._clock = None
    h.bare_references = True
    h._json.clear()
    body = fhir.get(f"/AllergyIntolerance/{a}").json()
    assert body["recorder"]["reference"].startswith("Practitioner/")
    assert "display" not in body["recorder"]
    path = "/AllergyIntolerance?_sort=_lastUpdated&_count=100"
    order = [r["id"] for r in _search(fhir, path)]
    assert order.index(b) < order.index(a)
    h.ignore_sort = True
    order = [r["id"] for r in _search(fhir, path)]
    assert order.index(a) < order.index(b)  # primary-key order: a was created first
