"""Issue 2 acceptance: three simulated hospitals, synced over real HTTP into SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.documents import INVALID_STATUSES
from sync2.pipeline import Pipeline
from tests.conftest import passport_rows


def _valid_passport_obs(store: Any, source: str) -> dict[str, dict[str, Any]]:
    return {
        d["uuid"]: d
        for d in store.find_records(source, "Observation")
        if d["status"] not in INVALID_STATUSES
    }


@pytest.mark.parametrize("initial_sync", ["snapshot", "feed"])
def test_passport_holds_exactly_the_valid_records_then_resync_changes_nothing(
    servers: list[Any], make_passport: Any, initial_sync: str
) -> None:
    config, store, pipeline = make_passport(servers, initial_sync=initial_sync)
    summaries = pipeline.sync_all()
    assert all(s.ok for s in summaries), [s.error for s in summaries]
    for server in servers:
        expected = {o["id"]: o for o in server.hospital.valid_observations()}
        got = _valid_passport_obs(store, server.hospital.id)
        assert set(got) == set(expected), server.hospital.id
        for uuid, doc in got.items():
            assert doc["hospital"] == server.hospital.name
            assert doc["patient_id"], uuid
        with_doctor = [d for d in got.values() if d.get("doctor")]
        assert len(with_doctor) == len(got), "every obs has an encounter with a doctor"
        # voided history in the simulator is not shown as valid
        for uuid in server.hospital.voided_observation_uuids():
            stored = store.get_records(server.hospital.id, "Observation", [uuid]).get(uuid)
            assert stored is None or stored["status"] in INVALID_STATUSES
    before = passport_rows(store, config)
    again = pipeline.sync_all()
    assert sum(s.written for s in again) == 0
    assert passport_rows(store, config) == before


def test_a_patient_at_three_hospitals_is_one_passport_patient(
    servers: list[Any], make_passport: Any
) -> None:
    _config, store, pipeline = make_passport(servers)
    pipeline.sync_all()
    from sync2.demo import _most_shared_patient

    nid, uuids = _most_shared_patient(servers)
    assert len(uuids) == 3
    patient = store.get_patient(nid)
    assert patient is not None
    assert {(link["source"], link["uuid"]) for link in patient["links"]} == set(uuids.items())
    hospitals = {r["source"] for r in store.records_for_patient(nid)}
    assert hospitals == set(uuids)


def test_amend_and_void_propagate(servers: list[Any], make_passport: Any) -> None:
    _config, store, pipeline = make_passport(servers)
    pipeline.sync_all()
    hospital = servers[0].hospital
    numeric = [
        o for o in hospital.valid_observations() if "valueQuantity" in o and not o.get("hasMember")
    ]
    target, victim = numeric[0], numeric[1]
    new_uuid = hospital.amend_observation(target["id"], 99)
    hospital.void_observation(victim["id"])
    summaries = pipeline.sync_all()
    assert all(s.ok for s in summaries)
    src = hospital.id
    old = store.get_records(src, "Observation", [target["id"]])[target["id"]]
    new = store.get_records(src, "Observation", [new_uuid])[new_uuid]
    voided = store.get_records(src, "Observation", [victim["id"]])[victim["id"]]
    assert new["value"] == "99" and new["status"] == "amended"
    assert old["status"] == "superseded" and old["superseded_by"] == new_uuid
    assert voided["status"] == "entered-in-error"
    shown = {
        r["uuid"]: r for r in store.records_for_patient(new["patient_id"], include_invalid=False)
    }
    assert new_uuid in shown and target["id"] not in shown and victim["id"] not in shown


def test_interrupted_sync_resumes_to_the_same_passport(
    servers: list[Any], make_passport: Any
) -> None:
    class Crash(Exception):
        pass

    applied = {"n": 0}

    def crash_after_three(_batch: Any) -> None:
        applied["n"] += 1
        if applied["n"] == 3:
            raise Crash

    clean_config, clean_store, clean = make_passport(servers, name="clean", initial_sync="feed")
    clean.sync_all()
    config, store, crashing = make_passport(
        servers,
        name="crashing",
        initial_sync="feed",
        pipeline_options={"after_apply": crash_after_three},
    )
    with pytest.raises(Crash):
        crashing.sync_all()
    partial = passport_rows(store, config)
    assert 0 < len(partial) < len(passport_rows(clean_store, clean_config))
    resumed = Pipeline(config, store)
    try:
        assert all(s.ok for s in resumed.sync_all())
    finally:
        resumed.close()
    assert passport_rows(store, config) == passport_rows(clean_store, clean_config)


def test_a_patient_voided_at_a_hospital_is_unlinked(servers: list[Any], make_passport: Any) -> None:
    _config, store, pipeline = make_passport(servers)
    pipeline.sync_all()
    from sync2.demo import _most_shared_patient

    nid, uuids = _most_shared_patient(servers)
    hospital = servers[0].hospital
    hospital.void_patient(uuids[hospital.id])
    assert all(s.ok for s in pipeline.sync_all())
    links = {(link["source"], link["uuid"]) for link in store.get_patient(nid)["links"]}
    assert (hospital.id, uuids[hospital.id]) not in links
    assert len(links) == len(uuids) - 1
    audit = store.list_audit(kind="patient-unlinked")
    assert len(audit) == 1 and nid not in audit[0].message
