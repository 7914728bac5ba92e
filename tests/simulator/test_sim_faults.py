"""Injected faults: each mode seen by a real HTTP client, counted in stats, switchable live."""

from __future__ import annotations

import json

import httpx
import pytest

from sync2.simulator import FaultConfig, HospitalServer, generate_hospitals, serve_hospitals


def test_faults_limited_to_feed_paths(
    server: HospitalServer, fhir: httpx.Client, feed: httpx.Client
) -> None:
    server.faults = FaultConfig(error_500=1.0, paths=("/ws/atomfeed/",))
    assert feed.get("/patient/recent").status_code == 500
    assert fhir.get("/Patient").status_code == 200
    assert server.stats["fault_error_500"] == 1
    server.faults = None
    assert feed.get("/patient/recent").status_code == 200


@pytest.mark.parametrize("kind", ["error_503", "error_429"])
def test_retry_after(server: HospitalServer, fhir: httpx.Client, kind: str) -> None:
    server.faults = FaultConfig(**{kind: 1.0}, retry_after=7)
    r = fhir.get("/Patient")
    assert r.status_code == int(kind[-3:])
    assert r.headers["retry-after"] == "7"
    assert server.stats["faults"] == 1


def test_truncated_json_and_invalid_xml(
    server: HospitalServer, fhir: httpx.Client, feed: httpx.Client
) -> None:
    server.faults = FaultConfig(truncated=1.0)
    r = fhir.get("/Observation")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    server.faults = FaultConfig(invalid_xml=1.0)
    page = feed.get("/observation/1")
    assert page.status_code == 200
    assert not page.text.rstrip().endswith("</feed>")
    assert fhir.get("/Observation").json()["resourceType"] == "Bundle"  # JSON paths unaffected


def test_reset_wrong_type_redirect_oversized(server: HospitalServer, fhir: httpx.Client) -> None:
    server.faults = FaultConfig(reset=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        fhir.get("/Observation?_count=50")
    server.faults = FaultConfig(wrong_content_type=1.0)
    r = fhir.get("/Observation")
    assert r.headers["content-type"].startswith("text/html")
    server.faults = FaultConfig(redirect_loop=1.0)
    with pytest.raises(httpx.TooManyRedirects):
        fhir.get("/Observation", follow_redirects=True)
    server.faults = FaultConfig(oversized=1.0, oversized_bytes=3_000_000)
    assert len(fhir.get("/Observation").content) == 3_000_000
    assert server.stats["fault_reset"] == 1
    assert server.stats["fault_redirect_loop"] > 1


def test_fault_rates_are_seeded_and_partial() -> None:
    hospitals = generate_hospitals(n=1, patients=2, obs_per_patient=2, seed=1)
    faults = FaultConfig(error_500=0.3, seed=42)
    codes = []
    for _ in range(2):
        with serve_hospitals(hospitals, faults=faults) as servers, httpx.Client() as c:
            url = servers[0].url + "/ws/atomfeed/patient/recent"
            codes.append([c.get(url).status_code for _ in range(40)])
    assert codes[0] == codes[1]
    assert 0 < codes[0].count(500) < 40


def test_rates_are_validated() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        FaultConfig(error_500=1.5)
