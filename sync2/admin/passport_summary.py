"""The summary that opens ``passport show``: what a doctor at another hospital looks for first.

Allergies, active problems, current medications (one line per medication) and the latest
results, taken from the patient's records across every hospital. Pure: it reads the stored
record dicts (newest first, as the store returns them) and returns plain dicts.

A record that is no longer valid (voided, superseded) never counts. A drug or test order that
another record revises (``supersedes``) is left out even before the engine has marked it, so
a revised prescription never shows twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mappers.documents import INVALID_STATUSES

Record = dict[str, Any]

#: Clinical statuses (allergy, condition) that mean "no longer a concern".
_PAST = frozenset({"inactive", "resolved", "remission"})
#: Verification statuses that mean "not the patient's after all".
_REFUTED = frozenset({"refuted", "entered-in-error"})
#: Drug-order statuses of a medication the patient is taking (fhir2: active; others: on-hold).
_CURRENT_ORDER = frozenset({"active", "on-hold"})
#: How many latest results the summary lists.
LATEST_RESULTS = 10


def _data(rec: Record) -> dict[str, Any]:
    data = rec.get("data")
    return data if isinstance(data, dict) else {}


def _valid(records: Iterable[Record]) -> list[Record]:
    """Valid records, without those another record of the same source supersedes.

    >>> [r["uuid"] for r in _valid([{"source": "a", "uuid": "2", "supersedes": "1"},
    ...     {"source": "a", "uuid": "1"}, {"source": "a", "uuid": "3", "status": "superseded"}])]
    ['2']
    """
    records = list(records)
    replaced = {(r["source"], r["supersedes"]) for r in records if r.get("supersedes")}
    return [
        r
        for r in records
        if r.get("status") not in INVALID_STATUSES and (r["source"], r["uuid"]) not in replaced
    ]


def _one_per(records: Iterable[Record], key: Callable[[Record], str]) -> list[Record]:
    """The first (newest) record per case-insensitive key, in order."""
    seen: set[str] = set()
    out = []
    for rec in records:
        k = key(rec).strip().lower()
        if k not in seen:
            seen.add(k)
            out.append(rec)
    return out


def _where(rec: Record) -> dict[str, Any]:
    return {
        "hospital": rec.get("hospital") or rec.get("source"),
        "source": rec.get("source"),
        "uuid": rec.get("uuid"),
        "effective": rec.get("effective"),
    }


def allergies(records: list[Record]) -> list[dict[str, Any]]:
    """Allergies still of concern, one per allergen.

    >>> allergies([{"source": "a", "uuid": "1", "type": "allergy", "name": "Penicillin",
    ...     "data": {"reactions": [{"manifestations": ["Rash"]}]}}])[0]["reactions"]
    ['Rash']
    """
    out = []
    for rec in _one_per((r for r in records if r.get("type") == "allergy"), _name):
        data = _data(rec)
        if data.get("clinicalStatus") in _PAST or data.get("verificationStatus") in _REFUTED:
            continue
        reactions = [m for r in data.get("reactions") or [] for m in r.get("manifestations") or []]
        out.append(
            {
                "allergen": rec.get("name"),
                "severity": data.get("severity"),
                "criticality": data.get("criticality"),
                "reactions": reactions,
                "verificationStatus": data.get("verificationStatus"),
                **_where(rec),
            }
        )
    return out


def active_problems(records: list[Record]) -> list[dict[str, Any]]:
    """Conditions and diagnoses (from Condition resources) not resolved, one per name.

    >>> active_problems([{"source": "a", "uuid": "1", "type": "condition", "name": "Malaria",
    ...     "resource_type": "Condition", "data": {"clinicalStatus": "resolved"}}])
    []
    """
    conditions = (
        r for r in records if r.get("type") == "condition" and r.get("resource_type") == "Condition"
    )
    out = []
    for rec in _one_per(conditions, _name):
        data = _data(rec)
        if (
            data.get("clinicalStatus") in _PAST
            or data.get("abatement")
            or data.get("verificationStatus") in _REFUTED
        ):
            continue
        out.append(
            {
                "name": rec.get("name"),
                "kind": data.get("kind"),
                "clinicalStatus": data.get("clinicalStatus"),
                "verificationStatus": data.get("verificationStatus"),
                "diagnosed": data.get("diagnosed"),
                **_where(rec),
            }
        )
    return out


def current_medications(records: list[Record]) -> list[dict[str, Any]]:
    """Active drug orders, one line per medication (the newest order of each).

    >>> meds = current_medications([
    ...     {"source": "a", "uuid": "2", "type": "medication", "resource_type": "MedicationRequest",
    ...      "name": "Aspirin", "supersedes": "1", "data": {"status": "active", "dosage": "2 tab"}},
    ...     {"source": "a", "uuid": "1", "type": "medication", "resource_type": "MedicationRequest",
    ...      "name": "Aspirin", "data": {"status": "active", "dosage": "1 tab"}}])
    >>> [(m["medicationName"], m["dosage"]) for m in meds]
    [('Aspirin', '2 tab')]
    """
    orders = (
        r
        for r in records
        if r.get("type") == "medication" and r.get("resource_type") == "MedicationRequest"
    )
    out = []
    for rec in _one_per(orders, _name):
        data = _data(rec)
        if data.get("status") not in _CURRENT_ORDER:
            continue
        out.append(
            {
                "medicationName": rec.get("name"),
                "dosage": data.get("dosage"),
                "status": data.get("status"),
                "doctor": rec.get("doctor"),
                **_where(rec),
            }
        )
    return out


def _result_value(rec: Record, by_key: dict[tuple[str, str], Record]) -> tuple[str | None, Any]:
    """A result's value and unit; a report without a conclusion shows its results' values."""
    if rec.get("value") not in (None, ""):
        return rec.get("value"), rec.get("unit")
    members = [by_key.get((rec["source"], m)) for m in rec.get("members") or []]
    parts = [
        f"{m.get('name')}: {m.get('value')} {m.get('unit') or ''}".strip()
        for m in members
        if m and m.get("value") not in (None, "")
    ]
    return ("; ".join(parts) or None), None


def latest_results(records: list[Record]) -> list[dict[str, Any]]:
    """The newest result of each test (observations and lab reports, not bare orders).

    >>> latest_results([{"source": "a", "uuid": "1", "type": "test", "name": "CD4",
    ...     "resource_type": "Observation", "value": "350", "unit": "cells/uL"}])[0]["result"]
    '350'
    """
    by_key = {(r["source"], r["uuid"]): r for r in records}
    member_keys = {(r["source"], m) for r in records for m in r.get("members") or []}
    tests = (
        r
        for r in records
        if r.get("type") == "test"
        and r.get("resource_type") != "ServiceRequest"
        and (r["source"], r["uuid"]) not in member_keys
    )
    out = []
    for rec in _one_per(tests, _name):
        value, unit = _result_value(rec, by_key)
        if value is None:
            continue
        out.append({"testName": rec.get("name"), "result": value, "unit": unit, **_where(rec)})
        if len(out) == LATEST_RESULTS:
            break
    return out


def _name(rec: Record) -> str:
    return str(rec.get("name") or "")


def passport_summary(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    """The four summary lists from a patient's records (newest first)."""
    valid = _valid(records)
    return {
        "allergies": allergies(valid),
        "problems": active_problems(valid),
        "medications": current_medications(valid),
        "results": latest_results(valid),
    }
