"""Bad input to the admin API over real HTTP: every case answers 4xx, and the service stays up.

Each case here answered 500 (or did work for a caller without a token) before the API bounded
its inputs and put its token and size checks in front of the body.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest

from sync2.service import Service

from .conftest import ADMIN, ADMIN_TOKEN, DOCTOR

P = "/api/openmrs-sync"
PAST_SQLITE_INTEGER = str(2**63)  # one more than SQLite's largest INTEGER


def _healthy(api: str) -> None:
    assert httpx.get(f"{api}/healthz", timeout=5).json()["status"] == "ok"
    assert httpx.get(f"{api}{P}/status", headers=ADMIN, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/failed?limit={PAST_SQLITE_INTEGER}", "limit"),
        ("GET", f"/audit?limit={PAST_SQLITE_INTEGER}", "limit"),
        ("GET", "/audit?limit=0", "limit"),
        ("GET", f"/conflicts/{PAST_SQLITE_INTEGER}", "conflict_id"),
        ("POST", f"/conflicts/{PAST_SQLITE_INTEGER}/resolve", "conflict_id"),
        ("POST", f"/failed/{PAST_SQLITE_INTEGER}/retry", "failed_id"),
        ("GET", "/failed?state=" + "x" * 5000, "state"),
    ],
)
def test_numbers_and_ids_out_of_range_are_422_naming_the_field(
    api: str, method: str, path: str, field: str
) -> None:
    body = {"take": "source"} if path.endswith("/resolve") else None
    r = httpx.request(method, f"{api}{P}{path}", headers=ADMIN, json=body, timeout=10)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_request" and field in r.json()["message"]
    _healthy(api)


@pytest.mark.parametrize("minutes", [1e308, 1e-9, 0, -1, "NaN", "Infinity"])
def test_start_interval_out_of_bounds_is_refused_and_status_still_answers(
    api: str, service: Service, minutes: Any
) -> None:
    r = httpx.post(f"{api}{P}/start", headers=ADMIN, json={"intervalMinutes": minutes}, timeout=5)
    assert r.status_code == 422, r.text
    assert "intervalMinutes" in r.json()["message"]
    assert not service.scheduler.running
    _healthy(api)


@pytest.mark.parametrize("length", [65, 10_000, 60_000])
def test_a_long_national_id_never_reaches_a_hospital(
    api: str, servers: list[Any], length: int
) -> None:
    before = [sum(s.stats.values()) for s in servers]
    r = httpx.post(f"{api}{P}/sync-patient/{'1' * length}", headers=DOCTOR, timeout=10)
    assert 400 <= r.status_code < 500, r.text
    assert [sum(s.stats.values()) for s in servers] == before
    _healthy(api)


@pytest.mark.parametrize("uuid", ["../../..", "..%2F..%2Fsession", "a/b", "x" * 39, "", " "])
def test_sync_record_takes_only_a_uuid_and_calls_no_hospital(
    api: str, servers: list[Any], uuid: str
) -> None:
    before = [sum(s.stats.values()) for s in servers]
    body = {"source": servers[0].hospital.id, "type": "Observation", "uuid": uuid}
    r = httpx.post(f"{api}{P}/sync-record", headers=ADMIN, json=body, timeout=10)
    assert r.status_code == 422, r.text
    assert "uuid" in r.json()["message"]
    assert [sum(s.stats.values()) for s in servers] == before


def test_without_a_token_the_body_is_not_parsed(api: str) -> None:
    r = httpx.post(
        f"{api}{P}/sync-record",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def _raw(api: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a request's head (and some body) on a socket; the status and what came back."""
    host, port = api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def test_a_100_mb_body_without_a_token_is_refused_before_it_is_sent(api: str) -> None:
    head = (
        f"POST {P}/sync-record HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n"
    )
    status, answer = _raw(api, head)  # not one byte of the body is sent
    assert status == 401, answer
    _healthy(api)


def _rss_bytes() -> int:
    """This process's resident memory now (the API under test runs in one of its threads)."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def test_a_100_mb_body_streamed_without_a_token_leaves_memory_flat(api: str) -> None:
    """All 100 MB go over the socket (uvicorn drains and drops what nobody reads); the memory
    of the process serving the API must not grow with them, as it did when the body was read
    and parsed before the token was checked."""
    total = 100 * 1024 * 1024
    head = (
        f"POST {P}/sync-record HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {total}\r\n\r\n"
    )
    baseline, peak, done = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    host, port = api.removeprefix("http://").split(":")
    chunk, answer = b" " * 65536, b""
    try:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(head.encode("latin-1"))
            for _ in range(total // len(chunk)):
                sock.sendall(chunk)
            answer = sock.recv(65536)
    finally:
        done.set()
        sampler.join(5)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
    assert peak[0] - baseline < 30 * 1024 * 1024, f"grew by {(peak[0] - baseline) >> 20} MB"
    _healthy(api)


def test_a_body_past_the_limit_is_413_by_length_or_by_stream(api: str) -> None:
    auth = f"Authorization: Bearer {ADMIN_TOKEN}\r\n"
    head = f"POST {P}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}"
    status, answer = _raw(api, head + f"Content-Length: {100 * 1024 * 1024}\r\n")
    assert status == 413, answer
    chunk = b'{"intervalMinutes": 5' + b" " * (2 * 1024 * 1024) + b"}"
    chunked = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    status, answer = _raw(api, head + "Transfer-Encoding: chunked\r\n", chunked)
    assert status == 413, answer
    _healthy(api)


def test_openapi_needs_a_token_and_there_is_no_docs_page(api: str) -> None:
    assert httpx.get(f"{api}/openapi.json", timeout=5).status_code == 401
    assert httpx.get(f"{api}/openapi.json", headers=DOCTOR, timeout=5).status_code == 403
    schema = httpx.get(f"{api}/openapi.json", headers=ADMIN, timeout=5).json()
    assert f"{P}/sync-patient/{{national_id}}" in schema["paths"]
    assert httpx.get(f"{api}/docs", timeout=5).status_code == 401
    assert httpx.get(f"{api}/docs", headers=ADMIN, timeout=5).status_code == 404
