"""Failed events: stored with error, payload reference and feed position; the feed goes on;
retried with exponential backoff; dead-lettered after N tries; retriable by an admin. And order
per entity: a later change waits behind an earlier failed one."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync2.config import Config, MatchingConfig, PassportConfig, RetryConfig, SourceConfig
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals
from sync2.sources import Failure, FetchResult, Source, SourceBatch
from sync2.store import PassportStore, open_store
from sync2.store._base import FAILED_BLOCKED, FAILED_DEAD, FAILED_DONE, FAILED_OPEN_STATES


class FakeSource(Source):
    """A hospital in memory: batches are given, ``fetch`` serves current state or fails."""

    def __init__(self, resources: list[dict[str, Any]], batches: list[SourceBatch]) -> None:
        self.id, self.name = "fake", "Fake Hospital"
        self.current = {(r["resourceType"], r["id"]): r for r in resources}
        self.broken: set[str] = set()
        self._batches = batches

    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        done = int((cursors.get("feed:all") or {}).get("n", 0))
        yield from self._batches[done:]

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        result = FetchResult()
        for uuid in uuids:
            if uuid in self.broken:
                result.failures.append(
                    Failure(f"HTTP 500 for {resource_type}/{uuid}", resource_type, uuid)
                )
            elif (resource_type, uuid) in self.current:
                result.found[uuid] = self.current[(resource_type, uuid)]
        return result

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        return iter(())

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        return []


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def _hospital_resources() -> list[dict[str, Any]]:
    h = generate_hospitals(n=1, patients=3, obs_per_patient=4, seed=8)[0]
    out: list[dict[str, Any]] = []
    for rtype in ("Location", "Patient", "Encounter", "Observation"):
        out.extend(h.valid_resources(rtype))
    return out


def _numeric_obs(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == "Observation" and "valueQuantity" in r]


def _batch(n: int, resources: list[dict[str, Any]], failures: list[Failure]) -> SourceBatch:
    return SourceBatch(stream="feed:all", cursor={"n": n}, resources=resources, failures=failures)


def _setup(
    tmp_path: Path, batches: list[SourceBatch], resources: list[dict[str, Any]]
) -> tuple[Pipeline, PassportStore, FakeSource, Clock]:
    config = Config(  # type: ignore[call-arg]
        passport=PassportConfig(store=f"sqlite:///{tmp_path}/p.db"),  # type: ignore[call-arg]
        matching=MatchingConfig(identifier_types=["National ID"]),  # type: ignore[call-arg]
        retry=RetryConfig(max_attempts=3, backoff_seconds=10, max_backoff_seconds=1000),
        sources=[SourceConfig(id="fake", name="Fake Hospital", base_url="http://fake/openmrs")],  # type: ignore[call-arg]
    )
    store = open_store(config.passport.store)
    source = FakeSource(resources, batches)
    clock = Clock()
    return Pipeline(config, store, sources={"fake": source}, clock=clock), store, source, clock


@pytest.fixture
def resources() -> list[dict[str, Any]]:
    return _hospital_resources()


def test_lifecycle_pending_retrying_dead_then_admin_retry(
    tmp_path: Path, resources: list[dict[str, Any]]
) -> None:
    victim = _numeric_obs(resources)[0]
    others = [r for r in resources if r is not victim]
    failure = Failure(
        error="https://h/ws/fhir2/R4/Observation?_id=…: HTTP 500 server error",
        resource_type="Observation",
        uuid=victim["id"],
        action="UPDATED",
        payload_ref=f"Observation/{victim['id']}",
        position={"page": "http://h/openmrs/ws/atomfeed/observation/7", "entry_id": "tag:e1"},
    )
    pipeline, store, source, clock = _setup(tmp_path, [_batch(1, others, [failure])], resources)
    source.broken.add(victim["id"])
    summary = pipeline.sync_source("fake")
    assert summary.ok and summary.failed == 1
    assert store.get_cursor("fake", "feed:all") == {"n": 1}, "the feed goes on"
    stored = store.find_records("fake", "Observation")
    assert len(stored) == len(_numeric_obs(resources)) - 1 + sum(
        1 for r in others if r["resourceType"] == "Observation" and "valueQuantity" not in r
    )
    (event,) = store.list_failed(states=FAILED_OPEN_STATES)
    assert event.state == "pending" and event.attempts == 0
    assert "HTTP 500" in event.error and event.payload_ref == f"Observation/{victim['id']}"
    assert event.position["entry_id"] == "tag:e1" and event.action == "UPDATED"
    assert event.next_attempt_at == clock.now + 10

    assert pipeline.retry_failed() == {"done": 0, "retrying": 0, "dead": 0, "waiting": 0}
    delays = []
    for attempt in (1, 2):
        clock.now += 10_000
        assert pipeline.retry_failed()["retrying"] == 1
        (event,) = store.list_failed(states=FAILED_OPEN_STATES)
        assert event.attempts == attempt and event.state == "retrying"
        delays.append(event.next_attempt_at - clock.now)
    assert delays == [20, 40], "exponential backoff"
    clock.now += 10_000
    assert pipeline.retry_failed()["dead"] == 1
    assert store.list_failed(states=FAILED_OPEN_STATES) == []
    (dead,) = store.list_failed(states=[FAILED_DEAD])
    assert dead.attempts == 3 and "HTTP 500" in dead.error
    clock.now += 10_000
    assert pipeline.retry_failed()["done"] == 0, "dead letters wait for an admin"

    source.broken.clear()  # the hospital is fixed; an admin retries the dead letter
    assert pipeline.retry_failed(ids=[dead.id], actor="admin")["done"] == 1  # type: ignore[list-item]
    assert store.get_failed(dead.id).state == FAILED_DONE  # type: ignore[arg-type,union-attr]
    assert victim["id"] in store.get_records("fake", "Observation", [victim["id"]])


def test_a_record_that_still_cannot_be_mapped_is_dead_lettered_not_requeued(
    tmp_path: Path, resources: list[dict[str, Any]]
) -> None:
    unmappable = {"resourceType": "MedicationRequest", "id": "med-1"}
    pipeline, store, _source, clock = _setup(
        tmp_path, [_batch(1, [*resources, unmappable], [])], [*resources, unmappable]
    )
    summary = pipeline.sync_source("fake")
    assert summary.ok and summary.failed == 1
    (event,) = store.list_failed(states=FAILED_OPEN_STATES)
    assert event.uuid == "med-1" and event.error
    for _ in range(3):
        clock.now += 100_000
        pipeline.retry_failed()
    everything = store.list_failed()
    assert len(everything) == 1 and everything[0].state == FAILED_DEAD


def test_a_later_change_waits_behind_an_earlier_failed_one(
    tmp_path: Path, resources: list[dict[str, Any]]
) -> None:
    target = _numeric_obs(resources)[0]
    v2 = copy.deepcopy(target)
    v2["valueQuantity"] = {**v2["valueQuantity"], "value": 777}
    v2["meta"] = {"versionId": "2"}
    others = [r for r in resources if r is not target]
    failure = Failure("truncated JSON", "Observation", target["id"])
    batches = [_batch(1, others, [failure]), _batch(2, [v2], [])]
    pipeline, store, _source, clock = _setup(tmp_path, batches, [*others, v2])
    summary = pipeline.sync_source("fake")
    assert summary.ok
    assert target["id"] not in store.get_records("fake", "Observation", [target["id"]]), (
        "the newer change must not jump the queue"
    )
    events = store.list_failed(states=FAILED_OPEN_STATES)
    assert sorted(e.state for e in events) == [FAILED_BLOCKED, "pending"]
    assert {e.uuid for e in events} == {target["id"]}
    clock.now += 100_000
    assert pipeline.retry_failed() == {"done": 2, "retrying": 0, "dead": 0, "waiting": 0}
    stored = store.get_records("fake", "Observation", [target["id"]])[target["id"]]
    assert "777" in str(stored["value"]), "the newest version wins"
    assert store.list_failed(states=FAILED_OPEN_STATES) == []


def test_an_outage_burns_no_attempts(tmp_path: Path, resources: list[dict[str, Any]]) -> None:
    from sync2.sources.breaker import CircuitBreaker

    victim = _numeric_obs(resources)[0]
    failure = Failure("HTTP 503", "Observation", victim["id"])
    pipeline, store, source, clock = _setup(tmp_path, [_batch(1, [], [failure])], resources)
    pipeline.sync_source("fake")
    breaker = CircuitBreaker("fake", threshold=1, cooldown_seconds=60, clock=clock)
    source.breaker = breaker  # type: ignore[attr-defined]
    breaker.record_failure("connection refused")
    for _ in range(5):
        assert pipeline.retry_failed(only_due=False)["waiting"] == 1
    (event,) = store.list_failed(states=FAILED_OPEN_STATES)
    assert event.attempts == 0
    clock.now += 120  # the breaker lets a probe through; the hospital is back
    assert pipeline.retry_failed()["done"] == 1
