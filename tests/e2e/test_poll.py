"""mode = "poll": FHIR _lastUpdated polling for servers without the atom feed."""

from __future__ import annotations

from typing import Any

from mappers.documents import INVALID_STATUSES


def _valid_obs(store: Any, source: str) -> set[str]:
    return {
        d["uuid"]
        for d in store.find_records(source, "Observation")
        if d["status"] not in INVALID_STATUSES
    }


def test_polling_brings_everything_then_only_what_changed(
    servers: list[Any], make_passport: Any
) -> None:
    _config, store, pipeline = make_passport(servers, mode="poll")
    assert all(s.ok for s in pipeline.sync_all())
    for server in servers:
        expected = {o["id"] for o in server.hospital.valid_observations()}
        assert _valid_obs(store, server.hospital.id) == expected
    cursors = store.get_cursors(servers[0].hospital.id)
    assert set(cursors) >= {"poll:Patient", "poll:Encounter", "poll:Observation"}
    assert all(isinstance(c["watermark"], int) for k, c in cursors.items() if k.startswith("poll:"))

    again = pipeline.sync_all()
    assert sum(s.written for s in again) == 0 and sum(s.resources for s in again) == 0

    hospital = servers[0].hospital
    patient = next(iter(hospital.valid_resources("Patient")))["id"]
    new = hospital.add_observation(patient)
    target = next(o for o in hospital.valid_observations() if "valueQuantity" in o)
    amended = hospital.amend_observation(target["id"], 77)
    summary = pipeline.sync_source(hospital.id)
    assert summary.ok
    got = store.get_records(hospital.id, "Observation", [new, amended, target["id"]])
    assert got[new]["status"] not in INVALID_STATUSES
    assert got[amended]["value"] == "77"
    assert got[target["id"]]["status"] == "superseded"


def test_polling_finds_voids_by_rechecking_known_records(
    servers: list[Any], make_passport: Any
) -> None:
    _config, store, pipeline = make_passport(servers, mode="poll", poll_recheck_per_run=20)
    pipeline.sync_all()
    hospital = servers[0].hospital
    victims = sorted(o["id"] for o in hospital.valid_observations())[::7]
    for uuid in victims:
        hospital.void_observation(uuid)
    valid = store.count_records(hospital.id, "Observation", valid_only=True)
    passes = -(-valid // 20) + 1  # every record re-checked once the slice has gone round
    for _ in range(passes):
        assert pipeline.sync_source(hospital.id).ok
    got = store.get_records(hospital.id, "Observation", victims)
    assert {got[u]["status"] for u in victims} == {"entered-in-error"}
    expected = {o["id"] for o in hospital.valid_observations()}
    assert _valid_obs(store, hospital.id) == expected
