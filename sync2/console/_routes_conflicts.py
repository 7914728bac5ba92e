"""Conflicts and patient-link reviews: both versions side by side, resolved with the API's choices.

The rows are ``Pipeline.conflict_diff`` (what ``sync2 conflicts show`` prints) and a resolution
goes through ``Service.resolve_conflict`` (what ``POST conflicts/{id}/resolve`` calls), with the
same three choices: take the hospital's version, keep the passport's, or a merged document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .._errors import Sync2Error
from ..service import ResolveUnavailable
from ..store import Conflict
from ._web import AdminForm, AdminSession, PageError, back_to, console_of, int_param

router = APIRouter()
LINK_TYPE = "PatientLink"


def _conflict(request: Request, conflict_id: str) -> Conflict:
    number = int_param(conflict_id, "conflict id", default=0, low=1, high=2**62)
    found = console_of(request).service.store.get_conflict(number)
    if found is None:
        raise PageError(404, f"no conflict {number}")
    return found


def merge_fields(rows: list[dict[str, Any]]) -> list[str]:
    """The top-level fields an admin picks a side for: those the two versions disagree on.

    >>> merge_fields([{"field": "value", "passport": 1, "incoming": 2},
    ...               {"field": "data.result", "passport": 1, "incoming": 3},
    ...               {"field": "data.unit", "passport": "kg", "incoming": "g"},
    ...               {"field": "unit", "passport": "kg", "incoming": "kg"}])
    ['value', 'data']
    """
    out: list[str] = []
    for row in rows:
        top = str(row["field"]).split(".", 1)[0]
        if row["passport"] != row["incoming"] and top not in out:
            out.append(top)
    return out


@router.get("/conflicts", response_class=HTMLResponse)
def conflicts_page(request: Request, session: AdminSession, state: str = "open") -> HTMLResponse:
    if state not in ("open", "resolved", "all"):
        raise PageError(400, "state must be open, resolved or all")
    console = console_of(request)
    found = console.service.store.list_conflicts(state=None if state == "all" else state)
    return console.render(request, "conflicts.html", session, conflicts=found, state=state)


@router.get("/conflicts/{conflict_id}", response_class=HTMLResponse)
def conflict_page(request: Request, session: AdminSession, conflict_id: str) -> HTMLResponse:
    console = console_of(request)
    conflict = _conflict(request, conflict_id)
    rows = console.service.pipeline.conflict_diff(conflict.id or 0)
    is_link = conflict.resource_type == LINK_TYPE
    return console.render(
        request,
        "conflict.html",
        session,
        conflict=conflict,
        rows=rows,
        is_link=is_link,
        candidates=list(conflict.incoming.get("candidates") or []) if is_link else [],
        pick=[] if is_link else merge_fields(rows),
    )


@router.post("/conflicts/{conflict_id}/resolve")
def resolve(
    request: Request,
    session: AdminSession,
    conflict_id: str,
    form: AdminForm,
) -> RedirectResponse:
    console = console_of(request)
    conflict = _conflict(request, conflict_id)
    take, merged = _choice(conflict, form, console.service.pipeline.conflict_diff)
    try:
        done = console.service.resolve_conflict(
            conflict.id or 0, take=take, merged=merged, actor=session.principal.actor
        )
    except ResolveUnavailable as exc:
        raise PageError(501, str(exc)) from exc
    except LookupError as exc:
        raise PageError(404, str(exc).strip("'\"")) from exc
    except (ValueError, Sync2Error) as exc:
        session.say("error", f"conflict {conflict.id} not resolved: {exc}")
        return back_to(request, f"/conflicts/{conflict.id}")
    resolution = getattr(done, "resolution", None) or "resolved"
    session.say("ok", f"conflict {conflict.id}: {resolution}")
    return back_to(request, "/conflicts")


def _choice(
    conflict: Conflict, form: dict[str, str], diff: Any
) -> tuple[str | None, dict[str, Any] | None]:
    """(take, merged) from the form's ``how`` (source | passport | merge | link)."""
    how = form.get("how", "")
    if how in ("source", "passport"):
        return how, None
    if how == "link" and conflict.resource_type == LINK_TYPE:
        target = form.get("patient_id", "")
        if target not in (conflict.incoming.get("candidates") or []):
            raise PageError(400, "patient_id must be one of the review's candidates")
        return None, {"patient_id": target}
    if how == "merge" and conflict.resource_type != LINK_TYPE:
        fields = merge_fields(diff(conflict.id or 0))
        merged = {}
        for name in fields:
            side = form.get(f"pick.{name}", "passport")
            if side not in ("passport", "source"):
                raise PageError(400, f"pick.{name} must be passport or source")
            chosen = conflict.incoming if side == "source" else conflict.passport
            merged[name] = chosen.get(name)
        if not merged:
            raise PageError(400, "the two versions do not differ: nothing to merge")
        return None, merged
    raise PageError(400, "how must be source, passport, merge (or link for a link review)")
