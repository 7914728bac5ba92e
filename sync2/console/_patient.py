"""What the patient page shows, computed from the passport's records (pure: data in, data out).

The timeline itself is ``passport_view.passport_json`` (the same shape ``passport show --json``
prints), so the console and the CLI cannot disagree about a patient. This module adds the two
things only a page needs: the summary sections, by passport record type, and the vitals series
for the charts, with every point keyed to the record it came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from mappers._rules import SYSTEM_ALIASES, normalise_code
from mappers.documents import INVALID_STATUSES

from ..admin.status import parse_time

#: Summary sections in the order a doctor reads them; each shows only when the passport holds
#: records of that type. ``allergy`` exists once the allergy mapper lands; until then the
#: section simply never appears.
SUMMARY_SECTIONS: tuple[tuple[str, str], ...] = (
    ("allergy", "Allergies"),
    ("condition", "Problems and diagnoses"),
    ("medication", "Medications"),
    ("test", "Latest results"),
)
#: The fields a summary line shows (every one present, whatever a record type stores).
_SHOWN = ("source", "uuid", "type", "name", "value", "unit", "effective", "status", "hospital")
#: Most records a summary section lists (newest first); the timeline has the rest.
SECTION_LIMIT = 10

_CIEL = SYSTEM_ALIASES["CIEL"]
_LOINC = SYSTEM_ALIASES["LOINC"]
#: Vital measure -> the codes that identify it (CIEL and LOINC), then name words as a fallback.
_MEASURES: dict[str, tuple[frozenset[tuple[str, str]], tuple[str, ...]]] = {
    "weight": (frozenset({(_CIEL, "5089"), (_LOINC, "29463-7")}), ("WEIGHT",)),
    "bmi": (frozenset({(_CIEL, "1342"), (_LOINC, "39156-5")}), ("BMI", "BODY MASS INDEX")),
    "systolic": (frozenset({(_CIEL, "5085"), (_LOINC, "8480-6")}), ("SYSTOLIC",)),
    "diastolic": (frozenset({(_CIEL, "5086"), (_LOINC, "8462-4")}), ("DIASTOLIC",)),
    "temperature": (frozenset({(_CIEL, "5088"), (_LOINC, "8310-5")}), ("TEMPERATURE",)),
    "pulse": (frozenset({(_CIEL, "5087"), (_LOINC, "8867-4")}), ("PULSE", "HEART RATE")),
}
#: One chart per entry: key, title, unit, the measures drawn as its series.
CHARTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("weight", "Weight", "kg", ("weight",)),
    ("bmi", "BMI", "kg/m²", ("bmi",)),
    ("bp", "Blood pressure", "mmHg", ("systolic", "diastolic")),
    ("temperature", "Temperature", "°C", ("temperature",)),
    ("pulse", "Pulse", "/min", ("pulse",)),
)


@dataclass(slots=True)
class Point:
    """One measurement on a chart, with the anchor of its record in the timeline."""

    at: float
    measure: str
    value: float
    when: str
    anchor: str


@dataclass(slots=True)
class Chart:
    """One vitals chart: aligned x values (epoch seconds) and one value list per measure."""

    key: str
    title: str
    unit: str
    measures: tuple[str, ...]
    points: list[Point] = field(default_factory=list)

    def series(self) -> dict[str, Any]:
        """The uPlot-ready data: ``x``, one list per measure (None where it has no point), and
        the record anchor of each x. Measures taken at one time share an x (a blood pressure's
        two numbers); repeats of one measure at one time each get their own.

        >>> c = Chart("bp", "BP", "mmHg", ("systolic", "diastolic"), [
        ...     Point(1.0, "systolic", 120, "", "a"), Point(1.0, "diastolic", 80, "", "b"),
        ...     Point(1.0, "systolic", 125, "", "c"), Point(2.0, "diastolic", 85, "", "d")])
        >>> data = c.series()
        >>> data["x"], data["series"], data["links"]
        ([1.0, 1.0, 2.0], [[120, 125, None], [80, None, 85]], ['a', 'c', 'd'])
        """
        seen: dict[tuple[float, str], int] = {}
        slots: list[tuple[float, int, Point]] = []
        for p in sorted(self.points, key=lambda p: p.at):
            repeat = seen.get((p.at, p.measure), 0)
            seen[(p.at, p.measure)] = repeat + 1
            slots.append((p.at, repeat, p))
        keys = sorted({(at, repeat) for at, repeat, _ in slots})
        index = {k: i for i, k in enumerate(keys)}
        values: dict[str, list[float | None]] = {m: [None] * len(keys) for m in self.measures}
        links: list[str] = [""] * len(keys)
        for at, repeat, p in slots:
            i = index[(at, repeat)]
            values[p.measure][i] = p.value
            links[i] = links[i] or p.anchor
        return {
            "x": [at for at, _ in keys],
            "series": [values[m] for m in self.measures],
            "links": links,
        }


def record_anchor(source: str, uuid: str) -> str:
    """A stable, HTML-id-safe anchor for one record, whatever characters its ids hold.

    >>> record_anchor("central", "abc") == record_anchor("central", "abc")
    True
    >>> record_anchor("central", "abc").startswith("rec-")
    True
    """
    digest = hashlib.sha256(f"{source}\x00{uuid}".encode()).hexdigest()[:16]
    return f"rec-{digest}"


def summary_sections(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary's sections that have records, each with its newest valid records.

    >>> recs = [{"type": "condition", "status": "final", "name": "Malaria"},
    ...         {"type": "vital", "status": "final", "name": "Weight"},
    ...         {"type": "condition", "status": "entered-in-error", "name": "Typo"}]
    >>> [(s["type"], [r["name"] for r in s["records"]]) for s in summary_sections(recs)]
    [('condition', ['Malaria'])]
    """
    valid = [r for r in records if r.get("status") not in INVALID_STATUSES]
    sections = []
    for rtype, title in SUMMARY_SECTIONS:
        found = [{k: r.get(k) for k in _SHOWN} for r in valid if r.get("type") == rtype]
        if found:
            sections.append({"type": rtype, "title": title, "records": found[:SECTION_LIMIT]})
    return sections


def measure_of(record: dict[str, Any]) -> str | None:
    """Which vital a record measures: by its codes first, then by words in its name.

    >>> measure_of({"codes": [{"system": "", "code": "5089" + "A" * 32}], "name": "x"})
    'weight'
    >>> measure_of({"codes": [], "name": "Systolic blood pressure"})
    'systolic'
    >>> measure_of({"codes": [], "name": "Haemoglobin"}) is None
    True
    """
    keys = {normalise_code(c.get("system") or "", c.get("code") or "") for c in _codes(record)}
    for measure, (codes, _words) in _MEASURES.items():
        if keys & codes:
            return measure
    name = str(record.get("name") or "").upper()
    for measure, (_, words) in _MEASURES.items():
        if any(w in name for w in words):
            return measure
    return None


def vital_charts(records: list[dict[str, Any]]) -> list[Chart]:
    """The charts that have at least one point, from the valid numeric vital records."""
    charts = [Chart(key, title, unit, measures) for key, title, unit, measures in CHARTS]
    by_measure = {m: chart for chart in charts for m in chart.measures}
    for rec in records:
        if rec.get("type") != "vital" or rec.get("status") in INVALID_STATUSES:
            continue
        measure = measure_of(rec)
        value = _number(rec.get("value"))
        at = parse_time(rec.get("effective"))
        if measure is None or value is None or at is None:
            continue
        anchor = record_anchor(str(rec.get("source")), str(rec.get("uuid")))
        by_measure[measure].points.append(
            Point(at, measure, value, str(rec.get("effective")), anchor)
        )
    for chart in charts:
        chart.points.sort(key=lambda p: (p.at, p.measure))
    return [c for c in charts if c.points]


def _codes(record: dict[str, Any]) -> list[dict[str, Any]]:
    codes = record.get("codes")
    return [c for c in codes if isinstance(c, dict)] if isinstance(codes, list) else []


def _number(value: Any) -> float | None:
    """A record value as a number, or None (coded, text and missing values have no point).

    >>> _number("71.5"), _number(80), _number("high"), _number(None), _number(True)
    (71.5, 80.0, None, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
