"""Over real HTTP: a classic-feed hospital read through fhir2, and a REST-only hospital.

The truth is the simulator's own: its valid rows rendered as fhir2 would (``valid_resources``),
put through the shared mappers; the passport must hold the same records with the same fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mappers import map_resource, normalise_national_id
from mappers._context import MappingContext
from mappers.documents import INVALID_STATUSES, RecordDoc
from sync2.cli import status_report
from sync2.config import Config
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.simulator._rest import configure, corrupt
from sync2.store import PassportStore, open_store
from tests.conftest import passport_rows

FIELDS = ("patient_id", "name", "value", "unit", "effective", "status", "doctor", "facility")


@pytest.fixture(scope="module")
def servers() -> Iterator[list[Any]]:
    """central: classic feed with fhir2; north: classic feed, no fhir2 (REST only)."""
    hospitals = generate_hospitals(n=2, patients=6, obs_per_patient=6, seed=11)
    configure(hospitals[0], feed_dialect="classic")
    configure(hospitals[1], feed_dialect="classic", fhir=False)
    with serve_hospitals(hospitals) as running:
        yield running


@pytest.fixture
def passport(
    servers: list[Any], tmp_path: Path
) -> Iterator[Callable[[str], tuple[Config, PassportStore, Pipeline]]]:
    opened: list[tuple[PassportStore, Pipeline]] = []

    def _make(name: str) -> tuple[Config, PassportStore, Pipeline]:
        config = config_for_servers(servers, f"sqlite:///{tmp_path / name}.db")
        rest = config.sources[1].model_copy(update={"kind": "openmrs-rest"})
        config.sources[1] = rest
        store = open_store(config.passport.store)
        pipeline = Pipeline(config, store)
        opened.append((store, pipeline))
        return config, store, pipeline

    yield _make
    for store, pipeline in opened:
        pipeline.close()
        store.close()


def _truth(server: Any, rtype: str) -> dict[str, dict[str, Any]]:
    """The simulator's valid records of one type, mapped by the shared mappers."""
    h = server.hospital
    encounters = {}
    ctx = MappingContext(source=h.id, hospital=h.name, identifier_types=(), encounters=encounters)
    out = {}
    for resource in h.valid_resources(rtype):
        doc = map_resource(resource, ctx)
        assert isinstance(doc, RecordDoc)
        out[doc.uuid] = {"value": doc.value, "name": doc.name, "unit": doc.unit, "type": doc.type}
    return out


def _valid(store: PassportStore, source: str, rtype: str) -> dict[str, dict[str, Any]]:
    return {
        d["uuid"]: d
        for d in store.find_records(source, rtype)
        if d["status"] not in INVALID_STATUSES
    }


def test_both_hospitals_give_the_simulators_truth_and_resync_writes_nothing(
    servers: list[Any], passport: Any
) -> None:
    config, store, pipeline = passport("first")
    summaries = pipeline.sync_all()
    assert all(s.ok for s in summaries), [s.error for s in summaries]
    for server in servers:
        source = server.hospital.id
        for rtype in ("Observation", "Encounter"):
            truth = _truth(server, rtype)
            got = _valid(store, source, rtype)
            assert set(got) == set(truth), (source, rtype)
            for uuid, expected in truth.items():
                assert {k: got[uuid][k] for k in expected} == expected, (source, uuid)
        obs = _valid(store, source, "Observation").values()
        assert all(d["patient_id"] and d["doctor"] and d["facility"] for d in obs), source
        assert store.list_failed(source=source) == []
    before = passport_rows(store, config)
    again = pipeline.sync_all()
    assert sum(s.written for s in again) == 0
    assert passport_rows(store, config) == before


def test_an_edit_and_a_void_propagate_at_each_hospital(servers: list[Any], passport: Any) -> None:
    _config, store, pipeline = passport("edits")
    pipeline.sync_all()
    for server in servers:
        h = server.hospital
        numeric = [
            o for o in h.valid_observations() if "valueQuantity" in o and not o.get("hasMember")
        ]
        target, victim = numeric[0], numeric[1]
        new_uuid = h.amend_observation(target["id"], 77)
        h.void_observation(victim["id"])
        assert all(s.ok for s in pipeline.sync_all())
        src = h.id
        old = store.get_records(src, "Observation", [target["id"]])[target["id"]]
        new = store.get_records(src, "Observation", [new_uuid])[new_uuid]
        voided = store.get_records(src, "Observation", [victim["id"]])[victim["id"]]
        assert (new["value"], new["status"]) == ("77", "amended"), src
        assert (old["status"], old["superseded_by"]) == ("superseded", new_uuid), src
        assert voided["status"] == "entered-in-error", src
    assert sum(s.written for s in pipeline.sync_all()) == 0


def test_malformed_answers_and_unreadable_entries_become_failed_events(
    servers: list[Any], passport: Any
) -> None:
    _config, store, pipeline = passport("bad")
    pipeline.sync_all()
    h = servers[1].hospital
    patient = h.valid_resources("Patient")[0]["id"]
    fresh = h.add_observation(patient, "weight", 61.5)
    other = h.add_observation(patient, "height", 171.0)
    corrupt(h, f"obs/{fresh}", "<html><body>Proxy error</body></html>")
    feed = h.feeds["observation"]
    h.corrupt_feed_entry("observation", len(feed) - 1, "/openmrs/ws/rest/v1/concept/x-y")
    assert all(s.ok for s in pipeline.sync_all())
    failed = store.list_failed(source=h.id)
    by_uuid = {e.uuid: e.error for e in failed if e.uuid}
    assert list(by_uuid) == [fresh] and "JSON" in by_uuid[fresh]
    [entry] = [e.error for e in failed if not e.uuid]
    assert "names no uuid" in entry and "concept/x-y" in entry
    assert other not in _valid(store, h.id, "Observation")  # its only entry was unreadable
    h.rest_overrides.clear()  # type: ignore[attr-defined]  # the proxy recovers
    pipeline.retry_failed(only_due=False, actor="test")
    assert fresh in _valid(store, h.id, "Observation")


def test_sync_patient_reads_one_patients_history_through_rest(
    servers: list[Any], passport: Any
) -> None:
    _config, store, pipeline = passport("one")
    h = servers[1].hospital
    patient = next(p for p in h.valid_resources("Patient") if len(p["identifier"]) > 1)
    nid = next(i["value"] for i in patient["identifier"] if i["type"]["text"] == "National ID")
    pipeline.sync_patient(nid, actor="test")
    expected = {
        o["id"]
        for o in h.valid_observations()
        if o["subject"]["reference"] == f"Patient/{patient['id']}"
    }
    assert expected and set(_valid(store, h.id, "Observation")) == expected


def test_status_names_each_sources_dialect_and_fetch_path(
    servers: list[Any], passport: Any
) -> None:
    config, store, pipeline = passport("status")
    pipeline.sync_all()
    report = {s["id"]: s for s in status_report(config, store)["sources"]}
    central, north = (s.hospital.id for s in servers)
    assert (report[central]["feed_dialect"], report[central]["fetch_path"]) == ("classic", "fhir2")
    assert (report[north]["feed_dialect"], report[north]["fetch_path"]) == ("classic", "rest")


def test_a_patient_edit_and_void_at_the_rest_hospital_propagate(
    servers: list[Any], passport: Any
) -> None:
    _config, store, pipeline = passport("patients")
    pipeline.sync_all()
    h = servers[1].hospital
    patient = next(p for p in h.valid_resources("Patient") if len(p["identifier"]) > 1)
    nid = next(i["value"] for i in patient["identifier"] if i["type"]["text"] == "National ID")
    passport_id = normalise_national_id(nid)
    h.update_patient(patient["id"], family="Wanjiru-Otieno")
    assert all(s.ok for s in pipeline.sync_all())
    doc = store.get_patient(passport_id)
    assert doc is not None and doc["sources"][h.id]["family"] == "Wanjiru-Otieno"
    h.void_patient(patient["id"])
    assert all(s.ok for s in pipeline.sync_all())
    doc = store.get_patient(passport_id)
    links = {(link["source"], link["uuid"]) for link in (doc or {}).get("links") or []}
    assert (h.id, patient["id"]) not in links
