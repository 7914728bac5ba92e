"""The Passport's sync routes: initialize, start/stop the schedule, manual syncs, status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from .._errors import Sync2Error
from ..admin.manual import RECORD_UUID_PATTERN
from ..sources import RESOURCE_TYPES
from ._http import (
    NATIONAL_ID_PATTERN,
    PREFIX,
    SOURCE_ID_PATTERN,
    AdminDep,
    AnyoneDep,
    ApiError,
    Body,
    ServiceDep,
    SourceId,
    known_source,
    ok,
)
from ._scheduler import SourceBusy

router = APIRouter(prefix=PREFIX)

#: ``intervalMinutes`` bounds: below a minute every source would sync all the time; above a
#: week the next run's time is past anything a clock or a status answer can show.
MIN_INTERVAL_MINUTES = 1.0
MAX_INTERVAL_MINUTES = 7 * 24 * 60.0


class StartBody(Body):
    interval_minutes: float | None = Field(
        None,
        alias="intervalMinutes",
        ge=MIN_INTERVAL_MINUTES,
        le=MAX_INTERVAL_MINUTES,
        description="Every source on this interval.",
    )


class SyncRecordBody(Body):
    source: str = Field(pattern=SOURCE_ID_PATTERN, description="Source id.")
    type: str = Field(max_length=64, description="FHIR resource type.")
    uuid: str = Field(pattern=RECORD_UUID_PATTERN, description="The record's uuid at the source.")


NationalId = Annotated[
    str, Path(pattern=NATIONAL_ID_PATTERN, description="The patient's national ID.")
]


def _busy(exc: SourceBusy) -> ApiError:
    return ApiError(409, "busy", str(exc))


@router.post("/initialize")
def initialize(service: ServiceDep, who: AdminDep) -> JSONResponse:
    """Re-read the config, connect to every hospital now and report each (the Passport's
    first call).

    Hospitals come from sync2's config, never from the request: credentials do not travel over
    the admin API. A hospital that cannot be reached is reported, not an error of the call; so
    is a config file that changed (a restart applies it) or no longer loads.
    """
    drift = service.config_drift()
    try:
        hospitals = service.initialize(actor=who.actor)
    except SourceBusy as exc:
        raise _busy(exc) from exc
    connected = sum(1 for h in hospitals if h["connected"])
    return ok(
        f"connected to {connected} of {len(hospitals)} hospitals",
        {"hospitalsConnected": connected, "hospitals": hospitals, "config": drift},
    )


@router.post("/start")
def start(service: ServiceDep, who: AdminDep, body: StartBody | None = None) -> JSONResponse:
    minutes = body.interval_minutes if body else None
    service.start(interval_seconds=minutes * 60 if minutes else None, actor=who.actor)
    return ok("automatic sync started", {"status": "running", "intervalMinutes": minutes})


@router.post("/stop")
def stop(service: ServiceDep, who: AdminDep) -> JSONResponse:
    service.stop(actor=who.actor)
    return ok("automatic sync stopped", {"status": "stopped"})


@router.post("/sync-all")
def sync_all(service: ServiceDep, who: AdminDep, wait: bool = False) -> JSONResponse:
    if not wait:
        service.sync_all_background(actor=who.actor)
        return ok("sync of every hospital triggered", {"status": "triggered"}, 202)
    results = service.sync_all(actor=who.actor)
    return ok(f"synced {len(results)} hospitals", {"status": "done", "sources": results})


@router.post("/sync-source/{source_id}")
def sync_source(source_id: SourceId, service: ServiceDep, who: AdminDep) -> JSONResponse:
    known_source(service, source_id)
    try:
        summary = service.sync_source(source_id, actor=who.actor)
    except SourceBusy as exc:
        raise _busy(exc) from exc
    if summary is None:
        raise ApiError(409, "busy", f"source {source_id!r} is leased by another worker")
    return ok(f"synced {source_id}", summary.to_dict())


@router.post("/sync-patient/{national_id}")
def sync_patient(national_id: NationalId, service: ServiceDep, who: AnyoneDep) -> JSONResponse:
    try:
        summaries = service.sync_patient(national_id, actor=who.actor)
    except SourceBusy as exc:
        raise _busy(exc) from exc
    return ok(
        f"synced {sum(s.resources for s in summaries)} resources for the patient",
        {
            "totalSynced": sum(s.written for s in summaries),
            "hospitals": [s.to_dict() for s in summaries],
        },
    )


@router.post("/sync-record")
def sync_record(body: SyncRecordBody, service: ServiceDep, who: AdminDep) -> JSONResponse:
    known_source(service, body.source)
    if body.type not in RESOURCE_TYPES:
        raise ApiError(422, "invalid_request", f"type must be one of {', '.join(RESOURCE_TYPES)}")
    try:
        summary = service.sync_record(body.source, body.type, body.uuid, actor=who.actor)
    except SourceBusy as exc:
        raise _busy(exc) from exc
    except Sync2Error as exc:
        raise ApiError(502, "source_error", str(exc)) from exc
    return ok(f"synced {body.type}/{body.uuid}", summary.to_dict())


@router.get("/status")
def status(service: ServiceDep, _who: AnyoneDep) -> JSONResponse:
    return ok("sync status", service.status())
