"""The admin HTTP API, compatible with the Patient Passport's ``/api/openmrs-sync/...`` routes.

Every answer has the Passport's envelope: ``{"success": true, "message": ..., "data": ...}``, or
``{"success": false, "error": "<code>", "message": ...}`` for an error (401 unauthorised, 403
forbidden, 404 not found, 409 busy, 501 not available). Handlers are plain functions, so FastAPI
runs them in its thread pool and a long sync never blocks the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .. import faces
from .._errors import ConfigError, Sync2Error
from ..sources._base import RESOURCE_TYPES
from ._auth import Principal, TokenAuth
from ._metrics import CONTENT_TYPE
from ._scheduler import SourceBusy, summary_dict
from ._service import ResolveUnavailable, Service

log = logging.getLogger(__name__)

PREFIX = "/api/openmrs-sync"
ADMIN = ("admin",)
ADMIN_OR_DOCTOR = ("admin", "doctor")


class ApiError(Exception):
    """An error answer with the envelope; raised by handlers and the auth dependency."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _ok(message: str, data: Any = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "message": message, "data": data}, status_code=status)


# -- request bodies -------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StartBody(_Body):
    interval_minutes: float | None = Field(
        None, alias="intervalMinutes", gt=0, description="Every source on this interval."
    )


class SyncRecordBody(_Body):
    source: str = Field(description="Source id.")
    type: str = Field(description="FHIR resource type.")
    uuid: str = Field(min_length=1, description="The record's uuid at the source.")


class ResolveBody(_Body):
    take: str | None = Field(None, description="'source' or 'passport'.")
    merged: dict[str, Any] | None = Field(None, description="A merged document to store.")


# -- auth -----------------------------------------------------------------------------------
def _auth_dependency(
    auth: TokenAuth | None,
) -> Callable[[tuple[str, ...]], Callable[[Request], Principal]]:
    def require(roles: tuple[str, ...]) -> Callable[[Request], Principal]:
        def _check(request: Request) -> Principal:
            if auth is None:  # --insecure-local on loopback
                return Principal("admin", "local")
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(
                    401,
                    "unauthorized",
                    "missing bearer token: send 'Authorization: Bearer <token>'",
                    {"WWW-Authenticate": "Bearer"},
                )
            principal = auth.identify(token.strip())
            if principal is None:
                raise ApiError(
                    401,
                    "unauthorized",
                    "invalid bearer token",
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            if principal.role not in roles:
                raise ApiError(
                    403,
                    "forbidden",
                    f"role {principal.role!r} may not call this endpoint "
                    f"(needs {' or '.join(roles)})",
                )
            return principal

        return _check

    return require


# -- the app --------------------------------------------------------------------------------
def create_app(service: Service, auth: TokenAuth | None) -> FastAPI:
    """The admin API over ``service``; ``auth=None`` only for ``--insecure-local``."""
    app = FastAPI(title="sync2 admin API", version="1", docs_url=None, redoc_url=None)
    require = _auth_dependency(auth)
    admin = Depends(require(ADMIN))
    anyone = Depends(require(ADMIN_OR_DOCTOR))
    router = APIRouter(prefix=PREFIX)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"success": False, "error": exc.code, "message": exc.message},
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            {"success": False, "error": "invalid_request", "message": problems}, status_code=422
        )

    @app.middleware("http")
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

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "scheduler": service.scheduler.running}

    @app.get("/metrics", dependencies=[admin])
    def metrics() -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    # -- scheduler ----------------------------------------------------------------------
    @router.post("/start")
    def start(body: StartBody | None = None, who: Principal = admin) -> JSONResponse:
        minutes = body.interval_minutes if body else None
        service.start(interval_seconds=minutes * 60 if minutes else None, actor=who.actor)
        return _ok(
            "automatic sync started",
            {"status": "running", "intervalMinutes": minutes},
        )

    @router.post("/stop")
    def stop(who: Principal = admin) -> JSONResponse:
        service.stop(actor=who.actor)
        return _ok("automatic sync stopped", {"status": "stopped"})

    # -- manual syncs -------------------------------------------------------------------
    @router.post("/sync-all")
    def sync_all(wait: bool = False, who: Principal = admin) -> JSONResponse:
        if not wait:
            service.sync_all_background(actor=who.actor)
            return _ok("sync of every hospital triggered", {"status": "triggered"}, 202)
        results = service.sync_all(actor=who.actor)
        return _ok(f"synced {len(results)} hospitals", {"status": "done", "sources": results})

    @router.post("/sync-source/{source_id}")
    def sync_source(source_id: str, who: Principal = admin) -> JSONResponse:
        _known_source(service, source_id)
        try:
            summary = service.sync_source(source_id, actor=who.actor)
        except SourceBusy as exc:
            raise ApiError(409, "busy", str(exc)) from exc
        if summary is None:
            raise ApiError(409, "busy", f"source {source_id!r} is leased by another worker")
        return _ok(f"synced {source_id}", summary_dict(summary))

    @router.post("/sync-patient/{national_id}")
    def sync_patient(national_id: str, who: Principal = anyone) -> JSONResponse:
        try:
            summaries = service.sync_patient(national_id, actor=who.actor)
        except SourceBusy as exc:
            raise ApiError(409, "busy", str(exc)) from exc
        total = sum(s.written for s in summaries)
        return _ok(
            f"synced {sum(s.resources for s in summaries)} resources for the patient",
            {
                "totalSynced": total,
                "hospitals": [summary_dict(s) for s in summaries],
            },
        )

    @router.post("/sync-record")
    def sync_record(body: SyncRecordBody, who: Principal = admin) -> JSONResponse:
        _known_source(service, body.source)
        if body.type not in RESOURCE_TYPES:
            raise ApiError(
                422, "invalid_request", f"type must be one of {', '.join(RESOURCE_TYPES)}"
            )
        try:
            summary = service.sync_record(body.source, body.type, body.uuid, actor=who.actor)
        except SourceBusy as exc:
            raise ApiError(409, "busy", str(exc)) from exc
        except Sync2Error as exc:
            raise ApiError(502, "source_error", str(exc)) from exc
        return _ok(f"synced {body.type}/{body.uuid}", summary_dict(summary))

    @router.get("/status")
    def status(_who: Principal = anyone) -> JSONResponse:
        return _ok("sync status", service.status())

    # -- failed events ------------------------------------------------------------------
    @router.get("/failed")
    def failed(
        state: str | None = None,
        source: str | None = None,
        limit: int = 1000,
        _who: Principal = admin,
    ) -> JSONResponse:
        events = service.store.list_failed(
            states=[state] if state else None, source=source, limit=limit
        )
        return _ok(f"{len(events)} failed events", [e.to_dict() for e in events])

    @router.post("/failed/retry-all")
    def retry_all(who: Principal = admin) -> JSONResponse:
        try:
            counts = service.retry_all(actor=who.actor)
        except SourceBusy as exc:
            raise ApiError(409, "busy", str(exc)) from exc
        return _ok("retried every open failed event", counts)

    @router.post("/failed/{failed_id}/retry")
    def retry_one(failed_id: int, who: Principal = admin) -> JSONResponse:
        try:
            counts = service.retry_one(failed_id, actor=who.actor)
        except SourceBusy as exc:
            raise ApiError(409, "busy", str(exc)) from exc
        if counts is None:
            raise ApiError(404, "not_found", f"no failed event {failed_id}")
        event = service.store.get_failed(failed_id)
        return _ok(
            f"retried failed event {failed_id}",
            {"counts": counts, "event": event.to_dict() if event else None},
        )

    # -- conflicts ----------------------------------------------------------------------
    @router.get("/conflicts")
    def conflicts(state: str | None = "open", _who: Principal = admin) -> JSONResponse:
        state = None if state == "all" else state
        found = service.store.list_conflicts(state=state)
        return _ok(f"{len(found)} conflicts", [c.to_dict() for c in found])

    @router.get("/conflicts/{conflict_id}")
    def conflict(conflict_id: int, _who: Principal = admin) -> JSONResponse:
        found = service.store.get_conflict(conflict_id)
        if found is None:
            raise ApiError(404, "not_found", f"no conflict {conflict_id}")
        return _ok(f"conflict {conflict_id}", found.to_dict())

    @router.post("/conflicts/{conflict_id}/resolve")
    def resolve(conflict_id: int, body: ResolveBody, who: Principal = admin) -> JSONResponse:
        if service.store.get_conflict(conflict_id) is None:
            raise ApiError(404, "not_found", f"no conflict {conflict_id}")
        try:
            result = service.resolve_conflict(
                conflict_id, take=body.take, merged=body.merged, actor=who.actor
            )
        except ResolveUnavailable as exc:
            raise ApiError(501, "not_implemented", str(exc)) from exc
        except LookupError as exc:  # the conflict's record or patient is gone
            raise ApiError(404, "not_found", str(exc).strip("'\"")) from exc
        except (ValueError, Sync2Error) as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        data = result.to_dict() if hasattr(result, "to_dict") else result
        return _ok(f"conflict {conflict_id} resolved", data)

    # -- audit --------------------------------------------------------------------------
    @router.get("/audit")
    def audit(
        limit: int = 100,
        kind: str | None = None,
        source: str | None = None,
        _who: Principal = admin,
    ) -> JSONResponse:
        entries = service.store.list_audit(limit=limit, kind=kind, source=source)
        return _ok(f"{len(entries)} audit entries", [e.to_dict() for e in entries])

    app.include_router(router)
    from ..console import create_console  # the console is built on this package: import late

    app.mount("/admin", create_console(service, auth))
    app.include_router(faces.router(service.store, service.config, auth))
    return app


def _known_source(service: Service, source_id: str) -> None:
    try:
        service.config.source(source_id)
    except ConfigError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
