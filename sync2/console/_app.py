"""The console as one FastAPI sub-application, mounted beside the API at ``/admin``.

Its own error pages (HTML, never the API's JSON), its own security headers, and no OpenAPI
schema: the console is for people, the API is for programs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ..service import Service, TokenAuth
from . import _routes_auth, _routes_conflicts, _routes_ops, _routes_patient
from ._patient import record_anchor
from ._sessions import COOKIE, SessionStore
from ._web import Console, PageError, SignInNeeded, base_path, console_of, templates

#: Only our own files run or style a page; hospital text can never become a script, even if a
#: template forgot to escape it. htmx is told not to inject its own <style> (see base.html).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def create_console(
    service: Service,
    auth: TokenAuth | None,
    *,
    sessions: SessionStore | None = None,
    idle_refresh_seconds: int = 15,
) -> FastAPI:
    """The console over ``service``; ``auth=None`` only for ``--insecure-local``.

    ``idle_refresh_seconds``: how often the overview re-reads the hospitals while none is
    running (every 2 s while one is).
    """
    app = FastAPI(title="sync2 admin console", docs_url=None, redoc_url=None, openapi_url=None)
    env = templates()
    env.globals["anchor"] = record_anchor
    env.globals["idle_refresh"] = idle_refresh_seconds
    app.state.console = Console(service, auth, sessions or SessionStore(), env)
    for module in (_routes_auth, _routes_ops, _routes_conflicts, _routes_patient):
        app.include_router(module.router)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)  # type: ignore[arg-type]
    app.add_exception_handler(PageError, _page_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.middleware("http")(_security_headers)
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.url.path.startswith(base_path(request) + "/static/"):
        response.headers["Cache-Control"] = "no-store"  # pages hold patient data
    return response


def _error_page(request: Request, status: int, message: str) -> Response:
    console = console_of(request)
    session = console.sessions.get(request.cookies.get(COOKIE))
    return console.render(request, "error.html", session, status=status, message=message)


async def _sign_in_needed(request: Request, _exc: SignInNeeded) -> Response:
    if request.headers.get("hx-request"):  # an htmx poll: tell htmx to load the sign-in page
        return Response(status_code=401, headers={"HX-Redirect": base_path(request) + "/login"})
    if request.method != "GET":
        return _error_page(request, 401, "Your session has ended: sign in again.")
    return Response(status_code=303, headers={"Location": base_path(request) + "/login"})


async def _page_error(request: Request, exc: PageError) -> Response:
    return _error_page(request, exc.status, exc.message)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _error_page(request, exc.status_code, str(exc.detail))


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return _error_page(request, 422, problems)
