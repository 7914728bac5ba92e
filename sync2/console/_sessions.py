"""Console sign-in sessions: a token is exchanged once for a random session id in a cookie.

The API token never travels again after sign-in, and never sits in the browser: the cookie holds
only a random id (HttpOnly, so page scripts cannot read it; SameSite=Strict, so another site's
page cannot make the browser send it). The server keeps, per session, who signed in, the CSRF
token that every state-changing form must echo, and two clocks: an idle limit and an absolute
one. Sessions live in this process's memory: a restart signs everyone out, which is the safe
direction for an admin tool.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..service import Principal

COOKIE = "sync2_session"
#: Before sign-in, the login form's CSRF token rides in this cookie (double submit).
LOGIN_COOKIE = "sync2_login"
IDLE_SECONDS = 30 * 60.0
MAX_SECONDS = 8 * 3600.0


@dataclass(slots=True)
class Session:
    """One signed-in browser."""

    principal: Principal
    csrf: str
    created: float
    seen: float
    flash: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return self.principal.role == "admin"

    def say(self, kind: str, text: str) -> None:
        """Keep a message for the next page this browser renders (post/redirect/get)."""
        self.flash.append((kind, text))

    def take_flash(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        return shown


def same_secret(presented: str | None, expected: str) -> bool:
    """Constant-time comparison that also refuses a missing or empty value.

    >>> same_secret("abc", "abc"), same_secret("", ""), same_secret(None, "abc")
    (True, False, False)
    """
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


class SessionStore:
    """Sessions by the SHA-256 of their id, so a memory dump shows no usable cookie."""

    def __init__(
        self,
        *,
        idle_seconds: float = IDLE_SECONDS,
        max_seconds: float = MAX_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, principal: Principal) -> tuple[str, Session]:
        """A new session for ``principal``; returns the cookie value and the session."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(principal, secrets.token_urlsafe(32), created=now, seen=now)
        with self._lock:
            self._drop_expired(now)
            self._sessions[_key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of a cookie value (its idle clock restarts), else None."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(_key(session_id))
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[_key(session_id)]
                return None
            session.seen = now
            return session

    def end(self, session_id: str | None) -> None:
        """Sign out: the cookie value stops working at once, whatever the browser keeps."""
        if session_id:
            with self._lock:
                self._sessions.pop(_key(session_id), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle_seconds or now - session.created > self.max_seconds

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
