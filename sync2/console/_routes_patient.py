"""The patient page (admins and doctors): search by national ID, summary, timeline, vitals charts.

The timeline is ``passport_json``, the shape ``sync2 passport show --json`` prints; "sync this
patient now" is ``Service.sync_patient``, what the API's ``POST sync-patient/{nationalId}``
calls (a doctor may do both, as with the API).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mappers import normalise_national_id

from ..passport_view import passport_json
from ._patient import summary_sections, vital_charts
from ._web import AnyForm, PageError, SignedIn, attempt, back_to, console_of

router = APIRouter()
#: Longest national ID accepted (real ones are far shorter; this keeps URLs to hospitals sane).
MAX_NATIONAL_ID = 64


def _national_id(value: str) -> str:
    text = value.strip()
    if len(text) > MAX_NATIONAL_ID or any(ord(c) < 32 for c in text):
        raise PageError(400, f"national ID: at most {MAX_NATIONAL_ID} printable characters")
    return text


@router.get("/patient", response_class=HTMLResponse)
def patient_page(
    request: Request,
    session: SignedIn,
    nid: str = "",
    hospital: str = "",
    doctor: str = "",
) -> HTMLResponse:
    console = console_of(request)
    nid = _national_id(nid)
    values: dict[str, Any] = {"nid": nid, "hospital": hospital, "doctor": doctor, "view": None}
    if not nid:
        return console.render(request, "patient.html", session, **values)
    store = console.service.store
    patient = store.get_patient(normalise_national_id(nid))
    if patient is None:
        return console.render(request, "patient.html", session, status=404, **values)
    records = store.records_for_patient(patient.get("patient_id") or normalise_national_id(nid))
    view = passport_json(patient, records)
    timeline = [
        r
        for r in view["records"]
        if (not hospital or r["source"] == hospital) and (not doctor or r["doctor"] == doctor)
    ]
    return console.render(
        request,
        "patient.html",
        session,
        **{**values, "view": view},
        timeline=timeline,
        sections=summary_sections(records),
        charts=vital_charts(records),
        doctors=sorted({r["doctor"] for r in view["records"] if r.get("doctor")}),
    )


@router.post("/patient/sync")
def patient_sync(
    request: Request,
    session: SignedIn,
    form: AnyForm,
) -> RedirectResponse:
    service = console_of(request).service
    nid = _national_id(form.get("nid", ""))
    if not nid:
        raise PageError(400, "national ID: required")
    actor = session.principal.actor
    summaries = attempt(session, lambda: service.sync_patient(nid, actor=actor))
    if summaries is not None:
        written = sum(s.written for s in summaries)
        fetched = sum(s.resources for s in summaries)
        session.say(
            "ok", f"synced {fetched} resources from {len(summaries)} hospitals, {written} written"
        )
    return back_to(request, "/patient?" + urlencode({"nid": nid}))
