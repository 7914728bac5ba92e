"""The admin HTTP API, compatible with the Patient Passport's ``/api/openmrs-sync/...`` routes.

Every answer has the Passport's envelope: ``{"success": true, "message": ..., "data": ...}``, or
``{"success": false, "error": "<code>", "message": ...}`` for an error (401 unauthorised, 403
forbidden, 404 not found, 409 busy, 413 too large, 422 invalid, 501 not available). Handlers
are plain functions, so FastAPI runs them in its thread pool and a long sync never blocks the
event loop. The routes live in ``_routes_*`` modules; this factory wires them to one service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from .. import faces
from . import _routes_records, _routes_sync
from ._auth import TokenAuth
from ._guard import MAX_BODY_BYTES, Guard
from ._http import AdminDep, ApiError, ServiceDep, error_response
from ._metrics import CONTENT_TYPE
from ._service import Service

log = logging.getLogger(__name__)


def create_app(
    service: Service,
    auth: TokenAuth | None,
    *,
    max_body: int = MAX_BODY_BYTES,
    mounts: Mapping[str, ASGIApp] | None = None,
) -> FastAPI:
    """The admin API over ``service``; ``auth=None`` only for ``--insecure-local``.

    ``/openapi.json`` needs an admin token like every other route; there is no ``/docs`` page
    (a browser cannot send the token a page's script would need to read the schema).
    ``mounts`` are apps built on this service by a layer above it (the admin console at
    ``/admin``: :func:`sync2.console.create_app`), so this package never imports them.
    """
    app = FastAPI(
        title="sync2 admin API", version="1", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.service = service
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.middleware("http")(_log_requests)
    app.add_middleware(Guard, auth=auth, max_body=max_body)

    @app.get("/healthz")
    def healthz(service: ServiceDep) -> dict[str, Any]:
        return {"status": "ok", "scheduler": service.scheduler.running}

    @app.get("/metrics")
    def metrics(service: ServiceDep, _who: AdminDep) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_who: AdminDep) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(_routes_sync.router)
    app.include_router(_routes_records.router)
    for path, mounted in (mounts or {}).items():
        app.mount(path, mounted)
    app.include_router(faces.router(service.store, service.config, auth))
    return app


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each bad field; the values themselves are not echoed (they may be long)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return error_response(422, "invalid_request", problems)


async def _log_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    log.info(
        "request",
        extra={
            "method": request.method,
            "route": getattr(route, "path", "unmatched"),  # the template: no national IDs
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response
