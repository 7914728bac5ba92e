"""The HTTP edge: the status table, Retry-After, rebasing, retries and error translation."""

from __future__ import annotations

import httpx
import pytest

from sync2._errors import BadResponseError, SourceAuthError, TransientSourceError
from sync2.config import HttpConfig
from sync2.sources.http import HttpTransport, classify, rebase, retry_after_seconds


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, "ok"),
        (204, "ok"),
        (401, "auth"),
        (403, "auth"),
        (404, "missing"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (599, "retry"),
        (400, "fail"),
        (422, "fail"),
    ],
)
def test_classify(status: int, action: str) -> None:
    assert classify(status)[0] == action


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        (
            "http://localhost:8080/openmrs/ws/fhir2/R4?_getpages=a&_count=5",
            "https://real.org/openmrs/ws/fhir2/R4?_getpages=a&_count=5",
        ),
        (
            "http://x/openmrs/ws/fhir2//R4?_getpages=b",
            "https://real.org/openmrs/ws/fhir2/R4?_getpages=b",
        ),
        ("/ws/atomfeed/patient/2", "https://real.org/openmrs/ws/atomfeed/patient/2"),
    ],
)
def test_rebase_keeps_query_and_uses_configured_base(printed: str, expected: str) -> None:
    assert rebase(printed, "https://real.org/openmrs") == expected


def _transport(handler, **cfg) -> tuple[HttpTransport, list[float]]:  # type: ignore[no-untyped-def]
    slept: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(handler))
    t = HttpTransport(
        "http://h/openmrs",
        username="u",
        password="p",
        config=HttpConfig(**cfg),
        client=client,
        sleep=slept.append,
    )
    return t, slept


def test_retries_5xx_then_succeeds_honouring_retry_after() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503, headers={"Retry-After": "2"})
        return httpx.Response(200, json={"ok": True})

    t, slept = _transport(handler)
    assert t.get_json("http://h/openmrs/x") == (200, {"ok": True})
    assert len(calls) == 3 and slept == [2.0, 2.0]
    assert calls[0].headers["authorization"].startswith("Basic ")


def test_gives_up_after_configured_retries_with_transient_error() -> None:
    t, _ = _transport(lambda r: httpx.Response(500), retries=2)
    with pytest.raises(TransientSourceError, match="HTTP 500"):
        t.get("http://h/openmrs/ws/fhir2/R4/Patient")
    assert t.requests == 3


def test_401_is_an_auth_error_not_retried() -> None:
    t, _ = _transport(lambda r: httpx.Response(401))
    with pytest.raises(SourceAuthError, match="not authenticated"):
        t.get("http://h/openmrs/ws/fhir2/R4/Patient")
    assert t.requests == 1


def test_not_json_names_the_url_and_type() -> None:
    t, _ = _transport(
        lambda r: httpx.Response(200, text="<html>oops", headers={"content-type": "text/html"})
    )
    with pytest.raises(BadResponseError, match=r"Patient/1: response is not JSON \(text/html"):
        t.get_json("http://h/openmrs/ws/fhir2/R4/Patient/1")


def test_oversized_response_is_refused() -> None:
    t, _ = _transport(lambda r: httpx.Response(200, content=b"x" * 5000), max_response_bytes=1000)
    with pytest.raises(BadResponseError, match="over the 1000-byte limit"):
        t.get("http://h/openmrs/big")


def test_connection_error_is_transient_and_message_has_no_password() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    t, _ = _transport(handler, retries=1)
    with pytest.raises(TransientSourceError) as info:
        t.get("http://u:secret@h/openmrs/ws/fhir2/R4/Patient?identifier=NID123")
    assert "secret" not in str(info.value) and "NID123" not in str(info.value)
