"""``/ws/rest/v1/session`` and the ``JSESSIONID`` cookie, as OpenMRS REST 1.9-2.x answers them.

``GET session`` with good Basic credentials authenticates a new HTTP session: the answer is
``{"sessionId": ..., "authenticated": true, "user": ...}`` and sets the cookie; later requests
may carry the cookie alone. Bad or missing credentials still answer 200, with
``authenticated: false``. Newer webservices.rest no longer echoes ``sessionId``
(``hospital.rest_session_echo = False``). :func:`expire_sessions` forgets every session, as a
server restart or a timeout does, so tests can check that a client signs in again.
"""

from __future__ import annotations

import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any

from ._hospital import Hospital

COOKIE = "JSESSIONID"
JSON = dict[str, Any]


def _sessions(h: Hospital) -> set[str]:
    sessions: set[str] | None = getattr(h, "rest_sessions", None)
    if sessions is None:
        sessions = set()
        h.rest_sessions = sessions  # type: ignore[attr-defined]
    return sessions


def expire_sessions(h: Hospital, *, always: bool = False) -> None:
    """Forget every REST session (the next cookie request answers 401); with ``always``, keep
    forgetting them (a proxy that drops cookies: every session dies at once)."""
    with h.lock:
        _sessions(h).clear()
        h.rest_sessions_die = always  # type: ignore[attr-defined]


def cookie_session(h: Hospital, header: bytes | None) -> bool:
    """Whether a ``Cookie`` header carries a live session id."""
    if not header:
        return False
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except CookieError:
        return False
    morsel = jar.get(COOKIE)
    with h.lock:
        return morsel is not None and morsel.value in _sessions(h)


def sign_in(h: Hospital, authorised: bool, username: str) -> tuple[JSON, list[tuple[bytes, bytes]]]:
    """The body and extra headers of ``GET session``; a new session only when ``authorised``."""
    session = secrets.token_hex(16).upper()
    body: JSON = {"authenticated": authorised, "locale": "en_GB"}
    if getattr(h, "rest_session_echo", True):  # 1.9-2.x; newer servers set only the cookie
        body["sessionId"] = session
    if not authorised:
        return body, []
    with h.lock:
        if not getattr(h, "rest_sessions_die", False):
            _sessions(h).add(session)
    body["user"] = {"uuid": f"user-{username}", "display": username, "username": username}
    cookie = f"{COOKIE}={session}; Path=/openmrs; HttpOnly".encode()
    return body, [(b"set-cookie", cookie)]
