"""What every console page needs: the templates, who is signed in, forms with CSRF, errors.

Order of checks on every request, so that no work happens for a stranger: the session cookie
first (no session: sign-in page, before any body is read), then the role (a doctor asking for
an admin page or action: 403), then, for a form, the body (size-capped) and its CSRF token.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .._errors import ConfigError, Sync2Error
from ..service import Service, SourceBusy, TokenAuth
from ._sessions import COOKIE, Session, SessionStore, same_secret

log = logging.getLogger(__name__)
T = TypeVar("T")

HERE = Path(__file__).parent
#: Largest form body read (the manual sync's uuid and a merged conflict fit many times over).
MAX_FORM_BYTES = 64 * 1024


class PageError(Exception):
    """An error page with an HTTP status (never a 500 for bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInNeeded(Exception):
    """No live session: send the browser to the sign-in page."""


@dataclass
class Console:
    """The console's collaborators, shared by every request."""

    service: Service
    auth: TokenAuth | None
    sessions: SessionStore
    templates: Environment

    def render(
        self,
        request: Request,
        template: str,
        session: Session | None,
        *,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        """A page; hospital-sent text is escaped by the template engine's autoescape."""
        page = self.templates.get_template(template).render(
            base=base_path(request),
            session=session,
            # a fragment (an htmx poll) must not eat the messages meant for the next page
            flash=session.take_flash() if session and not template.startswith("_") else [],
            **values,
        )
        return HTMLResponse(page, status_code=status)


def templates() -> Environment:
    """The Jinja2 environment: autoescape on for every template, unknown names are errors."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["duration"] = duration
    return env


def when(ts: float | None) -> str:
    """An epoch time as UTC text, or a dash.

    >>> when(0), when(None)
    ('1970-01-01 00:00:00 UTC', '-')
    """
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """Seconds as a short human duration.

    >>> duration(4.2), duration(125), duration(7300), duration(93784), duration(None)
    ('4.2 s', '2 min 5 s', '2 h 1 min', '1 d 2 h', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def base_path(request: Request) -> str:
    """Where the console is mounted (``/admin``, or more behind a path-prefixing proxy)."""
    return str(request.scope.get("root_path") or "")


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def signed_in(request: Request) -> Session:
    """The caller's session, else :class:`SignInNeeded` (nothing else is done for them)."""
    session = console_of(request).sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded
    return session


def admin_only(session: Annotated[Session, Depends(signed_in)]) -> Session:
    """An admin's session; a doctor is refused here, on the server, whatever the page shows."""
    if not session.is_admin:
        msg = f"role {session.principal.role!r} may not do this (needs admin)"
        raise PageError(403, msg)
    return session


SignedIn = Annotated[Session, Depends(signed_in)]
AdminSession = Annotated[Session, Depends(admin_only)]


async def read_form(
    request: Request, csrf: str | None, *, limit: int = MAX_FORM_BYTES
) -> dict[str, str]:
    """The url-encoded body, size-capped, after checking where the post came from.

    ``csrf``: the token the form must carry (field ``csrf_token`` or header ``X-CSRF-Token``);
    None only for the sign-in form, which checks its own double-submit cookie.

    Raises:
        PageError: 403 for a cross-origin post or a bad CSRF token, 413 too large, 415 not a form.
    """
    origin = request.headers.get("origin")
    ours = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if origin and origin != "null" and urlsplit(origin).netloc not in ours:
        raise PageError(403, "cross-origin form post refused")
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise PageError(415, "expected a form (application/x-www-form-urlencoded)")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PageError(413, f"form too large (at most {limit} bytes)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PageError(413, f"form too large (at most {limit} bytes)")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PageError(400, f"unreadable form: {exc}") from exc
    form = {k: v[0] for k, v in parsed.items()}
    if csrf is not None:
        presented = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if not same_secret(presented, csrf):
            raise PageError(403, "missing or wrong CSRF token: reload the page and try again")
    return form


async def any_form(request: Request, session: SignedIn) -> dict[str, str]:
    """A form from any signed-in role (CSRF-checked)."""
    return await read_form(request, session.csrf)


async def admin_form(request: Request, session: AdminSession) -> dict[str, str]:
    """A form from an admin (role checked before the body is read; CSRF-checked)."""
    return await read_form(request, session.csrf)


AnyForm = Annotated[dict[str, str], Depends(any_form)]
AdminForm = Annotated[dict[str, str], Depends(admin_form)]


def back_to(request: Request, path: str) -> RedirectResponse:
    """Post/redirect/get: after an action, the browser loads ``path`` (under the mount)."""
    return RedirectResponse(base_path(request) + path, status_code=303)


def in_background(name: str, work: Callable[[], Any]) -> None:
    """Run an action that can take minutes off the request, so the page can show progress."""

    def _run() -> None:
        try:
            work()
        except SourceBusy as exc:  # already running: the overview shows that run
            log.info("console background action skipped: %s", exc, extra={"action": name})
        except Exception:
            log.exception("console background action failed", extra={"action": name})

    threading.Thread(target=_run, name=f"sync2-console-{name}", daemon=True).start()


def int_param(value: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """A bounded integer from a query or form field.

    >>> int_param("5", "page", default=1, low=1, high=9), int_param(None, "page", default=1,
    ...     low=1, high=9)
    (5, 1)

    Raises:
        PageError: 400 naming the field when it is not an integer in ``[low, high]``.
    """
    if value is None or value == "":
        return default
    number = int(value) if re.fullmatch(r"-?\d{1,12}", value) else None
    if number is None or not low <= number <= high:
        raise PageError(400, f"{name} must be a whole number from {low} to {high}")
    return number


def attempt(session: Session, work: Callable[[], T]) -> T | None:
    """Run an admin action; a busy source or a hospital error becomes a message, not a 500.

    Raises:
        PageError: 404 for an unknown source, 400 for a refused value.
    """
    try:
        return work()
    except SourceBusy as exc:
        session.say("error", f"busy: {exc}; try again in a moment")
    except ConfigError as exc:
        raise PageError(404, str(exc)) from exc
    except Sync2Error as exc:
        session.say("error", f"the hospital could not be read: {exc}")
    return None
