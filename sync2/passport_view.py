"""A patient's cross-hospital record, as ``passport show`` prints it (text or JSON).

A summary first (allergies, active problems, current medications, latest results), then the
timeline: newest first; observation-group members and a report's results are listed under it,
not beside it; records that are no longer valid (voided, superseded by an edit) are marked,
never shown as valid.
"""

from __future__ import annotations

from typing import Any

from mappers.documents import INVALID_STATUSES, STATUS_SUPERSEDED

from .admin.passport_summary import passport_summary

JSON_FIELDS = (
    "source",
    "hospital",
    "resource_type",
    "type",
    "name",
    "value",
    "unit",
    "effective",
    "doctor",
    "status",
    "uuid",
)


def passport_json(
    patient: dict[str, Any], records: list[dict[str, Any]], *, include_superseded: bool = False
) -> dict[str, Any]:
    """The stable ``--json`` shape of ``passport show``."""
    shown = [r for r in records if include_superseded or r.get("status") != STATUS_SUPERSEDED]
    by_uuid = {(r["source"], r["uuid"]): r for r in shown}
    member_keys = {(r["source"], m) for r in shown for m in r.get("members") or []}
    out = []
    for rec in shown:
        if (rec["source"], rec["uuid"]) in member_keys:
            continue
        item = {k: rec.get(k) for k in JSON_FIELDS}
        members = [
            by_uuid[(rec["source"], m)]
            for m in rec.get("members") or []
            if (rec["source"], m) in by_uuid
        ]
        if members:
            item["members"] = [{k: m.get(k) for k in JSON_FIELDS} for m in members]
        out.append(item)
    return {
        "national_id": patient.get("national_id") or patient.get("patient_id"),
        "name": patient.get("name"),
        "gender": patient.get("gender"),
        "birth_date": patient.get("birth_date"),
        "hospitals": sorted({link["source"] for link in patient.get("links") or []}),
        "summary": passport_summary(records),
        "records": out,
    }


def _when(effective: str | None) -> str:
    if not effective:
        return "????-??-?? ??:??"
    text = effective.replace("T", " ")
    return text[:16]


def _line(rec: dict[str, Any], indent: str = "") -> str:
    value = rec.get("value")
    shown = f"{value} {rec.get('unit') or ''}".strip() if value not in (None, "") else ""
    what = rec.get("name") or "?"
    if shown:
        what = shown if rec.get("type") == "condition" else f"{what}: {shown}"
    status = rec.get("status")
    mark = f"  [{status.upper()}]" if status in INVALID_STATUSES else ""
    return (
        f"{indent}{_when(rec.get('effective'))}  {rec.get('hospital') or rec.get('source')}  "
        f"{rec.get('doctor') or '-'}  {rec.get('type')}  {what}{mark}"
    )


def _join(*parts: Any) -> str:
    return ", ".join(str(p) for p in parts if p not in (None, "", []))


#: Summary sections: title, key in the view, and how one item reads.
_SECTIONS: tuple[tuple[str, str, Any], ...] = (
    ("Allergies", "allergies", lambda a: (a["allergen"], _join(a["severity"], *a["reactions"]))),
    ("Active problems", "problems", lambda p: (p["name"], _join(p["kind"], p["diagnosed"]))),
    ("Current medications", "medications", lambda m: (m["medicationName"], m["dosage"])),
    ("Latest results", "results", lambda r: (r["testName"], _join(r["result"], r["unit"]))),
)


def summary_text(summary: dict[str, Any]) -> list[str]:
    """The summary block: one heading per section, one line per item (``none known``).

    >>> summary_text({"allergies": [{"allergen": "Penicillin", "severity": "severe",
    ...     "reactions": ["Rash"], "hospital": "Central"}]})[:2]
    ['Allergies', '  Penicillin (severe, Rash)  Central']
    """
    lines = []
    for title, key, parts in _SECTIONS:
        lines.append(title)
        items = summary.get(key) or []
        for item in items:
            name, detail = parts(item)
            detail = f" ({detail})" if detail else ""
            lines.append(f"  {name}{detail}  {item.get('hospital') or ''}".rstrip())
        if not items:
            lines.append("  none known")
    return lines


def passport_text(view: dict[str, Any]) -> str:
    """Human-readable timeline (one line a record, group members indented)."""
    head = (
        f"Passport {view['national_id']}  {view.get('name') or ''}  "
        f"({view.get('gender') or '?'}, born {view.get('birth_date') or '?'})  "
        f"hospitals: {', '.join(view['hospitals']) or '-'}"
    )
    lines = [head, "-" * min(len(head), 100)]
    lines += summary_text(view.get("summary") or {})
    lines.append("Timeline")
    for rec in view["records"]:
        lines.append(_line(rec))
        for member in rec.get("members") or []:
            lines.append(_line(member, indent="    └ "))
    if not view["records"]:
        lines.append("(no records)")
    return "\n".join(lines)
