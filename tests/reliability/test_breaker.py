"""The circuit breaker: its state machine, the transport refusing calls while open, a dead hospital
costing nothing while the others sync, and automatic recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sync2._errors import SourceUnavailable
from sync2.config import HttpConfig, SourceConfig
from sync2.simulator import FaultConfig, generate_hospitals, serve_hospitals
from sync2.sources.breaker import CircuitBreaker
from sync2.sources.http import HttpTransport

from .conftest import fast_source


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("events", "state"),
    [
        ([], "closed"),
        (["fail", "fail"], "closed"),
        (["fail", "fail", "fail"], "open"),
        (["fail", "fail", "ok", "fail", "fail"], "closed"),  # consecutive failures only
        (["fail", "fail", "fail", "wait"], "half-open"),
        (["fail", "fail", "fail", "wait", "probe", "ok"], "closed"),
        (["fail", "fail", "fail", "wait", "probe", "fail"], "open"),
        (["fail", "fail", "fail", "auth"], "closed"),  # a 401 is an answer from a live server
    ],
)
def test_state_machine(events: list[str], state: str) -> None:
    clock = Clock()
    breaker = CircuitBreaker("h", threshold=3, cooldown_seconds=30, clock=clock)
    for event in events:
        if event == "fail":
            breaker.record_failure("HTTP 503")
        elif event == "ok":
            breaker.record_success()
        elif event == "auth":
            breaker.record_unauthorised("HTTP 401")
        elif event == "wait":
            clock.now += 31
        elif event == "probe":
            breaker.check()
    assert breaker.state == state


def test_half_open_lets_one_probe_through_at_a_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker("h", threshold=1, cooldown_seconds=5, clock=clock)
    breaker.record_failure("reset")
    with pytest.raises(SourceUnavailable, match="circuit breaker open"):
        breaker.check()
    clock.now += 6
    breaker.check()  # the probe
    with pytest.raises(SourceUnavailable):
        breaker.check()  # a second caller while the probe is in flight
    assert breaker.snapshot()["refused"] == 2


def test_transport_stops_calling_a_dead_server_and_recovers() -> None:
    calls = {"n": 0}
    up = {"value": False}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if not up["value"]:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"resourceType": "Bundle"})

    clock = Clock()
    breaker = CircuitBreaker("dead", threshold=3, cooldown_seconds=60, clock=clock)
    transport = HttpTransport(
        "http://dead.example/openmrs",
        config=HttpConfig(retries=4),  # type: ignore[call-arg]
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=lambda _s: None,
        breaker=breaker,
    )
    with pytest.raises(SourceUnavailable):
        transport.get("http://dead.example/openmrs/ws/fhir2/R4/Patient")
    assert calls["n"] == 3, "retries stop as soon as the breaker opens"
    with pytest.raises(SourceUnavailable):
        transport.get("http://dead.example/openmrs/ws/fhir2/R4/Patient")
    assert calls["n"] == 3, "an open breaker costs no request"
    up["value"] = True
    clock.now += 61
    assert transport.get("http://dead.example/openmrs/ws/fhir2/R4/Patient").status == 200
    assert breaker.state == "closed" and calls["n"] == 4


def test_transient_failures_below_the_threshold_keep_it_closed() -> None:
    seq = iter([503, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(seq), json={})

    breaker = CircuitBreaker("h", threshold=3)
    transport = HttpTransport(
        "http://h/openmrs",
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=lambda _s: None,
        breaker=breaker,
    )
    assert transport.get("http://h/openmrs/ws/fhir2/R4/Patient").status == 200
    assert breaker.snapshot()["consecutive_failures"] == 0 and breaker.state == "closed"


@pytest.fixture
def two_servers() -> Iterator[list[Any]]:
    with serve_hospitals(generate_hospitals(n=2, patients=6, obs_per_patient=4, seed=4)) as s:
        yield s


def test_a_dead_hospital_fails_its_run_and_the_others_go_on(
    two_servers: list[Any], make_passport: Any
) -> None:
    config, store, pipeline = make_passport(two_servers, fast=True, initial_sync="feed")
    dead = SourceConfig(  # type: ignore[call-arg]
        id="dead", name="Dead Hospital", base_url="http://127.0.0.1:9/openmrs", feeds=["patient"]
    )
    config.sources.insert(0, dead)
    pipeline._sources["dead"] = fast_source(config, "dead", threshold=2, cooldown_seconds=60)
    first = {s.source: s for s in pipeline.sync_all()}
    assert not first["dead"].ok and first["dead"].error.startswith("unavailable:")
    assert "circuit breaker open" in first["dead"].error
    assert all(s.ok for k, s in first.items() if k != "dead")
    assert store.find_records(two_servers[1].hospital.id, "Observation")
    breaker = pipeline.source("dead").breaker  # what status reads
    assert breaker.snapshot()["state"] == "open"
    refused = breaker.refused
    again = {s.source: s for s in pipeline.sync_all()}
    assert not again["dead"].ok and breaker.refused == refused + 1, "one refused call, no wait"
    audit = [a for a in store.list_audit() if a.source == "dead"]
    assert audit and all(a.kind == "sync-failed" for a in audit)


def test_recovery_is_automatic(two_servers: list[Any], make_passport: Any) -> None:
    _config, store, pipeline = make_passport(two_servers[:1], fast=True, initial_sync="feed")
    server = two_servers[0]
    server.faults = FaultConfig(reset=1.0)
    down = pipeline.sync_all()[0]
    assert not down.ok
    source = pipeline.source(server.hospital.id)
    assert source.breaker.state in ("open", "half-open")
    server.faults = None
    time.sleep(source.breaker.retry_in() + 0.01)
    up = pipeline.sync_all()[0]
    assert up.ok, up.error
    assert source.breaker.state == "closed"
    expected = {o["id"] for o in server.hospital.valid_observations()}
    assert expected <= set(store.get_records(server.hospital.id, "Observation", expected))
