"""Sign in with an API token, sign out, and the vendored static files.

A token is checked by the API's own :class:`~sync2.service.TokenAuth`, so the console knows
exactly the tokens and roles the API knows. The sign-in form is itself CSRF-protected (a
double-submit cookie), so another site cannot sign a browser in under an attacker's token.
"""

from __future__ import annotations

import mimetypes
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ..service import Principal
from ..store import AuditEntry
from ._sessions import COOKIE, LOGIN_COOKIE, same_secret
from ._web import HERE, AnyForm, PageError, back_to, base_path, console_of, read_form

router = APIRouter()
STATIC = (HERE / "static").resolve()
#: The sign-in form's body is a token and a CSRF token: nothing near this size.
MAX_SIGN_IN_BYTES = 4096


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=base_path(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _drop_cookie(request: Request, response: Response, name: str) -> None:
    _set_cookie(request, response, name, "", 0)


def _sign_in_page(request: Request, *, error: str = "", status: int = 200) -> HTMLResponse:
    console = console_of(request)
    token = secrets.token_urlsafe(32)
    response = console.render(
        request,
        "login.html",
        None,
        status=status,
        csrf=token,
        error=error,
        open_access=console.auth is None,
    )
    _set_cookie(request, response, LOGIN_COOKIE, token, 600)
    return response


@router.get("/login", response_class=HTMLResponse)
def sign_in_form(request: Request) -> Response:
    if console_of(request).sessions.get(request.cookies.get(COOKIE)) is not None:
        return back_to(request, "/")
    return _sign_in_page(request)


async def _sign_in_body(request: Request) -> dict[str, str]:
    """The sign-in form (size-capped); its CSRF check is the double-submit cookie below."""
    return await read_form(request, None, limit=MAX_SIGN_IN_BYTES)


@router.post("/login", response_class=HTMLResponse)
def sign_in(request: Request, form: Annotated[dict[str, str], Depends(_sign_in_body)]) -> Response:
    console = console_of(request)
    if not same_secret(form.get("csrf_token"), request.cookies.get(LOGIN_COOKIE) or ""):
        return _sign_in_page(request, error="The sign-in form expired: try again.", status=403)
    if console.auth is None:  # --insecure-local on loopback: as open as the API
        principal: Principal | None = Principal("admin", "local")
    else:
        principal = console.auth.identify(form.get("token", "").strip())
    if principal is None:
        return _sign_in_page(request, error="That token is not valid.", status=401)
    session_id, _session = console.sessions.create(principal)
    console.service.store.add_audit(
        AuditEntry(kind="console", message="signed in to the admin console", actor=principal.actor)
    )
    response = back_to(request, "/" if principal.role == "admin" else "/patient")
    _set_cookie(request, response, COOKIE, session_id, int(console.sessions.max_seconds))
    _drop_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout")
def sign_out(request: Request, _form: AnyForm) -> RedirectResponse:
    console_of(request).sessions.end(request.cookies.get(COOKIE))
    response = back_to(request, "/login")
    _drop_cookie(request, response, COOKIE)
    return response


@router.get("/static/{name:path}")
def static(name: str) -> FileResponse:
    """A file of the console's own static folder (and nothing outside it)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise PageError(404, f"no static file {name!r}")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.name == "LICENSE":
        kind = "text/plain"
    return FileResponse(path, media_type=kind)
