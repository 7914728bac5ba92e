"""Each HTTP fault, seen by the OpenMRS source against the simulator over real HTTP: what it
becomes (a failed fetch with a clear message, an auth stop, a gone record), and TLS defaults."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync2._errors import BadFeedError, ConfigError, SourceAuthError, TransientSourceError
from sync2.config import HttpConfig
from sync2.demo import config_for_servers
from sync2.simulator import FaultConfig, generate_hospitals, serve_hospitals
from sync2.sources.breaker import CircuitBreaker
from sync2.sources.http import HttpTransport
from sync2.sources.openmrs_fhir import OpenMRSFhirSource

from .conftest import fast_source


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve_hospitals(generate_hospitals(n=1, patients=4, obs_per_patient=4, seed=9)) as s:
        yield s[0]


@pytest.fixture
def source(server: Any, tmp_path: Path) -> Iterator[OpenMRSFhirSource]:
    server.faults = None
    config = config_for_servers([server], f"sqlite:///{tmp_path}/p.db")
    config.http = HttpConfig(max_response_bytes=1_000_000, timeout_seconds=0.3)  # type: ignore[call-arg]
    src = fast_source(config, server.hospital.id, threshold=1000)
    yield src
    src.close()
    server.faults = None


FAULTS = [
    ("error_500", {"error_500": 1.0}, "HTTP 500 server error"),
    ("error_503", {"error_503": 1.0}, "HTTP 503 service unavailable"),
    ("error_429", {"error_429": 1.0}, "HTTP 429 rate limited"),
    ("reset", {"reset": 1.0}, "connection failed"),
    ("truncated", {"truncated": 1.0}, "response is not JSON (application/fhir+json"),
    ("wrong_content_type", {"wrong_content_type": 1.0}, "response is not JSON (text/html"),
    ("oversized", {"oversized": 1.0, "oversized_bytes": 3_000_000}, "over the 1000000-byte limit"),
    ("redirect_loop", {"redirect_loop": 1.0}, "redirect loop"),
    ("timeout", {"slow": 1.0, "delay": 1.0}, "timed out"),
]


@pytest.mark.parametrize(("kind", "fault", "message"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_becomes_a_failed_fetch_with_a_clear_message(
    server: Any, source: OpenMRSFhirSource, kind: str, fault: dict[str, Any], message: str
) -> None:
    uuids = [o["id"] for o in server.hospital.valid_observations()[:3]]
    server.faults = FaultConfig(**fault, paths=("/Observation",))
    result = source.fetch("Observation", uuids)
    assert not result.found
    assert {f.uuid for f in result.failures} == set(uuids)
    assert all(message in f.error for f in result.failures), result.failures[0].error
    assert all(f.payload_ref == f"Observation/{f.uuid}" for f in result.failures)
    server.faults = None
    assert set(source.fetch("Observation", uuids).found) == set(uuids), "fine once it passes"


def test_retry_after_is_honoured(server: Any) -> None:
    sleeps: list[float] = []
    transport = HttpTransport(
        server.url,
        username=server.username,
        password=server.password,
        config=HttpConfig(retries=3),  # type: ignore[call-arg]
        sleep=sleeps.append,
        breaker=CircuitBreaker("h", threshold=100),
    )
    server.faults = FaultConfig(error_503=1.0, retry_after=7)
    try:
        with pytest.raises(TransientSourceError) as caught:
            transport.get(f"{server.fhir_base}/Patient")
    finally:
        server.faults = None
        transport.close()
    assert sleeps == [7.0, 7.0, 7.0]
    assert caught.value.status_code == 503 and caught.value.retry_after == 7.0


def test_invalid_feed_xml_is_reread_then_reported(server: Any, source: OpenMRSFhirSource) -> None:
    server.faults = FaultConfig(invalid_xml=1.0)
    before = server.stats["feed_pages"]
    with pytest.raises(BadFeedError, match="not valid XML"):
        list(source.batches({}))
    assert server.stats["feed_pages"] - before == 3, "a truncated page is read again twice"


def test_404_is_deleted_and_410_is_voided(server: Any, source: OpenMRSFhirSource) -> None:
    voided = server.hospital.valid_observations()[-1]["id"]
    server.hospital.void_observation(voided)
    missing = "00000000-0000-4000-8000-000000000000"
    result = source.fetch("Observation", [voided, missing])
    reasons = {g.uuid: g.reason for g in result.gone}
    assert reasons == {voided: "voided", missing: "deleted"}
    assert not result.failures


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_401_stops_the_source_and_marks_it_unauthorised(
    server: Any, tmp_path: Path, password: str | None
) -> None:
    config = config_for_servers([server], f"sqlite:///{tmp_path}/p.db")
    sc = config.sources[0]
    sc.password = None if password is None else type(sc.password)(password)  # type: ignore[misc]
    src = OpenMRSFhirSource(sc, config.http)
    uuid = server.hospital.valid_observations()[0]["id"]
    try:
        with pytest.raises(SourceAuthError, match="HTTP 401 not authenticated"):
            src.fetch("Observation", [uuid])
        assert src.breaker.snapshot()["unauthorised"] is True
        assert src.breaker.state == "closed", "a live server that refuses us is not 'down'"
    finally:
        src.close()


def test_tls_is_verified_by_default_and_a_ca_bundle_is_checked(tmp_path: Path) -> None:
    on = HttpTransport("https://hospital.example/openmrs")
    off = HttpTransport(
        "https://hospital.example/openmrs",
        config=HttpConfig(verify_tls=False),  # type: ignore[call-arg]
    )
    try:
        assert HttpConfig().verify_tls is True  # type: ignore[call-arg]
        assert _verify_mode(on) == ssl.CERT_REQUIRED
        assert _verify_mode(off) == ssl.CERT_NONE
    finally:
        on.close()
        off.close()
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ConfigError, match=r"no-such-ca\.pem"):
        HttpTransport("https://h/openmrs", config=HttpConfig(ca_bundle=str(missing)))  # type: ignore[call-arg]


def _verify_mode(transport: HttpTransport) -> int:
    pool = transport._client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(transport._client, httpx.Client)
    return int(pool._ssl_context.verify_mode)
