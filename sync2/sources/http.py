"""HTTP to an OpenMRS server: one httpx client, retries, and a table of what each status means.

Foreign errors (httpx) are translated into the sync2 error tree here, at the edge, and nowhere
else. The classification of a response is a pure function over a table, tested on its own.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
)

from .._errors import (
    BadResponseError,
    ConfigError,
    SourceAuthError,
    SourceUnavailable,
    Sync2Error,
    TransientSourceError,
)
from ..config import HttpConfig
from .breaker import CircuitBreaker

Action = Literal["ok", "retry", "auth", "missing", "gone", "fail"]

#: status -> (action, what it means). Anything not listed: 2xx ok, 5xx retry, other 4xx fail.
STATUS_TABLE: dict[int, tuple[Action, str]] = {
    304: ("ok", "not modified"),
    401: ("auth", "not authenticated: check the source's username and password, or token"),
    403: ("auth", "forbidden: the user lacks the privilege"),
    404: ("missing", "not found (deleted, or never existed)"),
    408: ("retry", "request timeout"),
    410: ("gone", "gone (voided or retired at the source)"),
    425: ("retry", "too early"),
    429: ("retry", "rate limited"),
    500: ("retry", "server error"),
    502: ("retry", "bad gateway"),
    503: ("retry", "service unavailable"),
    504: ("retry", "gateway timeout"),
}


def classify(status: int) -> tuple[Action, str]:
    """What to do with a response status.

    >>> classify(200), classify(410)[0], classify(503)[0], classify(418)[0]
    (('ok', 'ok'), 'gone', 'retry', 'fail')
    """
    if status in STATUS_TABLE:
        return STATUS_TABLE[status]
    if 200 <= status < 300:
        return "ok", "ok"
    if status >= 500:
        return "retry", "server error"
    return "fail", f"unexpected status {status}"


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date).

    >>> retry_after_seconds("3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def rebase(url: str, base_url: str) -> str:
    """Put a server-printed URL onto our configured base, keeping its path tail and query.

    OpenMRS prints links with whatever host it thinks it has (``localhost:8080``, a double slash).
    We keep the part after the webapp root and the query, and use the base we were configured with.

    >>> rebase("http://localhost:8080/openmrs/ws/fhir2//R4?_getpages=x", "https://h.org/openmrs")
    'https://h.org/openmrs/ws/fhir2/R4?_getpages=x'
    >>> rebase("/ws/atomfeed/patient/3", "http://h/openmrs")
    'http://h/openmrs/ws/atomfeed/patient/3'
    """
    base = urlsplit(base_url.rstrip("/"))
    parts = urlsplit(url)
    path = parts.path
    while "//" in path:
        path = path.replace("//", "/")
    marker = path.find("/ws/")
    tail = path[marker:] if marker >= 0 else path
    return urlunsplit((base.scheme, base.netloc, base.path + tail, parts.query, ""))


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    url: str
    content_type: str


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on each request (httpx drops it on a redirect to
    another origin, as it does Basic auth)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __repr__(self) -> str:
        return "BearerAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class HttpTransport:
    """GETs against one OpenMRS server with Basic or bearer auth, timeouts, retries and a
    size limit.

    Read-only by construction: it has no method that writes. Every attempt goes through the
    source's :class:`~sync2.sources.breaker.CircuitBreaker` (``breaker``): while it is open a call
    is refused at once with ``SourceUnavailable``, so a dead hospital costs nothing.
    ``backoff_seconds`` is the first retry delay (doubling, at most 8 s); a ``Retry-After`` hint
    wins, capped at ``max_retry_after``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        auth: httpx.Auth | None = None,
        config: HttpConfig | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
        backoff_seconds: float = 0.2,
        max_retry_after: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker or CircuitBreaker(_safe_url(self.base_url))
        self.backoff_seconds = backoff_seconds
        self.max_retry_after = max_retry_after
        self.config = config or HttpConfig()  # type: ignore[call-arg]
        if auth is None and token:  # ``auth``: the caller's own scheme (a REST session)
            auth = BearerAuth(token)
        elif auth is None and username and password is not None:
            auth = httpx.BasicAuth(username, password)
        verify: Any = _tls_verify(self.config) if client is None else True
        self._client = client or httpx.Client(
            timeout=self.config.timeout_seconds,
            verify=verify,
            follow_redirects=True,
            max_redirects=5,
            limits=httpx.Limits(max_keepalive_connections=8, max_connections=16),
            headers={"Accept": "application/fhir+json, application/json, application/atom+xml"},
        )
        self._auth = auth
        self._sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    # -- the one I/O method ----------------------------------------------------------------
    def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        accept_missing: bool = False,
    ) -> Response:
        """GET with retries on transient failures.

        Returns the response for 2xx, and for 404/410 (the caller decides what absence means).

        Raises:
            TransientSourceError: still failing after the configured tries.
            SourceAuthError: 401/403.
            BadResponseError: another 4xx, or a body over the size limit.
        """
        attempts = max(1, self.config.retries + 1)

        def _wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = getattr(exc, "retry_after", None)
            backoff = min(8.0, self.backoff_seconds * (2 ** (state.attempt_number - 1)))
            return min(self.max_retry_after, hinted) if hinted is not None else backoff

        @retry(
            stop=stop_after_attempt(attempts),
            wait=_wait,
            retry=retry_if_exception_type(TransientSourceError)
            & retry_if_not_exception_type(SourceUnavailable),
            sleep=self._sleep,
            reraise=True,
        )
        def _once() -> Response:
            self.breaker.check(_safe_url(url))
            try:
                response = self._get_once(url, params, auth)
            except SourceAuthError as exc:
                self.breaker.record_unauthorised(str(exc))
                raise
            except TransientSourceError as exc:
                if exc.status_code is None or self.breaker.state != "closed":
                    self.breaker.record_failure(str(exc))  # nobody answered, or the probe failed
                raise
            except Sync2Error:
                self.breaker.record_success()  # a live server answered, if badly
                raise
            self.breaker.record_success()
            return response

        try:
            return _once()
        except SourceUnavailable:
            raise
        except TransientSourceError as exc:
            if exc.status_code is not None and self.breaker.state == "closed":
                # a server that answers 5xx/429 counts once per call, after all its retries: one
                # missing feed page (OpenMRS says 500) must not open the breaker on its own
                self.breaker.record_failure(str(exc))
            raise

    def _get_once(self, url: str, params: dict[str, Any] | None, auth: bool) -> Response:
        self.requests += 1
        with (
            _translate_errors(url),
            self._client.stream(
                "GET", url, params=params, auth=self._auth if auth else None
            ) as resp,
        ):
            body = self._read_limited(resp, url)
        action, meaning = classify(resp.status_code)
        content_type = resp.headers.get("content-type", "")
        if action in ("ok", "missing", "gone"):
            return Response(resp.status_code, body, str(resp.url), content_type)
        where = _safe_url(str(resp.url))
        if action == "retry":
            msg = f"{where}: HTTP {resp.status_code} {meaning}"
            raise TransientSourceError(
                msg,
                retry_after=retry_after_seconds(resp.headers.get("retry-after")),
                status_code=resp.status_code,
            )
        if action == "auth":
            msg = f"{where}: HTTP {resp.status_code} {meaning}"
            raise SourceAuthError(msg, status_code=resp.status_code)
        msg = f"{where}: HTTP {resp.status_code} {meaning}"
        raise BadResponseError(msg, status_code=resp.status_code)

    def _read_limited(self, resp: httpx.Response, url: str) -> bytes:
        limit = self.config.max_response_bytes
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            msg = f"{_safe_url(url)}: response of {declared} bytes is over the {limit}-byte limit"
            raise BadResponseError(msg, status_code=resp.status_code)
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > limit:
                msg = f"{_safe_url(url)}: response is over the {limit}-byte limit"
                raise BadResponseError(msg, status_code=resp.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """GET a JSON body; 404/410 come back as (status, None).

        Raises:
            BadResponseError: the body is not JSON (truncated, HTML error page, ...).
        """
        resp = self.get(url, params=params)
        if resp.status in (404, 410):
            return resp.status, None
        return resp.status, parse_json(resp.body, resp.url, resp.content_type)


def _tls_verify(config: HttpConfig) -> ssl.SSLContext | bool:
    """TLS verification is on unless switched off; a private CA comes as a bundle file.

    Raises:
        ConfigError: the CA bundle cannot be read (named in the message).
    """
    if not config.ca_bundle:
        return config.verify_tls
    try:
        return ssl.create_default_context(cafile=config.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        msg = f"http.ca_bundle {config.ca_bundle}: cannot load the CA bundle ({exc})"
        raise ConfigError(msg) from exc


def parse_json(body: bytes, url: str, content_type: str = "") -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        kind = content_type.split(";")[0] or "unknown type"
        msg = f"{_safe_url(url)}: response is not JSON ({kind}, {len(body)} bytes): {exc}"
        raise BadResponseError(msg) from exc


def _safe_url(url: str) -> str:
    """The URL without credentials or query values that might name a patient."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(p.split("=")[0] + "=…" for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    try:
        yield
    except Sync2Error:
        raise
    except httpx.TooManyRedirects as exc:
        msg = f"{_safe_url(url)}: redirect loop ({exc})"
        raise BadResponseError(msg) from exc
    except httpx.TimeoutException as exc:
        msg = f"{_safe_url(url)}: timed out ({type(exc).__name__})"
        raise TransientSourceError(msg) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        msg = f"{_safe_url(url)}: connection failed ({type(exc).__name__}: {exc})"
        raise TransientSourceError(msg) from exc
