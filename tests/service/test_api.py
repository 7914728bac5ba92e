"""Each admin endpoint against simulated hospitals over real HTTP."""

from __future__ import annotations

import time
from typing import Any

from sync2.pipeline import Pipeline
from sync2.service import Service, create_app
from sync2.store import Conflict, FailedEvent, WriteBatch
from sync2.store._base import FAILED_DEAD, FAILED_DONE

from .conftest import (
    ADMIN,
    DOCTOR,
    TestClient,
    national_id_at_every_hospital,
    national_id_written_differently,
)

P = "/api/openmrs-sync"


def _obs_count(service: Service, source: str) -> int:
    return len(service.store.find_records(source, "Observation"))


def test_sync_all_wait_brings_every_hospital_in(
    client: Any, service: Service, servers: Any
) -> None:
    r = client.post(f"{P}/sync-all?wait=true", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    results = {s["source"]: s for s in body["data"]["sources"]}
    assert set(results) == {s.hospital.id for s in servers}
    for s in servers:
        assert results[s.hospital.id]["ok"] is True
        assert _obs_count(service, s.hospital.id) == len(s.hospital.valid_observations())
    runs = service.store.list_audit(kind="sync")
    assert {e.actor for e in runs} == {"admin:ops"}


def test_sync_all_in_background_returns_202_then_syncs(client: Any, service: Service) -> None:
    r = client.post(f"{P}/sync-all", headers=ADMIN)
    assert r.status_code == 202
    assert r.json()["data"] == {"status": "triggered"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(service.store.list_audit(kind="sync")) < 2:
        time.sleep(0.05)
    assert len(service.store.list_audit(kind="sync")) == 2


def test_sync_source_one_hospital_now(client: Any, service: Service, servers: Any) -> None:
    r = client.post(f"{P}/sync-source/central", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["source"] == "central" and r.json()["data"]["ok"] is True
    assert _obs_count(service, "central") > 0
    assert _obs_count(service, "north") == 0
    assert client.post(f"{P}/sync-source/nowhere", headers=ADMIN).status_code == 404


def test_sync_patient_pulls_the_patient_from_every_hospital(
    client: Any, service: Service, servers: Any
) -> None:
    _check_sync_patient(client, service, servers, national_id_at_every_hospital(servers))


def test_sync_patient_finds_a_national_id_written_differently(
    client: Any, service: Service, servers: Any
) -> None:
    _check_sync_patient(client, service, servers, national_id_written_differently(servers))


def _check_sync_patient(client: Any, service: Service, servers: Any, nid: str) -> None:
    r = client.post(f"{P}/sync-patient/{nid}", headers=DOCTOR)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["totalSynced"] > 0
    from mappers import normalise_national_id

    patient_id = normalise_national_id(nid)
    records = service.store.records_for_patient(patient_id)
    expected: set[str] = set()
    for s in servers:
        fhir = s.hospital.patient_by_national_id(nid)
        if fhir is None:
            continue
        expected |= {
            o["id"]
            for o in s.hospital.valid_observations()
            if o["subject"]["reference"].endswith(fhir["id"])
        }
    got = {r["uuid"] for r in records if r["resource_type"] == "Observation"}
    assert sum(1 for s in servers if s.hospital.patient_by_national_id(nid)) == 2
    assert expected and got == expected
    # only this patient was pulled
    others = [
        r for sc in service.config.sources for r in service.store.find_records(sc.id, "Observation")
    ]
    assert {r["patient_id"] for r in others} == {patient_id}


def test_sync_record_one_observation(client: Any, service: Service, servers: Any) -> None:
    obs = servers[0].hospital.valid_observations()[0]
    body = {"source": servers[0].hospital.id, "type": "Observation", "uuid": obs["id"]}
    r = client.post(f"{P}/sync-record", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    stored = service.store.get_records(servers[0].hospital.id, "Observation", [obs["id"]])
    assert set(stored) == {obs["id"]}
    bad = client.post(f"{P}/sync-record", json={**body, "type": "Banana"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["success"] is False
    missing = client.post(f"{P}/sync-record", json={"source": "central"}, headers=ADMIN)
    assert missing.status_code == 422 and "uuid" in missing.json()["message"]


def test_status_per_source(client: Any, service: Service) -> None:
    before = client.get(f"{P}/status", headers=ADMIN).json()["data"]
    assert [s["state"] for s in before["sources"]] == ["stopped", "stopped"]
    assert before["sources"][0]["last_success"] is None
    client.post(f"{P}/sync-all?wait=true", headers=ADMIN)
    data = client.get(f"{P}/status", headers=DOCTOR).json()["data"]
    for s in data["sources"]:
        assert s["last_success"] is not None and s["lag_seconds"] >= 0
        assert s["last_error"] is None
        assert s["breaker"] == "closed"
        assert s["last_run"]["written"] > 0
        assert s["failed_open"] == 0
    assert data["counts"]["medicalrecords"] > 0
    assert data["scheduler"]["leases"] is True


def test_status_after_a_failed_run_shows_the_error(
    config: Any, make_service: Any, auth: Any
) -> None:
    config.sources[0].base_url = "http://127.0.0.1:9/openmrs"  # nothing listens on port 9
    config.http.retries = 0
    service = make_service(config)
    with TestClient(create_app(service, auth)) as c:
        c.post(f"{P}/sync-all?wait=true", headers=ADMIN)
        sources = c.get(f"{P}/status", headers=ADMIN).json()["data"]["sources"]
    assert sources[0]["last_error"] and sources[0]["last_success"] is None
    assert sources[1]["last_error"] is None and sources[1]["last_success"] is not None


def _failed(service: Service, source: str, uuid: str, state: str = "pending") -> int:
    service.store.apply(
        WriteBatch(
            failed=[
                FailedEvent(
                    source=source,
                    resource_type="Observation",
                    uuid=uuid,
                    error="HTTP 500 from the hospital",
                    state=state,
                )
            ]
        )
    )
    return next(e for e in service.store.list_failed(source=source) if e.uuid == uuid).id  # type: ignore[return-value]


def test_failed_list_retry_one_and_retry_all(client: Any, service: Service, servers: Any) -> None:
    first, second = servers[0].hospital.valid_observations()[:2]
    source = servers[0].hospital.id
    id1 = _failed(service, source, first["id"], state=FAILED_DEAD)
    _failed(service, source, second["id"])
    listed = client.get(f"{P}/failed", headers=ADMIN).json()["data"]
    assert {e["uuid"] for e in listed} == {first["id"], second["id"]}
    dead = client.get(f"{P}/failed?state=dead", headers=ADMIN).json()["data"]
    assert [e["id"] for e in dead] == [id1]

    r = client.post(f"{P}/failed/{id1}/retry", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["counts"]["done"] == 1
    assert r.json()["data"]["event"]["state"] == FAILED_DONE
    assert client.post(f"{P}/failed/424242/retry", headers=ADMIN).status_code == 404

    r = client.post(f"{P}/failed/retry-all", headers=ADMIN)
    assert r.json()["data"]["done"] == 1
    assert service.store.get_records(source, "Observation", [first["id"], second["id"]]).keys() == {
        first["id"],
        second["id"],
    }
    retries = service.store.list_audit(kind="retry")
    assert retries and all(e.actor == "admin:ops" for e in retries)


def _conflict(service: Service) -> int:
    service.store.apply(
        WriteBatch(
            conflicts=[
                Conflict(
                    source="central",
                    resource_type="Observation",
                    uuid="obs-1",
                    base={"value": 1},
                    passport={"value": 2},
                    incoming={"value": 3},
                    reason="both changed value",
                )
            ]
        )
    )
    return service.store.list_conflicts()[0].id  # type: ignore[return-value]


def test_conflicts_list_and_show(client: Any, service: Service) -> None:
    cid = _conflict(service)
    listed = client.get(f"{P}/conflicts", headers=ADMIN).json()["data"]
    assert [c["id"] for c in listed] == [cid]
    shown = client.get(f"{P}/conflicts/{cid}", headers=ADMIN).json()["data"]
    assert shown["incoming"] == {"value": 3} and shown["reason"] == "both changed value"
    assert client.get(f"{P}/conflicts/{cid + 1}", headers=ADMIN).status_code == 404


class _NoResolvePipeline(Pipeline):
    resolve_conflict = None  # an engine built before conflict resolution


def test_resolve_is_501_when_the_engine_cannot_resolve(config: Any, auth: Any) -> None:
    from sync2.store import open_store

    store = open_store(config.passport.store)
    service = Service.build(config, store=store, pipeline=_NoResolvePipeline(config, store))
    try:
        cid = _conflict(service)
        with TestClient(create_app(service, auth)) as c:
            r = c.post(f"{P}/conflicts/{cid}/resolve", json={"take": "incoming"}, headers=ADMIN)
        assert r.status_code == 501
        assert r.json() == {
            "success": False,
            "error": "not_implemented",
            "message": "conflict resolution is not available in this version of the sync2 engine",
        }
    finally:
        service.close()
        store.close()


def test_resolve_writes_the_merged_value_with_the_admin_as_actor(
    client: Any, service: Service, servers: Any
) -> None:
    """A real resolution: a synced record of the simulator, a conflict on it, merged over HTTP."""
    assert client.post(f"{P}/sync-source/central", headers=ADMIN).status_code == 200
    obs = next(o for o in servers[0].hospital.valid_observations() if "valueQuantity" in o)
    value = obs["valueQuantity"]["value"]
    service.store.apply(
        WriteBatch(
            conflicts=[
                Conflict(
                    source="central",
                    resource_type="Observation",
                    uuid=obs["id"],
                    base={"value": value},
                    passport={"value": "1"},
                    incoming={"value": "2"},
                    reason="both changed value",
                )
            ]
        )
    )
    cid = service.store.list_conflicts()[0].id
    r = client.post(f"{P}/conflicts/{cid}/resolve", json={"merged": {"value": "4"}}, headers=ADMIN)
    assert r.status_code == 200, r.text
    (record,) = service.store.find_records("central", "Observation", uuid=obs["id"])
    assert record["value"] == "4"
    assert service.store.get_conflict(cid).resolution == "merged by admin:ops"  # type: ignore[union-attr]
    assert client.get(f"{P}/conflicts", headers=ADMIN).json()["data"] == []
    (entry,) = service.store.list_audit(kind="conflict-resolved")
    assert (entry.actor, entry.details["conflict_id"]) == ("admin:ops", cid)


def test_audit_is_queryable(client: Any, service: Service) -> None:
    client.post(f"{P}/sync-source/central", headers=ADMIN)
    client.post(f"{P}/stop", headers=ADMIN)
    entries = client.get(f"{P}/audit?source=central&kind=sync", headers=ADMIN).json()["data"]
    assert len(entries) == 1 and entries[0]["actor"] == "admin:ops"
    limited = client.get(f"{P}/audit?limit=1", headers=ADMIN).json()["data"]
    assert len(limited) == 1 and limited[0]["kind"] == "scheduler"


def test_start_and_stop_over_http(client: Any, service: Service) -> None:
    r = client.post(f"{P}/start", json={"intervalMinutes": 1}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["data"]["status"] == "running"
    assert service.scheduler.running and service.scheduler.interval_override == 60
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(service.store.list_audit(kind="sync")) < 2:
        time.sleep(0.05)
    assert {e.actor for e in service.store.list_audit(kind="sync")} == {"scheduler"}
    assert client.get("/healthz").json()["scheduler"] is True
    r = client.post(f"{P}/stop", headers=ADMIN)
    assert r.json()["data"] == {"status": "stopped"}
    assert not service.scheduler.running
    bad = client.post(f"{P}/start", json={"intervalMinutes": -1}, headers=ADMIN)
    assert bad.status_code == 422


def test_metrics_count_per_source(client: Any, service: Service, servers: Any) -> None:
    started = time.time()
    client.post(f"{P}/sync-all?wait=true", headers=ADMIN)
    text = client.get("/metrics", headers=ADMIN).text
    for s in servers:
        line = f'sync2_records_written_total{{source="{s.hospital.id}"}}'
        value = float(next(x for x in text.splitlines() if x.startswith(line)).split()[-1])
        summaries = service.store.list_audit(kind="sync", source=s.hospital.id)
        assert value == summaries[0].details["written"] > 0
        assert f'sync2_runs_total{{outcome="ok",source="{s.hospital.id}"}} 1.0' in text
        stamp = f'sync2_last_success_timestamp_seconds{{source="{s.hospital.id}"}} '
        lines = [x for x in text.splitlines() if x.startswith(stamp)]
        assert len(lines) == 1, f"no {stamp} line"
        assert started <= float(lines[0].split()[-1]) <= time.time()
    assert 'sync2_failed_events{source="central",state="open"} 0.0' in text
    assert "sync2_open_conflicts 0.0" in text
    assert "sync2_run_duration_seconds_count" in text


def test_resolve_through_the_real_engine_reports_bad_choices(client: Any, service: Service) -> None:
    cid = _conflict(service)
    both = {"take": "source", "merged": {"value": 4}}
    r = client.post(f"{P}/conflicts/{cid}/resolve", json=both, headers=ADMIN)
    assert r.status_code == 400
    assert r.json()["message"] == "give exactly one of take ('source' | 'passport') or merged"
    r = client.post(f"{P}/conflicts/{cid}/resolve", json={"take": "source"}, headers=ADMIN)
    assert r.status_code == 404, r.text  # its record obs-1 was never synced into the passport
    assert service.store.get_conflict(cid).state == "open"  # type: ignore[union-attr]
