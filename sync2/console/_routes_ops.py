"""The operator's pages: overview, scheduler, syncs, failed events, parked records, audit log.

Each action calls the same :class:`~sync2.service.Service` method as its admin API route, with
the signed-in person as the audit actor, so an action behaves the same from either door.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .._errors import ConfigError
from ..sources import RESOURCE_TYPES
from ..store._base import FAILED_DEAD, FAILED_OPEN_STATES
from ._figures import overview
from ._web import (
    AdminForm,
    AdminSession,
    PageError,
    SignedIn,
    attempt,
    back_to,
    console_of,
    in_background,
    int_param,
)

router = APIRouter()
PAGE_SIZE = 50
#: Most failed events listed per state (the API's own default page).
FAILED_LIMIT = 1000
#: Most audit entries a text search reads through.
AUDIT_SCAN = 5000
#: The scheduler interval an admin may set from the overview (minutes).
MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES = 0.1, 1440.0
#: What a record uuid may look like before any hospital is asked for it.
UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


# -- overview ----------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, session: SignedIn) -> HTMLResponse:
    console = console_of(request)
    return console.render(request, "overview.html", session, ov=overview(console.service))


@router.get("/overview/hospitals", response_class=HTMLResponse)
def overview_rows(request: Request, session: SignedIn) -> HTMLResponse:
    """The hospitals table alone, which the overview re-fetches while a sync runs."""
    console = console_of(request)
    return console.render(request, "_hospitals.html", session, ov=overview(console.service))


@router.post("/scheduler/{action}")
def scheduler(
    request: Request,
    session: AdminSession,
    action: str,
    form: AdminForm,
) -> RedirectResponse:
    service = console_of(request).service
    if action == "start":
        minutes = _interval_minutes(form.get("interval_minutes", ""))
        seconds = minutes * 60 if minutes is not None else None
        service.start(interval_seconds=seconds, actor=session.principal.actor)
        every = f"every {minutes:g} min" if minutes is not None else "each hospital on its own"
        session.say("ok", f"scheduler started ({every} interval)")
    elif action == "stop":
        service.stop(actor=session.principal.actor)
        session.say("ok", "scheduler stopped (runs in progress finish)")
    else:
        raise PageError(404, f"no scheduler action {action!r} (start or stop)")
    return back_to(request, "/")


@router.post("/sync-all")
def sync_all(
    request: Request,
    session: AdminSession,
    _form: AdminForm,
) -> RedirectResponse:
    console_of(request).service.sync_all_background(actor=session.principal.actor)
    session.say("ok", "sync of every hospital started")
    return back_to(request, "/")


@router.post("/sync-source/{source_id}")
def sync_source(
    request: Request,
    session: AdminSession,
    source_id: str,
    _form: AdminForm,
) -> RedirectResponse:
    service = console_of(request).service
    known_source(request, source_id)
    actor = session.principal.actor
    in_background(f"sync-{source_id}", lambda: service.sync_source(source_id, actor=actor))
    session.say("ok", f"sync of {source_id} started")
    return back_to(request, "/")


def _interval_minutes(text: str) -> float | None:
    """The optional interval of the start form, as the API's ``intervalMinutes``.

    >>> _interval_minutes(""), _interval_minutes("5"), _interval_minutes(" 0.5 ")
    (None, 5.0, 0.5)
    """
    if not text.strip():
        return None
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1.0
    if not MIN_INTERVAL_MINUTES <= minutes <= MAX_INTERVAL_MINUTES:
        msg = f"interval: minutes from {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES}"
        raise PageError(400, msg)
    return minutes


def known_source(request: Request, source_id: str) -> None:
    """Raises PageError 404 for a source id the config does not have."""
    try:
        console_of(request).service.config.source(source_id)
    except ConfigError as exc:
        raise PageError(404, str(exc)) from exc


# -- failed events -----------------------------------------------------------------------------
@router.get("/failed", response_class=HTMLResponse)
def failed_page(
    request: Request,
    session: AdminSession,
    source: str = "",
    stream: str = "",
) -> HTMLResponse:
    console = console_of(request)
    store = console.service.store
    chosen = source or None
    open_events = store.list_failed(states=FAILED_OPEN_STATES, source=chosen, limit=FAILED_LIMIT)
    dead = store.list_failed(states=[FAILED_DEAD], source=chosen, limit=FAILED_LIMIT)
    streams = sorted({e.stream for e in open_events + dead if e.stream})
    if stream:
        open_events = [e for e in open_events if e.stream == stream]
        dead = [e for e in dead if e.stream == stream]
    return console.render(
        request,
        "failed.html",
        session,
        open_events=open_events,
        dead=dead,
        sources=[s.id for s in console.service.config.sources],
        streams=streams,
        source=source,
        stream=stream,
        limit=FAILED_LIMIT,
    )


@router.post("/failed/retry-all")
def retry_all(
    request: Request,
    session: AdminSession,
    _form: AdminForm,
) -> RedirectResponse:
    service = console_of(request).service
    counts = attempt(session, lambda: service.retry_all(actor=session.principal.actor))
    if counts is not None:
        session.say("ok", f"retried every open failed event: {_counts(counts)}")
    return back_to(request, "/failed")


@router.post("/failed/{failed_id}/retry")
def retry_one(
    request: Request,
    session: AdminSession,
    failed_id: str,
    _form: AdminForm,
) -> RedirectResponse:
    service = console_of(request).service
    number = int_param(failed_id, "failed event id", default=0, low=1, high=2**62)
    counts = attempt(session, lambda: service.retry_one(number, actor=session.principal.actor))
    if counts is None and service.store.get_failed(number) is None:
        raise PageError(404, f"no failed event {number}")
    if counts is not None:
        session.say("ok", f"retried failed event {number}: {_counts(counts)}")
    return back_to(request, "/failed")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items())


# -- parked and audit --------------------------------------------------------------------------
@router.get("/parked", response_class=HTMLResponse)
def parked_page(request: Request, session: AdminSession, page: str | None = None) -> HTMLResponse:
    console = console_of(request)
    number = int_param(page, "page", default=1, low=1, high=10_000)
    offset = (number - 1) * PAGE_SIZE
    found = console.service.store.list_parked(limit=offset + PAGE_SIZE + 1)[offset:]
    return console.render(
        request,
        "parked.html",
        session,
        parked=found[:PAGE_SIZE],
        page=number,
        more=len(found) > PAGE_SIZE,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: AdminSession,
    kind: str = "",
    source: str = "",
    q: str = "",
    page: str | None = None,
) -> HTMLResponse:
    console = console_of(request)
    number = int_param(page, "page", default=1, low=1, high=10_000)
    offset = (number - 1) * PAGE_SIZE
    wanted = offset + PAGE_SIZE + 1
    entries = console.service.store.list_audit(
        limit=AUDIT_SCAN if q else wanted, kind=kind or None, source=source or None
    )
    if q:
        needle = q.casefold()
        entries = [e for e in entries if needle in f"{e.message} {e.actor}".casefold()]
    shown = entries[offset:wanted]
    return console.render(
        request,
        "audit.html",
        session,
        entries=shown[:PAGE_SIZE],
        page=number,
        more=len(shown) > PAGE_SIZE,
        kind=kind,
        source=source,
        q=q,
        sources=[s.id for s in console.service.config.sources],
    )


# -- one record --------------------------------------------------------------------------------
@router.get("/record", response_class=HTMLResponse)
def record_form(request: Request, session: AdminSession) -> HTMLResponse:
    console = console_of(request)
    return console.render(
        request,
        "record.html",
        session,
        sources=[s.id for s in console.service.config.sources],
        types=RESOURCE_TYPES,
    )


@router.post("/record")
def record_sync(
    request: Request,
    session: AdminSession,
    form: AdminForm,
) -> RedirectResponse:
    service = console_of(request).service
    source, rtype, uuid = form.get("source", ""), form.get("type", ""), form.get("uuid", "").strip()
    known_source(request, source)
    if rtype not in RESOURCE_TYPES:
        raise PageError(400, f"type must be one of {', '.join(RESOURCE_TYPES)}")
    if not UUID.fullmatch(uuid) or ".." in uuid:
        raise PageError(400, "uuid: letters, digits, '.', '_' and '-' only (1 to 100)")
    actor = session.principal.actor
    summary = attempt(session, lambda: service.sync_record(source, rtype, uuid, actor=actor))
    if summary is not None:
        session.say("ok" if summary.ok else "error", _summary_text(rtype, uuid, summary))
    return back_to(request, "/record")


def _summary_text(rtype: str, uuid: str, summary: Any) -> str:
    what = (
        f"{summary.written} written, {summary.unchanged} unchanged, {summary.failed} failed, "
        f"{summary.parked} parked, {summary.invalidated} marked not valid"
    )
    return f"{rtype}/{uuid}: {what}" + (f"; error: {summary.error}" if summary.error else "")
