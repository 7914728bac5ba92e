"""The routes over what syncs leave behind: failed events, conflicts, the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from .._errors import Sync2Error
from ._http import (
    PREFIX,
    AdminDep,
    ApiError,
    Body,
    Limit,
    RowId,
    ServiceDep,
    ShortText,
    ok,
)
from ._scheduler import SourceBusy
from ._service import ResolveUnavailable

router = APIRouter(prefix=PREFIX)


class ResolveBody(Body):
    take: str | None = Field(None, max_length=16, description="'source' or 'passport'.")
    merged: dict[str, Any] | None = Field(None, description="A merged document to store.")


# -- failed events ----------------------------------------------------------------------------
@router.get("/failed")
def failed(
    service: ServiceDep,
    _who: AdminDep,
    state: ShortText = None,
    source: ShortText = None,
    limit: Limit = 1000,
) -> JSONResponse:
    events = service.store.list_failed(
        states=[state] if state else None, source=source, limit=limit
    )
    return ok(f"{len(events)} failed events", [e.to_dict() for e in events])


@router.post("/failed/retry-all")
def retry_all(service: ServiceDep, who: AdminDep) -> JSONResponse:
    try:
        counts = service.retry_all(actor=who.actor)
    except SourceBusy as exc:
        raise ApiError(409, "busy", str(exc)) from exc
    return ok("retried every open failed event", counts)


@router.post("/failed/{failed_id}/retry")
def retry_one(failed_id: RowId, service: ServiceDep, who: AdminDep) -> JSONResponse:
    try:
        counts = service.retry_one(failed_id, actor=who.actor)
    except SourceBusy as exc:
        raise ApiError(409, "busy", str(exc)) from exc
    if counts is None:
        raise ApiError(404, "not_found", f"no failed event {failed_id}")
    event = service.store.get_failed(failed_id)
    return ok(
        f"retried failed event {failed_id}",
        {"counts": counts, "event": event.to_dict() if event else None},
    )


# -- conflicts --------------------------------------------------------------------------------
@router.get("/conflicts")
def conflicts(service: ServiceDep, _who: AdminDep, state: ShortText = "open") -> JSONResponse:
    found = service.store.list_conflicts(state=None if state == "all" else state)
    return ok(f"{len(found)} conflicts", [c.to_dict() for c in found])


@router.get("/conflicts/{conflict_id}")
def conflict(conflict_id: RowId, service: ServiceDep, _who: AdminDep) -> JSONResponse:
    found = service.store.get_conflict(conflict_id)
    if found is None:
        raise ApiError(404, "not_found", f"no conflict {conflict_id}")
    return ok(f"conflict {conflict_id}", found.to_dict())


@router.post("/conflicts/{conflict_id}/resolve")
def resolve(
    conflict_id: RowId, body: ResolveBody, service: ServiceDep, who: AdminDep
) -> JSONResponse:
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
    return ok(f"conflict {conflict_id} resolved", data)


# -- audit ------------------------------------------------------------------------------------
@router.get("/audit")
def audit(
    service: ServiceDep,
    _who: AdminDep,
    limit: Limit = 100,
    kind: ShortText = None,
    source: ShortText = None,
) -> JSONResponse:
    entries = service.store.list_audit(limit=limit, kind=kind, source=source)
    return ok(f"{len(entries)} audit entries", [e.to_dict() for e in entries])
