"""One passport patient from several hospitals' versions of that person.

Each hospital keeps its own version under ``sources``; the top-level demographics come from one
of them, chosen by the configured policy: ``priority`` (lowest number first, ties to the most
recently updated version) or ``latest`` (most recently updated first). Nothing here merges two
*people*: linking is by national ID only, done before this is called.

An admin may correct the top-level demographics (``edit_patient``). Those corrections follow the
same base / passport / incoming rules as records: ``demographics_base`` on the patient holds the
demographics as last synced (and their hash), ``edited`` the last correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .hashing import fields_hash
from .strategies import Decision, Fallback, Strategy, decide

DEMOGRAPHIC_FIELDS = ("name", "given", "family", "gender", "birth_date", "deceased", "addresses")
Policy = Literal["priority", "latest"]
POLICIES: tuple[Policy, ...] = ("priority", "latest")


def merge_patient(
    existing: dict[str, Any] | None,
    patient_id: str,
    source: str,
    version: dict[str, Any],
    priorities: dict[str, int] | None = None,
    *,
    policy: Policy = "priority",
) -> dict[str, Any]:
    """The passport patient after ``source`` reported ``version`` of it.

    >>> a = merge_patient(None, "N1", "h1", {"name": "Ann", "last_updated": "2024"})
    >>> anne = {"name": "Anne", "last_updated": "2025"}
    >>> b = merge_patient(a, "N1", "h2", anne, {"h1": 1, "h2": 2})
    >>> b["name"], sorted(b["sources"])
    ('Ann', ['h1', 'h2'])
    >>> merge_patient(a, "N1", "h2", {"name": "Anne", "last_updated": "2025"}, {"h1": 1},
    ...               policy="latest")["name"]
    'Anne'
    """
    doc: dict[str, Any] = dict(existing or {})
    doc["patient_id"] = patient_id
    doc["national_id"] = patient_id
    doc["nationalId"] = patient_id  # the Patient Passport portal's field name
    sources = dict(doc.get("sources") or {})
    sources[source] = {k: version.get(k) for k in (*DEMOGRAPHIC_FIELDS, "uuid", "last_updated")}
    doc["sources"] = sources
    chosen = choose_source(sources, priorities or {}, policy)
    for key in DEMOGRAPHIC_FIELDS:
        doc[key] = sources[chosen].get(key)
    doc["demographics_from"] = chosen
    return doc


def choose_source(
    sources: dict[str, dict[str, Any]], priorities: dict[str, int], policy: Policy = "priority"
) -> str:
    """Best priority first (``priority`` policy only), then the latest ``last_updated``, then
    the source id (stable).

    >>> choose_source({"a": {"last_updated": "1"}, "b": {"last_updated": "2"}}, {})
    'b'
    >>> choose_source({"a": {"last_updated": "1"}, "b": {"last_updated": "2"}}, {"a": 1})
    'a'
    >>> choose_source({"a": {"last_updated": "1"}, "b": {"last_updated": "2"}}, {"a": 1}, "latest")
    'b'
    """
    ranks = priorities if policy == "priority" else {}
    return min(
        sources,
        key=lambda s: (
            ranks.get(s, 100),
            _negated(str(sources[s].get("last_updated") or "")),
            s,
        ),
    )


def demographics(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level demographic fields of a passport patient."""
    return {k: doc.get(k) for k in DEMOGRAPHIC_FIELDS}


@dataclass(frozen=True, slots=True)
class PatientOutcome:
    """The passport patient to write, and the decision that shaped its demographics."""

    doc: dict[str, Any]
    decision: Decision
    base: dict[str, Any]
    passport: dict[str, Any]
    incoming: dict[str, Any]


def reconcile_patient(
    stored: Mapping[str, Any] | None,
    merged: Mapping[str, Any],
    *,
    priorities: dict[str, int],
    policy: Policy = "priority",
    strategy: Strategy = "merge",
    fallback: Fallback = "source-wins",
) -> PatientOutcome:
    """Apply the three-way rules to a patient whose hospital versions (``merged["sources"]``)
    were just updated.

    The incoming demographics are the ones ``policy`` picks from the hospital versions; the
    passport side is the stored top level; the base is what the last sync put there. A
    ``conflict`` decision keeps the passport's demographics (the hospital version is still kept
    under ``sources``) until someone resolves it.

    >>> stored = merge_patient(None, "N1", "h1", {"name": "Ann", "last_updated": "1"})
    >>> stored = reconcile_patient(None, stored, priorities={}).doc
    >>> stored["name"] = "Anna"  # an admin's correction, made by another app
    >>> v2 = {"name": "Ann", "gender": "F", "last_updated": "2"}
    >>> again = merge_patient(stored, "N1", "h1", v2)
    >>> out = reconcile_patient(stored, again, priorities={})
    >>> out.decision.action, out.doc["name"], out.doc["gender"]
    ('resolved', 'Anna', 'F')
    """
    sources = dict(merged.get("sources") or {})
    doc = dict(merged)
    chosen = choose_source(sources, priorities, policy) if sources else None
    incoming = (
        {k: sources[chosen].get(k) for k in DEMOGRAPHIC_FIELDS}
        if chosen is not None
        else demographics(merged)
    )
    if chosen is not None:
        doc["demographics_from"] = chosen
    source_time = str(sources[chosen].get("last_updated") or "") if chosen else None
    if stored is None:
        decision = Decision("apply", dict(incoming), reason="new patient")
        return _outcome(doc, decision, incoming, incoming, incoming, None)
    base_state = stored.get("demographics_base") or {}
    passport = demographics(stored)
    base_raw = base_state.get("fields")
    base = (
        {k: base_raw.get(k) for k in DEMOGRAPHIC_FIELDS}
        if isinstance(base_raw, Mapping)
        else dict(passport)
    )
    passport_hash = base_state.get("hash") or fields_hash(base)
    edited = stored.get("edited") or {}
    if fields_hash(passport) == passport_hash:
        passport = dict(base)  # unchanged since the sync (robust to an equal re-render)
    decision = decide(
        base,
        passport,
        incoming,
        strategy=strategy,
        fallback=fallback,
        source_time=source_time or None,
        passport_time=edited.get("at"),
    )
    return _outcome(doc, decision, base, passport, incoming, stored)


def _outcome(
    doc: dict[str, Any],
    decision: Decision,
    base: dict[str, Any],
    passport: dict[str, Any],
    incoming: dict[str, Any],
    stored: Mapping[str, Any] | None,
) -> PatientOutcome:
    if decision.action in ("apply", "resolved") and decision.fields is not None:
        shown = decision.fields
        new_base = incoming
    else:  # echo, keep, conflict: the passport's demographics and base stay as they are
        shown = passport
        new_base = base
    doc.update({k: shown.get(k) for k in DEMOGRAPHIC_FIELDS})
    doc["demographics_base"] = {"fields": dict(new_base), "hash": fields_hash(new_base)}
    if any(shown.get(k) != new_base.get(k) for k in DEMOGRAPHIC_FIELDS):
        if stored is not None and stored.get("edited"):
            doc["edited"] = stored["edited"]
    else:
        doc.pop("edited", None)
    return PatientOutcome(doc, decision, base, passport, incoming)


def resolved_patient(
    stored: Mapping[str, Any], fields: Mapping[str, Any], incoming: Mapping[str, Any]
) -> dict[str, Any]:
    """The patient after a conflict resolution: ``fields`` shown, ``incoming`` the new base."""
    doc = dict(stored)
    new_base = {k: incoming.get(k) for k in DEMOGRAPHIC_FIELDS}
    doc.update({k: fields.get(k) for k in DEMOGRAPHIC_FIELDS})
    doc["demographics_base"] = {"fields": new_base, "hash": fields_hash(new_base)}
    if all(doc.get(k) == new_base.get(k) for k in DEMOGRAPHIC_FIELDS):
        doc.pop("edited", None)
    return doc


def edit_patient(
    stored: Mapping[str, Any], changes: Mapping[str, Any], *, actor: str, at: str
) -> dict[str, Any]:
    """The passport patient after an admin's correction of its demographics.

    Raises:
        ValueError: a field that is not a demographic field (named in the message).

    >>> p = edit_patient({"name": "Ann"}, {"name": "Anna"}, actor="ann", at="t")
    >>> p["name"], p["demographics_base"]["fields"]["name"], p["edited"]["fields"]
    ('Anna', 'Ann', ['name'])
    """
    unknown = sorted(set(changes) - set(DEMOGRAPHIC_FIELDS))
    if unknown:
        msg = f"not editable: {', '.join(unknown)} (editable: {', '.join(DEMOGRAPHIC_FIELDS)})"
        raise ValueError(msg)
    doc = dict(stored)
    if not isinstance((doc.get("demographics_base") or {}).get("fields"), Mapping):
        base = demographics(stored)  # written before the bookkeeping: its content is the base
        doc["demographics_base"] = {"fields": base, "hash": fields_hash(base)}
    previous = set((doc.get("edited") or {}).get("fields") or [])
    doc.update(changes)
    doc["edited"] = {
        "at": at,
        "by": actor,
        "fields": [k for k in DEMOGRAPHIC_FIELDS if k in previous | set(changes)],
    }
    return doc


def _negated(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)
