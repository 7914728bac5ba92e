"""The REST web services (``/ws/rest/v1``) and the per-hospital switches for older servers.

Two switches describe the servers sync2 meets besides the Sync 2.0 + fhir2 one:
``feed_dialect = "classic"`` publishes the feed as the classic atomfeed module does (Bahmni: one
category term, no action, a REST path as content), and ``fhir = False`` turns fhir2 off (404), so
only the feed and REST answer. Reads by uuid return voided objects too (``voided: true``);
searches leave them out and page with ``limit``/``startIndex`` and a ``next`` link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from . import _rest_clinical
from . import _rest_render as render
from ._hospital import Hospital
from ._records import Encounter, Obs, Patient, Rec

REST_PREFIX = "/openmrs/ws/rest/v1/"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
JSON = dict[str, Any]


def configure(hospital: Hospital, *, feed_dialect: str = "sync2", fhir: bool = True) -> None:
    """Set how ``hospital`` looks from outside: its feed dialect and whether fhir2 is there."""
    if feed_dialect not in ("sync2", "classic"):
        msg = f"unknown feed dialect {feed_dialect!r} (sync2 or classic)"
        raise ValueError(msg)
    hospital.feed_dialect = feed_dialect  # type: ignore[attr-defined]
    hospital.fhir_enabled = fhir  # type: ignore[attr-defined]


def feed_dialect(hospital: Hospital) -> str:
    return getattr(hospital, "feed_dialect", "sync2")


def fhir_enabled(hospital: Hospital) -> bool:
    return bool(getattr(hospital, "fhir_enabled", True))


def error(status: int, message: str) -> tuple[int, JSON]:
    return status, {"error": {"message": message, "code": "", "detail": ""}}


def _readers(h: Hospital) -> dict[str, Callable[[str], JSON | None]]:
    def of(table: Iterable[Rec], fn: Callable[[Any], JSON]) -> Callable[[str], JSON | None]:
        return lambda uuid: fn(rec) if (rec := table.get(uuid)) is not None else None  # type: ignore[attr-defined]

    def visit_or_encounter(want_visit: bool) -> Callable[[str], JSON | None]:
        def read(uuid: str) -> JSON | None:
            rec = h.encounters.get(uuid)
            if not isinstance(rec, Encounter) or rec.is_visit != want_visit:
                return None
            return render.encounter(rec)

        return read

    return {
        "patient": of(h.patients, render.patient),
        "person": lambda u: _person(h.patients.get(u)),
        "encounter": visit_or_encounter(False),
        "visit": visit_or_encounter(True),
        "obs": of(h.observations, render.observation),
        "provider": of(h.practitioners, render.provider),
        "location": of(h.locations, render.location),
        "concept": render.concept,
        **_rest_clinical.readers(h),
    }


def _person(rec: Rec | None) -> JSON | None:
    return render.patient(rec)["person"] if isinstance(rec, Patient) else None


def corrupt(hospital: Hospital, tail: str, body: str, status: int = 200) -> None:
    """Serve ``body`` verbatim for ``GET /ws/rest/v1/{tail}`` (tests of malformed responses)."""
    with hospital.lock:
        overrides = getattr(hospital, "rest_overrides", {})
        overrides[tail.strip("/")] = (status, body)
        hospital.rest_overrides = overrides  # type: ignore[attr-defined]


def respond(h: Hospital, tail: str, params: dict[str, str], base: str) -> tuple[int, bytes]:
    """The status and body of ``GET /ws/rest/v1/{tail}`` (a corrupted answer if one is set)."""
    override = getattr(h, "rest_overrides", {}).get(tail.strip("/"))
    if override is not None:
        return override[0], override[1].encode()
    status, body = handle(h, tail, params, base)
    return status, json.dumps(body, ensure_ascii=False).encode()


def handle(h: Hospital, tail: str, params: dict[str, str], base: str) -> tuple[int, JSON]:
    """Answer ``GET /ws/rest/v1/{tail}``; ``base`` is the URL prefix for ``next`` links."""
    parts = [p for p in tail.split("/") if p]
    with h.lock:
        if len(parts) == 2:
            reader = _readers(h).get(parts[0])
            if reader is None:
                return error(404, f"Unknown resource: {parts[0]}")
            body = reader(parts[1])
            if body is None:
                return error(404, f"Object with given uuid doesn't exist [{parts[1]}]")
            return 200, body
        if parts == ["caresetting"]:
            return 200, _rest_clinical.care_settings()
        if len(parts) == 1:
            return _search(h, parts[0], params, base)
        if len(parts) in (3, 4) and parts[0] == "patient" and parts[2] == "allergy":
            return _rest_clinical.patient_allergies(h, parts[1], (parts[3:] or [None])[0])
    return error(404, f"Unknown resource: {tail}")


def _search(h: Hospital, kind: str, params: dict[str, str], base: str) -> tuple[int, JSON]:
    rows = _matches(h, kind, params)
    if rows is None:
        return error(400, f"search of {kind} needs one of its search parameters")
    try:
        limit = min(MAX_LIMIT, max(1, int(params.get("limit", DEFAULT_LIMIT))))
        start = max(0, int(params.get("startIndex", 0)))
    except ValueError:
        return error(400, "limit and startIndex must be integers")
    page = rows[start : start + limit]
    readers = _readers(h)
    reader = readers["encounter" if kind in ("encounter", "visit") else kind]
    out: JSON = {
        "results": [
            render.encounter(r) if isinstance(r, Encounter) else reader(r.uuid) for r in page
        ]
    }
    if start + limit < len(rows):
        query = "&".join(f"{k}={v}" for k, v in params.items() if k != "startIndex")
        out["links"] = [
            {
                "rel": "next",
                "uri": f"{base}{kind}?{query}&startIndex={start + limit}",
                "resourceAlias": None,
            }
        ]
    return 200, out


def _matches(h: Hospital, kind: str, params: dict[str, str]) -> list[Rec] | None:
    """Non-voided rows a search finds, in creation order; None for an unsupported search."""
    clinical = _rest_clinical.matches(h, kind, params)
    if clinical is not None:
        return clinical
    patient_uuid = params.get("patient")
    patient = h.patients.get(patient_uuid) if patient_uuid else None
    if kind == "patient" and (params.get("identifier") or params.get("q")):
        value = params.get("identifier") or params.get("q") or ""
        found = [p for _type, p in h.identifiers.get(value, [])]
        return [p for p in dict.fromkeys(found) if not p.voided]
    if kind in ("encounter", "visit") and patient_uuid:
        want_visit = kind == "visit"
        encounters = patient.encounters if patient is not None else []  # type: ignore[attr-defined]
        return [e for e in encounters if e.is_visit == want_visit and not e.voided]
    if kind == "obs" and (patient_uuid or params.get("encounter")):
        if patient_uuid:
            obs: list[Obs] = list(patient.obs) if patient is not None else []  # type: ignore[attr-defined]
        else:
            enc = h.encounters.get(params["encounter"])
            obs = list(enc.obs) if isinstance(enc, Encounter) else []
        return [o for o in obs if not o.voided]
    return None
