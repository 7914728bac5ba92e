"""FHIR search as fhir2 answers it (research A3/A4), over the Hospital's indexes.

Quirks kept on purpose: ``gt`` acts as ``ge`` and ``lt`` as ``le``; obs ``_lastUpdated`` is
``date_created``; voided rows never match; Practitioner searches add every user, unfiltered;
Encounter searches list visits before encounters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ._hospital import Hospital
from ._records import CLINICAL_TYPES, Clinical, Encounter, Location, Obs, Patient, Practitioner, Rec

DEFAULT_COUNT = 10
MAX_COUNT = 100

_COMMON = {
    "_id",
    "_lastUpdated",
    "_count",
    "_sort",
    "_include",
    "_summary",
    "_format",
    "_pretty",
    "_total",
}
_PARAMS = {
    "Patient": {"identifier"},
    "Observation": {"patient", "subject", "encounter", "code", "category"},
    "Encounter": {"patient", "subject", "_tag"},
    "Location": {"_tag", "partof"},
    "Practitioner": {"identifier"},
    "AllergyIntolerance": {"patient"},
    "Condition": {"patient", "subject", "encounter"},
    "MedicationRequest": {"patient", "subject", "encounter"},
    "MedicationDispense": {"patient", "subject"},
    "ServiceRequest": {"patient", "subject", "encounter"},
    "DiagnosticReport": {"patient", "subject", "encounter"},
}
_INCLUDES: dict[str, Callable[[Rec], Iterable[Rec | None]]] = {
    "Observation:encounter": lambda o: (o.encounter,),  # type: ignore[attr-defined]
    "Observation:patient": lambda o: (o.patient,),  # type: ignore[attr-defined]
    "Observation:subject": lambda o: (o.patient,),  # type: ignore[attr-defined]
    "Observation:has-member": lambda o: o.members or (),  # type: ignore[attr-defined]
    "Encounter:patient": lambda e: (e.patient,),  # type: ignore[attr-defined]
    "Encounter:subject": lambda e: (e.patient,),  # type: ignore[attr-defined]
    "Encounter:location": lambda e: (e.location,),  # type: ignore[attr-defined]
    "Encounter:participant": lambda e: e.providers,  # type: ignore[attr-defined]
    "Location:partof": lambda loc: (loc.parent,),  # type: ignore[attr-defined]
}
RESOURCE_TYPES = tuple(_PARAMS)


class SearchError(Exception):
    """A search the server rejects (HTTP 400), like HAPI's InvalidRequestException."""


def parse_date(value: str) -> tuple[int, int]:
    """``[start, end)`` in epoch seconds of a FHIR date at its own precision (max seconds).

    >>> parse_date("2024-01-02")
    (1704153600, 1704240000)
    >>> parse_date("2024-01-02T03:04:05.678+01:00")
    (1704161045, 1704161046)
    """
    v = value.strip().replace("Z", "+00:00").replace(" ", "+")
    try:
        if len(v) == 4:
            start = datetime(int(v), 1, 1, tzinfo=UTC)
            end = datetime(int(v) + 1, 1, 1, tzinfo=UTC)
        elif len(v) == 7:
            y, m = int(v[:4]), int(v[5:7])
            start = datetime(y, m, 1, tzinfo=UTC)
            end = datetime(y + m // 12, m % 12 + 1, 1, tzinfo=UTC)
        elif len(v) == 10:
            start = datetime.fromisoformat(v).replace(tzinfo=UTC)
            end = start + timedelta(days=1)
        else:
            start = datetime.fromisoformat(v)
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            if len(v) <= 16 or v[16] != ":":  # minute precision
                end = start + timedelta(minutes=1)
            else:
                start = start.replace(microsecond=0)
                end = start + timedelta(seconds=1)
    except ValueError as exc:
        msg = f"invalid date {value!r}"
        raise SearchError(msg) from exc
    return int(start.timestamp()), int(end.timestamp())


def _ref_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


@dataclass
class Query:
    """A parsed search: everything needed to re-run it for a later page."""

    rtype: str
    ids: list[str] | None = None
    lo: int | None = None
    hi: int | None = None
    patient: str | None = None
    encounter: str | None = None
    identifier: tuple[str | None, str] | None = None
    tag: str | None = None
    codes: set[str] | None = None
    category: str | None = None
    partof: str | None = None
    sort: str | None = None
    includes: list[str] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    summary_count: bool = False

    def bound(self, lo: int | None = None, hi: int | None = None) -> None:
        if lo is not None:
            self.lo = lo if self.lo is None else max(self.lo, lo)
        if hi is not None:
            self.hi = hi if self.hi is None else min(self.hi, hi)


def parse_query(rtype: str, params: list[tuple[str, str]]) -> Query:
    """Validate and parse search parameters (400 on anything this server does not know)."""
    if rtype not in _PARAMS:
        msg = f"Unknown resource type '{rtype}'"
        raise SearchError(msg)
    q = Query(rtype)
    allowed = _COMMON | _PARAMS[rtype]
    for raw_name, value in params:
        name = raw_name.split(":", 1)[0]
        if name not in allowed:
            msg = f"{rtype} search parameter {raw_name!r} is not supported"
            raise SearchError(msg)
        if name == "_id":
            q.ids = (q.ids or []) + [v.strip() for v in value.split(",") if v.strip()]
        elif name == "_lastUpdated":
            prefix, date = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
            start, end = parse_date(date)
            if prefix in ("ge", "gt"):
                q.bound(lo=start)
            elif prefix in ("le", "lt"):
                q.bound(hi=end - 1)
            elif prefix == "eq":
                q.bound(start, end - 1)
            elif prefix == "sa":
                q.bound(lo=end)
            elif prefix == "eb":
                q.bound(hi=start - 1)
            else:
                msg = f"unsupported date prefix {prefix!r}"
                raise SearchError(msg)
        elif name == "_count":
            try:
                q.count = max(0, min(int(value), MAX_COUNT))
            except ValueError as exc:
                msg = f"invalid _count {value!r}"
                raise SearchError(msg) from exc
        elif name == "_sort":
            if value.lstrip("-") not in ("_lastUpdated", "date", "_id"):
                msg = f"unsupported _sort {value!r}"
                raise SearchError(msg)
            q.sort = value
        elif name == "_include":
            if value not in _INCLUDES or not value.startswith(rtype + ":"):
                msg = f"Invalid _include parameter value: {value!r}"
                raise SearchError(msg)
            q.includes.append(value)
        elif name == "_summary":
            q.summary_count = value == "count"
        elif name in ("patient", "subject"):
            q.patient = _ref_id(value)
        elif name == "encounter":
            q.encounter = _ref_id(value)
        elif name == "identifier":
            system, _, ident = value.rpartition("|")
            q.identifier = (system or None, ident)
        elif name == "_tag":
            q.tag = value.rpartition("|")[2]
        elif name == "code":
            q.codes = {c.rpartition("|")[2] for c in value.split(",")}
        elif name == "category":
            q.category = value.rpartition("|")[2]
        elif name == "partof":
            q.partof = _ref_id(value)
    return q


def _candidates(h: Hospital, q: Query) -> Iterable[Rec]:
    table = h.tables[q.rtype]
    if q.ids is not None:
        found = (table.get(u) for u in dict.fromkeys(q.ids))
        return sorted((r for r in found if r is not None), key=lambda r: r.seq)
    if q.patient is not None and q.rtype in ("Observation", "Encounter"):
        p = h.patients.get(q.patient)
        if p is None:
            return []
        return p.obs if q.rtype == "Observation" else p.encounters  # type: ignore[attr-defined]
    if q.patient is not None and q.rtype in CLINICAL_TYPES:
        p = h.patients.get(q.patient)
        rows = p.clinical if p is not None else []  # type: ignore[attr-defined]
        return [r for r in rows if r.resource_type == q.rtype]
    if q.encounter is not None and q.rtype == "Observation":
        e = h.encounters.get(q.encounter)
        return e.obs if e is not None else []  # type: ignore[attr-defined]
    if q.identifier is not None and q.rtype == "Patient":
        system, value = q.identifier
        return sorted(
            (p for t, p in h.identifiers.get(value, []) if system in (None, t)), key=lambda r: r.seq
        )
    return table.between(q.lo, q.hi)


def _matches(q: Query, r: Rec) -> bool:
    if r.voided:
        return False
    if q.lo is not None and r.lu < q.lo:
        return False
    if q.hi is not None and r.lu > q.hi:
        return False
    if q.patient is not None and r.patient.uuid != q.patient:  # type: ignore[attr-defined]
        return False
    if isinstance(r, Obs):
        if q.encounter is not None and r.encounter.uuid != q.encounter:
            return False
        if q.codes is not None and not ({r.concept.uuid, r.concept.code} & q.codes):
            return False
        if q.category is not None and r.concept.category != q.category:
            return False
    elif isinstance(r, Clinical):
        if q.encounter is not None and (r.encounter is None or r.encounter.uuid != q.encounter):
            return False
    elif isinstance(r, Encounter):
        if q.tag is not None and q.tag != ("visit" if r.is_visit else "encounter"):
            return False
    elif isinstance(r, Location):
        if q.tag is not None and q.tag not in {name for name, _ in r.tags}:
            return False
        if q.partof is not None and (r.parent is None or r.parent.uuid != q.partof):
            return False
    elif isinstance(r, Practitioner):
        if q.identifier is not None and r.identifier != q.identifier[1]:
            return False
    elif isinstance(r, Patient) and q.identifier is not None:
        value = q.identifier[1]
        if value not in (r.openmrs_id, r.national_id):
            return False
    return True


def _time_range_only(q: Query) -> bool:
    """Only ``_lastUpdated`` bounds (and ``_sort``): the sync client's keyset query."""
    return (
        (q.rtype in ("Patient", "Observation", "Location") or q.rtype in CLINICAL_TYPES)
        and q.ids is None
        and q.patient is None
        and q.encounter is None
        and q.identifier is None
        and q.tag is None
        and q.codes is None
        and q.category is None
        and q.partof is None
    )


def run_query(h: Hospital, q: Query) -> list[Rec]:
    """Every matching row, in the order fhir2 pages them. Call with ``h.lock`` held."""
    if _time_range_only(q):  # an index range scan, as MySQL does it: no per-row tests
        source = h.tables[q.rtype]
        rows = [r for r in source.between(q.lo, q.hi) if not r.voided]
        if (q.sort == "_lastUpdated" and source.append_only) or h.ignore_sort:
            return rows  # created in time order (or sort ignored): as they are, by primary key
    else:
        rows = [r for r in _candidates(h, q) if _matches(q, r)]
    if q.sort and not h.ignore_sort:  # a server that ignores _sort pages by primary key
        key = q.sort.lstrip("-")
        if key == "date" and q.rtype == "Observation":
            rows.sort(key=lambda r: (r.obs_datetime, r.seq))  # type: ignore[attr-defined]
        elif key == "_lastUpdated":
            rows.sort(key=lambda r: (r.lu, r.seq))
        rows.reverse() if q.sort.startswith("-") else None
    elif q.rtype == "Encounter" and q.tag is None:
        rows.sort(key=lambda r: (not r.is_visit, r.seq))  # type: ignore[attr-defined]
    if q.rtype == "Practitioner":
        rows.extend(h.users.rows)  # the fhir2 quirk: every user, no filters
    return rows


def included(q: Query, page: list[Rec]) -> list[Rec]:
    """``_include``d rows for one page: distinct, not voided, not already on the page."""
    if not q.includes:
        return []
    seen = {id(r) for r in page}
    out: list[Rec] = []
    for spec in q.includes:
        follow = _INCLUDES[spec]
        for r in page:
            for target in follow(r):
                if target is not None and not target.voided and id(target) not in seen:
                    seen.add(id(target))
                    out.append(target)
    return out
