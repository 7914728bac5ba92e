"""Practitioner and Location references without ``display`` (older fhir2, providers without a
person) still give every record its doctor and facility, read by id over real HTTP; a look-up
that fails is a failed event, and its retry brings the record in."""

from __future__ import annotations

from typing import Any

from conflicts.hashing import canonical_hash
from mappers.documents import INVALID_STATUSES, RECORD_RESOURCE_TYPES
from sync2.config import DEFAULT_FEEDS
from sync2.simulator import FaultConfig, generate_hospitals, serve_hospitals


def _bare_servers() -> Any:
    hospitals = generate_hospitals(n=1, patients=6, obs_per_patient=5, seed=11)
    hospitals[0].bare_references = True
    return serve_hospitals(hospitals)


def _expected_people(hospital: Any) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(type, uuid) -> (doctor, facility), from the simulator's rows."""
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    for enc in hospital.encounters.rows:
        if not enc.voided and enc.providers:
            out[("Encounter", enc.uuid)] = (enc.providers[0].full_name, enc.location.name)
    for obs in hospital.observations.rows:
        enc = obs.encounter
        if not obs.voided and enc.providers:
            out[("Observation", obs.uuid)] = (enc.providers[0].full_name, enc.location.name)
    for rtype, rows in hospital.history_truth().items():
        for uuid, want in rows.items():
            row = want["row"]
            if want["valid"]:
                place = row.encounter.location.name if row.encounter is not None else None
                out[(rtype, uuid)] = (row.provider.full_name, place)
    return out


def test_references_without_display_still_give_doctor_and_facility(make_passport: Any) -> None:
    with _bare_servers() as servers:
        hospital = servers[0].hospital
        sample = hospital.valid_resources("Encounter")
        assert any("participant" in e for e in sample)
        refs = [p["individual"] for e in sample for p in e.get("participant", [])]
        assert all("display" not in r for r in refs)
        _config, store, pipeline = make_passport(servers, feeds=list(DEFAULT_FEEDS))
        assert all(s.ok for s in pipeline.sync_all())
        expected = _expected_people(hospital)
        for (rtype, uuid), (doctor, facility) in expected.items():
            got = store.get_records(hospital.id, rtype, [uuid]).get(uuid)
            assert got is not None, (rtype, uuid)
            assert got["doctor"] == doctor, (rtype, uuid)
            if facility is not None:
                assert got["facility"] == facility, (rtype, uuid)
        assert store.list_failed() == []
        # the look-ups are kept in the passport's doctors
        providers = [p.uuid for p in hospital.practitioners.rows]
        assert set(store.get_doctors(hospital.id, providers)) == set(providers)


def test_a_failed_look_up_is_a_failed_event_then_retried(make_passport: Any) -> None:
    with _bare_servers() as servers:
        server = servers[0]
        hospital = server.hospital
        _config, store, pipeline = make_passport(
            servers, feeds=["location", "patient", "allergy"], initial_sync="feed"
        )
        server.faults = FaultConfig(error_500=1.0, paths=("/Practitioner",))
        summary = pipeline.sync_source(hospital.id)
        assert summary.ok
        failed = store.list_failed()
        allergies = {u for u, t in hospital.history_truth()["AllergyIntolerance"].items()}
        valid = {u for u in allergies if not hospital.tables["AllergyIntolerance"].get(u).voided}
        assert valid and {f.uuid for f in failed} >= valid
        assert all("Practitioner/" in f.error for f in failed if f.uuid in valid)
        stored = store.get_records(hospital.id, "AllergyIntolerance", valid)
        assert all(r["status"] in INVALID_STATUSES for r in stored.values())

        server.faults = None
        pipeline.retry_failed(only_due=False)
        got = store.get_records(hospital.id, "AllergyIntolerance", valid)
        assert set(got) == valid
        for uuid, doc in got.items():
            assert (
                doc["doctor"] == hospital.tables["AllergyIntolerance"].get(uuid).provider.full_name
            )


def test_each_stored_hash_is_the_hash_of_the_stored_resource(make_passport: Any) -> None:
    """The snapshot's search pages are hashed by the source (to tell versions apart) and the
    engine reuses those hashes; a resource whose references the engine fills in has changed,
    so its stored hash must be of the filled-in content, not of what the source read."""
    with _bare_servers() as servers:
        hospital = servers[0].hospital
        _config, store, pipeline = make_passport(servers, feeds=list(DEFAULT_FEEDS))
        assert all(s.ok for s in pipeline.sync_all())
        filled = 0
        for rtype in RECORD_RESOURCE_TYPES:
            for doc in store.find_records(hospital.id, rtype):
                assert doc["content_hash"] == canonical_hash(doc["raw"]), (rtype, doc["uuid"])
                people = [p.get("individual", {}) for p in doc["raw"].get("participant", [])]
                filled += sum(1 for person in people if person.get("display"))
        assert filled > 0  # the engine did fill references in this run
