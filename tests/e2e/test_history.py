"""The whole history end to end over real HTTP: allergies, conditions and diagnoses, drug
orders and dispenses, test orders and lab reports reach the passport as the simulator holds
them, by the feed, the snapshot and polling; revisions, discontinues, resolves, edits and voids
propagate; a second sync writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.documents import INVALID_STATUSES
from sync2.config import DEFAULT_FEEDS
from sync2.simulator import generate_hospitals, serve_hospitals
from tests.conftest import passport_rows

MODES = [
    pytest.param({"initial_sync": "snapshot"}, id="snapshot"),
    pytest.param({"initial_sync": "feed"}, id="feed"),
    pytest.param({"mode": "poll", "poll_recheck_per_run": 10_000}, id="poll"),
]


@pytest.fixture
def history_servers() -> Any:
    hospitals = generate_hospitals(n=2, patients=10, obs_per_patient=6, seed=5)
    with serve_hospitals(hospitals) as running:
        yield running


def assert_passport_matches(store: Any, hospital: Any) -> None:
    """Every whole-history row of ``hospital`` is in the passport as the simulator says."""
    truth = hospital.history_truth()
    for rtype, rows in truth.items():
        stored = store.get_records(hospital.id, rtype, list(rows))
        for uuid, want in rows.items():
            got = stored.get(uuid)
            where = f"{hospital.id} {rtype}/{uuid}"
            if want["row"].voided:
                assert got is None or got["status"] in INVALID_STATUSES, where
                continue
            assert got is not None, f"{where} missing"
            assert (got["status"] not in INVALID_STATUSES) == want["valid"], (where, got["status"])
            assert got.get("superseded_by") == want["superseded_by"], where
            _check_fields(got, want["row"], where)


def _check_fields(got: dict[str, Any], row: Any, where: str) -> None:
    """Field values against the simulator's own rows (not against the mappers' output)."""
    assert got["doctor"] == row.provider.full_name, where
    if row.encounter is not None:
        assert got["facility"] == row.encounter.location.name, where
    data = got["data"]
    kind = row.resource_type
    if kind == "AllergyIntolerance":
        assert (got["type"], got["name"], data["severity"]) == (
            "allergy",
            row.allergen,
            row.severity,
        ), where
    elif kind == "Condition":
        assert (got["type"], data["name"]) == ("condition", row.diagnosis), where
        assert data["clinicalStatus"] == row.status, where
    elif kind in ("MedicationRequest", "MedicationDispense"):
        drug = row.drug if kind == "MedicationRequest" else row.order.drug
        assert (got["type"], data["medicationName"]) == ("medication", drug), where
    elif kind == "ServiceRequest":
        assert (got["type"], data["testName"]) == ("test", row.test), where
    elif kind == "DiagnosticReport":
        result = row.results[0]
        assert (got["type"], got["value"]) == ("test", f"{result.value:g}"), where


def _feeds(**options: Any) -> dict[str, Any]:
    return {"feeds": list(DEFAULT_FEEDS), **options}


@pytest.mark.parametrize("options", MODES)
def test_the_whole_history_arrives_and_changes_propagate(
    history_servers: list[Any], make_passport: Any, options: dict[str, Any]
) -> None:
    config, store, pipeline = make_passport(history_servers, **_feeds(**options))
    assert all(s.ok for s in pipeline.sync_all())
    for server in history_servers:
        truth = server.hospital.history_truth()
        assert all(truth[t] for t in truth), "the generated history holds every type"
        assert_passport_matches(store, server.hospital)

    h = history_servers[0].hospital
    truth = h.history_truth()
    live = [
        u
        for u, t in truth["MedicationRequest"].items()
        if t["valid"] and t["row"].action == "NEW" and t["row"].stopped is None
    ]
    allergies = [u for u, t in truth["AllergyIntolerance"].items() if t["valid"]]
    problems = [
        u
        for u, t in truth["Condition"].items()
        if t["valid"] and t["row"].rank is None and t["row"].status == "active"
    ]
    open_tests = [
        u
        for u, t in truth["ServiceRequest"].items()
        if t["valid"] and t["row"].action == "NEW" and t["row"].stopped is None
    ]
    assert len(live) >= 2 and len(allergies) >= 2 and problems and open_tests
    revised = h.revise_order(live[0], dose=5)
    discontinued = h.discontinue_order(live[1])
    h.resolve_condition(problems[0])
    h.edit_allergy(allergies[0], severity="severe", comment="worse")
    h.void_record("AllergyIntolerance", allergies[1])
    report = h.report_result(open_tests[0], 13.5)
    summaries = pipeline.sync_all()
    assert all(s.ok for s in summaries) and sum(s.conflicts for s in summaries) == 0
    assert_passport_matches(store, h)

    got = store.get_records(h.id, "MedicationRequest", [live[0], live[1], revised])
    assert got[live[0]]["superseded_by"] == revised and got[revised]["status"] == "final"
    assert got[live[1]]["superseded_by"] == discontinued
    assert store.get_records(h.id, "AllergyIntolerance", [allergies[1]])[allergies[1]][
        "status"
    ] == ("entered-in-error")
    assert store.get_records(h.id, "DiagnosticReport", [report])[report]["value"] == "13.5"

    before = passport_rows(store, config)
    again = pipeline.sync_all()
    assert all(s.ok for s in again) and sum(s.written for s in again) == 0
    assert passport_rows(store, config) == before


@pytest.mark.parametrize("options", [MODES[0], MODES[2]])
def test_a_server_without_a_type_syncs_every_other(
    make_passport: Any, options: dict[str, Any]
) -> None:
    """fhir2 before OpenMRS 2.6 has no MedicationDispense: its search answers 404. The default
    feeds still name it; the rest of the history must arrive and the run stay ok."""
    hospital = generate_hospitals(n=1, patients=8, obs_per_patient=4, seed=5)[0]
    hospital.unserved = {"MedicationDispense"}
    with serve_hospitals([hospital]) as servers:
        _config, store, pipeline = make_passport(servers, **_feeds(**options))
        summary = pipeline.sync_source(hospital.id)
    assert summary.ok, summary.error
    assert store.list_failed() == []
    for rtype, rows in hospital.history_truth().items():
        stored = store.find_records(hospital.id, rtype)
        if rtype == "MedicationDispense":
            assert stored == []
        else:
            assert {r["uuid"] for r in stored} == {
                u for u, t in rows.items() if not t["row"].voided
            }
