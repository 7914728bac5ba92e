"""Base / passport / incoming for one clinical record, and the bookkeeping kept on it.

A stored record carries ``sync_state``::

    base_hash      RecordDoc.content_hash of the source content last synced
    base_fields    the passport-visible fields as that sync wrote them
    passport_hash  fields_hash(base_fields): a recomputation that differs means the passport
                   changed the record, even when another app edited it and left no mark
    edited_at      ISO time of the last passport edit (CLI / admin API), with
    edited_by      who made it and
    edited_fields  the field names it changed

Records written before this bookkeeping existed have no ``sync_state``: their stored content
is taken as the base, so they start out "unchanged on both sides".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from .hashing import fields_hash
from .strategies import Decision, Fallback, Strategy, decide

#: What the passport shows of a record and an admin may correct.
VISIBLE_FIELDS = (
    "type",
    "name",
    "value",
    "unit",
    "effective",
    "status",
    "doctor",
    "facility",
    "data",
)
_visible_values = attrgetter(*VISIBLE_FIELDS)
#: Statuses the engine sets when the source voids or supersedes a record (not passport edits).
_SOURCE_INVALIDATED = frozenset({"entered-in-error", "superseded"})


def visible_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The passport-visible fields of a stored record or RecordDoc dict.

    >>> visible_fields({"name": "Weight", "value": "7", "raw": {}, "version": "1"})["value"]
    '7'
    """
    return {k: doc.get(k) for k in VISIBLE_FIELDS}


@dataclass(frozen=True, slots=True)
class RecordState:
    """The stored side of a record: its base and its current passport content."""

    base_hash: str | None
    base_fields: dict[str, Any]
    passport_fields: dict[str, Any]
    passport_changed: bool
    edited_at: str | None = None
    edited_by: str | None = None
    edited_fields: tuple[str, ...] = ()


def record_state(stored: Mapping[str, Any]) -> RecordState:
    """Read the base and the passport side from a stored record.

    >>> s = record_state({"value": "8", "content_hash": "h1",
    ...     "sync_state": {"base_hash": "h1", "base_fields": {"value": "7"}}})
    >>> s.passport_changed, s.base_fields["value"], s.passport_fields["value"]
    (True, '7', '8')
    >>> record_state({"value": "8", "content_hash": "h1"}).passport_changed
    False
    """
    state = stored.get("sync_state") or {}
    current = visible_fields(stored)
    raw_base = state.get("base_fields")
    base = (
        {k: raw_base.get(k) for k in VISIBLE_FIELDS}
        if isinstance(raw_base, Mapping)
        else dict(current)
    )
    edited = tuple(state.get("edited_fields") or ())
    if current.get("status") in _SOURCE_INVALIDATED and "status" not in edited:
        current["status"] = base.get("status")  # the source voided it; not a passport edit
    passport_hash = state.get("passport_hash") or fields_hash(base)
    return RecordState(
        base_hash=state.get("base_hash") or stored.get("content_hash"),
        base_fields=base,
        passport_fields=current,
        passport_changed=fields_hash(current) != passport_hash,
        edited_at=state.get("edited_at"),
        edited_by=state.get("edited_by"),
        edited_fields=edited,
    )


def check_record(
    stored: Mapping[str, Any] | None,
    incoming: Mapping[str, Any],
    *,
    strategy: Strategy,
    fallback: Fallback = "source-wins",
) -> Decision:
    """Decide what an incoming record (a RecordDoc dict) does to the stored one.

    The source side is judged by the canonical content hash (so a re-rendered resource is not
    a change), the passport side by its visible fields.

    >>> inc = {"value": "7", "content_hash": "h1"}
    >>> check_record(None, inc, strategy="manual").action
    'apply'
    >>> stored = {"value": "7", "content_hash": "h1"}
    >>> check_record(stored, inc, strategy="manual").action
    'echo'
    """
    if stored is None:
        return Decision("apply", visible_fields(incoming), reason="new record")
    state = record_state(stored)
    if incoming.get("content_hash") == state.base_hash:
        if state.passport_changed:
            return Decision("keep", reason="only the passport changed")
        return Decision("echo", reason="no change")
    incoming_fields = visible_fields(incoming)
    if not state.passport_changed:
        return Decision("apply", incoming_fields, reason="only the source changed")
    if incoming_fields == state.base_fields:
        # the source changed nothing the passport shows: keep the edit, move the base
        return Decision(
            "resolved", state.passport_fields, reason="only the passport changed visibly"
        )
    return decide(
        state.base_fields,
        state.passport_fields,
        incoming_fields,
        strategy=strategy,
        fallback=fallback,
        source_time=incoming.get("last_updated"),
        passport_time=state.edited_at,
    )


def first_sync_state(record: Any) -> dict[str, Any]:
    """The bookkeeping of a record new to the passport: its base is what the source sent.

    The same as ``synced_record(incoming, incoming)["sync_state"]``, without copying the record.

    >>> class R:
    ...     content_hash = "h1"; name = "Weight"; value = "7"; unit = "kg"; type = "vital"
    ...     effective = status = doctor = facility = None; data: dict[str, str] = {}
    >>> first_sync_state(R())["base_hash"], first_sync_state(R())["base_fields"]["value"]
    ('h1', '7')
    """
    try:
        base = dict(zip(VISIBLE_FIELDS, _visible_values(record), strict=True))
    except AttributeError:  # an object without some of the fields: those count as None
        base = {k: getattr(record, k, None) for k in VISIBLE_FIELDS}
    return {
        "base_hash": record.content_hash,
        "base_fields": base,
        "passport_hash": fields_hash(base),
    }


def synced_record(
    incoming: Mapping[str, Any],
    fields: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record to store: the incoming source record showing ``fields``, its base moved on.

    The new base is the incoming source content. An edit mark survives only while the shown
    fields still differ from the source.

    >>> out = synced_record({"value": "9", "content_hash": "h2"}, {"value": "8"},
    ...     {"sync_state": {"edited_at": "t", "edited_by": "ann", "edited_fields": ["value"]}})
    >>> out["value"], out["sync_state"]["base_hash"], out["sync_state"]["edited_by"]
    ('8', 'h2', 'ann')
    """
    out = dict(incoming)
    out.update({k: fields.get(k) for k in VISIBLE_FIELDS})
    base = visible_fields(incoming)
    state: dict[str, Any] = {
        "base_hash": incoming.get("content_hash"),
        "base_fields": base,
        "passport_hash": fields_hash(base),
    }
    kept = [k for k in VISIBLE_FIELDS if out.get(k) != base.get(k)]
    old = (previous or {}).get("sync_state") or {}
    if kept:
        state["edited_at"] = old.get("edited_at")
        state["edited_by"] = old.get("edited_by")
        state["edited_fields"] = kept
    out["sync_state"] = state
    return out


def edit_changes(
    stored: Mapping[str, Any], changes: Mapping[str, Any], *, actor: str, at: str
) -> dict[str, Any]:
    """The field updates for a passport edit of ``stored`` (a record), marks included.

    The base is left alone (it is the source's), so the next sync sees the passport changed.

    Raises:
        ValueError: a field that is not passport-visible (named in the message).

    >>> ch = edit_changes({"value": "7", "content_hash": "h1"}, {"value": "8"}, actor="ann", at="t")
    >>> ch["value"], ch["sync_state"]["edited_fields"], ch["sync_state"]["base_fields"]["value"]
    ('8', ['value'], '7')
    """
    unknown = sorted(set(changes) - set(VISIBLE_FIELDS))
    if unknown:
        msg = f"not editable: {', '.join(unknown)} (editable: {', '.join(VISIBLE_FIELDS)})"
        raise ValueError(msg)
    old = dict(stored.get("sync_state") or {})
    if "base_fields" not in old:  # written before the bookkeeping: its content is the base
        base = visible_fields(stored)
        old.update(
            base_hash=stored.get("content_hash"), base_fields=base, passport_hash=fields_hash(base)
        )
    previous = list(old.get("edited_fields") or [])
    old["edited_at"] = at
    old["edited_by"] = actor
    old["edited_fields"] = _ordered(set(previous) | set(changes))
    return {**dict(changes), "sync_state": old}


def _ordered(names: Iterable[str]) -> list[str]:
    wanted = set(names)
    return [k for k in VISIBLE_FIELDS if k in wanted]
