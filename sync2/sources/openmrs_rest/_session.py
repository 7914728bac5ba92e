"""Signing in to OpenMRS REST once and carrying its session cookie (``auth = "session"``).

``GET /ws/rest/v1/session`` with Basic credentials authenticates the HTTP session and sets the
``JSESSIONID`` cookie; later requests carry only the cookie, so the password crosses the wire
once per session instead of on every request. Servers up to 2.x also echo the id as
``sessionId`` in the body (newer ones only set the cookie); ``authenticated: false`` there means
the credentials were refused, although the status is 200.

A session ends on the server's side (timeout, restart): the next request answers 401, and the
flow signs in again once and repeats it. A second 401 is a clear failure, never a loop. Neither
the password nor the session id is ever put into a message or a log line.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from http.cookies import CookieError, SimpleCookie

import httpx
import orjson

from ..._errors import SourceAuthError

COOKIE = "JSESSIONID"
_MAX_BODY = 256 * 1024  # a session answer is a few hundred bytes


class SessionAuth(httpx.Auth):
    """An ``httpx.Auth`` flow: sign in when there is no session, send the cookie, and sign in
    again once when the server has forgotten the session (401)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.session_url = f"{base_url.rstrip('/')}/ws/rest/v1/session"
        self._basic = httpx.BasicAuth(username, password)
        self._lock = threading.Lock()  # the source reads from several threads at once
        self._session: str | None = None
        self.sign_ins = 0

    def __repr__(self) -> str:
        return "SessionAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        session = self._session
        if session is None:
            session = yield from self._sign_in(None)
        response = yield _with_cookie(request, session)
        if response.status_code != 401:
            return
        session = yield from self._sign_in(session)
        response = yield _with_cookie(request, session)
        if response.status_code == 401:
            msg = (
                f"{_where(request)}: HTTP 401 again right after signing in to a new REST "
                "session: the user lacks the privilege or the server keeps no sessions"
            )
            raise SourceAuthError(msg, status_code=401)

    def _sign_in(self, stale: str | None) -> Generator[httpx.Request, httpx.Response, str]:
        """A fresh session id (or the one another thread got since ``stale`` was refused)."""
        with self._lock:
            if self._session is not None and self._session != stale:
                return self._session
            self._session = None
            request = httpx.Request("GET", self.session_url, headers={"Accept": "application/json"})
            request = next(self._basic.auth_flow(request))
            response = yield request
            self.sign_ins += 1
            session = _session_of(response, self.session_url)
            self._session = session
            return session


def _with_cookie(request: httpx.Request, session: str) -> httpx.Request:
    request.headers.pop("Authorization", None)
    request.headers["Cookie"] = f"{COOKIE}={session}"
    return request


def _where(request: httpx.Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc.decode()}{request.url.path}"


def _session_of(response: httpx.Response, url: str) -> str:
    """The session id a sign-in answer carries.

    Raises:
        SourceAuthError: the server refused the credentials, or answered with no session.
    """
    if response.status_code in (401, 403):
        msg = f"{url}: HTTP {response.status_code}: signing in refused the configured user"
        raise SourceAuthError(msg, status_code=response.status_code)
    declared = response.headers.get("content-length", "")
    if response.status_code != 200 or (declared.isdigit() and int(declared) > _MAX_BODY):
        msg = f"{url}: HTTP {response.status_code}: not a REST session answer"
        raise SourceAuthError(msg, status_code=response.status_code)
    try:
        body = orjson.loads(response.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        msg = f"{url}: the session answer is not JSON (is this an OpenMRS REST server?)"
        raise SourceAuthError(msg)
    if body.get("authenticated") is not True:
        msg = f"{url}: authenticated is false: the server refused the username or password"
        raise SourceAuthError(msg)
    session = _cookie(response) or body.get("sessionId")
    if not isinstance(session, str) or not session:
        msg = f"{url}: signed in, but the answer sets no {COOKIE} cookie and has no sessionId"
        raise SourceAuthError(msg)
    return session


def _cookie(response: httpx.Response) -> str | None:
    """``JSESSIONID`` from the answer's ``Set-Cookie`` headers (Tomcat may add ``.node1``)."""
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        if COOKIE in jar and jar[COOKIE].value:
            return jar[COOKIE].value
    return None
