"""FHIR search parameters, checked strictly: what a request asks for, or a 400 naming why not.

Pure: a query string (as pairs) goes in, a :class:`SearchQuery` comes out. The reader turns it
into a store scan plus the checks the store cannot index (code, category, date, name, ...).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass, field

from ..store._changes import ChangeKey

MAX_COUNT = 1000
DEFAULT_COUNT = 100
#: Accepted everywhere; ``_cursor`` is this server's keyset position in ``next`` links, the
#: ``_total*`` ones are what fhirpy sends with ``count()``.
COMMON_PARAMS = frozenset(
    {
        "_id",
        "_lastUpdated",
        "_count",
        "_sort",
        "_format",
        "_cursor",
        "_tag",
        "_total",
        "_totalMethod",
    }
)
RECORD_PARAMS = frozenset({"patient", "subject", "category", "code", "date"})
TYPE_PARAMS: dict[str, frozenset[str]] = {
    "Patient": frozenset({"identifier", "name", "birthdate"}),
    "Practitioner": frozenset({"name"}),
    "Location": frozenset({"name"}),
    "Provenance": frozenset({"target"}),
}
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)?)?$")
_PREFIXES = ("eq", "ge", "gt", "le", "lt")
_JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})


class BadSearch(ValueError):
    """A search the server will not run; the message names the parameter (becomes a 400)."""


@dataclass(frozen=True, slots=True)
class DateBound:
    """``prefix`` and the half-open interval ``[start, end)`` a FHIR date stands for."""

    prefix: str
    start: float
    end: float

    def admits(self, value: float) -> bool:
        """
        >>> b = parse_date("date", "ge2024-01")
        >>> b.admits(parse_date("d", "2024-01-31").start), b.admits(parse_date("d", "2023").start)
        (True, False)
        """
        if self.prefix == "eq":
            return self.start <= value < self.end
        if self.prefix == "ge":
            return value >= self.start
        if self.prefix == "gt":
            return value >= self.end
        if self.prefix == "le":
            return value < self.end
        return value < self.start  # lt


@dataclass(frozen=True, slots=True)
class Token:
    """A token search value: ``system|code``, ``|code`` (no system) or ``code`` (any system)."""

    system: str | None
    code: str

    def matches(self, system: str | None, code: str | None) -> bool:
        if code is None or code != self.code:
            return False
        return self.system is None or (system or "") == self.system


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search, understood; each list is an OR, each field an AND."""

    resource_type: str
    ids: tuple[str, ...] | None = None
    last_updated: tuple[DateBound, ...] = ()
    count: int = DEFAULT_COUNT
    after: ChangeKey | None = None
    tags: tuple[Token, ...] = ()
    patient: tuple[str, ...] | None = None
    categories: tuple[Token, ...] = ()
    codes: tuple[Token, ...] = ()
    dates: tuple[DateBound, ...] = ()
    identifiers: tuple[Token, ...] = ()
    names: tuple[str, ...] = ()
    birthdates: tuple[DateBound, ...] = ()
    targets: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = field(default=())  # as given, less _cursor

    def since_until(self) -> tuple[float | None, float | None]:
        """The ``_lastUpdated`` bounds as an inclusive store range."""
        since: float | None = None
        until: float | None = None
        for bound in self.last_updated:
            low = {"eq": bound.start, "ge": bound.start, "gt": bound.end}.get(bound.prefix)
            high = {"eq": bound.end, "le": bound.end, "lt": bound.start}.get(bound.prefix)
            if low is not None:
                since = low if since is None else max(since, low)
            if high is not None:
                high -= 1e-6
                until = high if until is None else min(until, high)
        return since, until


def parse_date(name: str, text: str) -> DateBound:
    """A FHIR date search value, e.g. ``ge2024-06-25T10:56:16+00:00`` or ``2024-06``.

    >>> b = parse_date("_lastUpdated", "gt2024-06-25")
    >>> b.prefix, b.end - b.start
    ('gt', 86400.0)
    >>> parse_date("date", "2024-13-01")
    Traceback (most recent call last):
    ...
    sync2.faces._query.BadSearch: date: '2024-13-01' is not a valid FHIR date
    """
    value = text.replace(" ", "+")  # a '+' sent unencoded arrives as a space
    prefix = "eq"
    if value[:2] in _PREFIXES:
        prefix, value = value[:2], value[2:]
    elif value[:2].isalpha():
        msg = f"{name}: prefix {value[:2]!r} is not supported (use eq, ge, gt, le or lt)"
        raise BadSearch(msg)
    match = _DATE.match(value)
    if match is None:
        msg = f"{name}: {text!r} is not a valid FHIR date"
        raise BadSearch(msg)
    try:
        start, end = _interval(match)
    except ValueError as exc:
        msg = f"{name}: {text!r} is not a valid FHIR date"
        raise BadSearch(msg) from exc
    return DateBound(prefix, start, end)


def _interval(match: re.Match[str]) -> tuple[float, float]:
    year, month, day, time = match.groups()
    if time:
        moment = dt.datetime.fromisoformat(f"{year}-{month}-{day}{time}".replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        precision = 1.0 if "." not in time else 0.001
        return moment.timestamp(), moment.timestamp() + precision
    first = dt.datetime(int(year), int(month or 1), int(day or 1), tzinfo=dt.UTC)
    if day:
        after = first + dt.timedelta(days=1)
    elif month:
        after = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    else:
        after = first.replace(year=first.year + 1)
    return first.timestamp(), after.timestamp()


def parse_token(name: str, text: str) -> Token:
    """
    >>> parse_token("code", "http://loinc.org|8480-6"), parse_token("code", "5089")
    (Token(system='http://loinc.org', code='8480-6'), Token(system=None, code='5089'))
    """
    system, sep, code = text.rpartition("|")
    if not code:
        msg = f"{name}: {text!r} has no code"
        raise BadSearch(msg)
    return Token(system if sep else None, code)


def check_id(name: str, value: str) -> str:
    """
    >>> check_id("_id", "Patient/abc-1")
    'abc-1'
    """
    value = value.rpartition("/")[2] if "/" in value else value
    if not _ID.match(value):
        msg = f"{name}: {value[:70]!r} is not a FHIR id ([A-Za-z0-9-.], at most 64)"
        raise BadSearch(msg)
    return value


def encode_cursor(key: ChangeKey) -> str:
    raw = json.dumps([repr(key.changed_at), key.source, key.resource_type, key.uuid])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> ChangeKey:
    """
    >>> decode_cursor(encode_cursor(ChangeKey(1.5, "s", "Observation", "u"))).uuid
    'u'
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        when, source, rtype, uuid = json.loads(raw)
        return ChangeKey(float(when), str(source), str(rtype), str(uuid))
    except (ValueError, TypeError) as exc:
        msg = "_cursor: not a position this server gave out (follow the next link as it is)"
        raise BadSearch(msg) from exc


def _values(name: str, text: str) -> list[str]:
    items = [v.strip() for v in text.split(",")]
    if not all(items):
        msg = f"{name}: empty value in {text[:80]!r}"
        raise BadSearch(msg)
    return items


def parse_search(
    resource_type: str, pairs: list[tuple[str, str]], record_type: bool
) -> SearchQuery:
    """Check and read a search; ``record_type``: a clinical type (patient, code, ... apply).

    Raises:
        BadSearch: an unknown parameter, a bad value, a ``_count`` over the limit.
    """
    allowed = COMMON_PARAMS | TYPE_PARAMS.get(resource_type, frozenset())
    if record_type:
        allowed |= RECORD_PARAMS
    fields: dict[str, list[object]] = {}
    for name, value in pairs:
        base = name.split(":", 1)[0]
        if base not in allowed or ":" in name:
            supported = ", ".join(sorted(allowed))
            msg = f"unknown search parameter {name!r} for {resource_type} (supported: {supported})"
            raise BadSearch(msg)
        fields.setdefault(base, []).extend(_read_one(base, value))
    kept = tuple((n, v) for n, v in pairs if n != "_cursor")
    return _build(resource_type, fields, kept)


def _read_one(name: str, value: str) -> list[object]:
    if name in ("_lastUpdated", "date", "birthdate"):
        return [parse_date(name, value)]
    if name in ("_id", "target", "patient", "subject"):
        return [check_id(name, v) for v in _values(name, value)]
    if name in ("_tag", "category", "code", "identifier"):
        return [parse_token(name, v) for v in _values(name, value)]
    if name == "_count":
        if not value.isdigit() or int(value) > MAX_COUNT:
            msg = f"_count: {value[:20]!r} is not a whole number from 0 to {MAX_COUNT}"
            raise BadSearch(msg)
        return [int(value)]
    if name == "_sort" and value != "_lastUpdated":
        msg = f"_sort: only _lastUpdated is supported, not {value[:40]!r}"
        raise BadSearch(msg)
    if name == "_format" and value not in _JSON_FORMATS:
        msg = f"_format: only JSON is served, not {value[:40]!r}"
        raise BadSearch(msg)
    if name == "_cursor":
        return [decode_cursor(value)]
    return [value]


def _build(
    rtype: str, f: dict[str, list[object]], kept: tuple[tuple[str, str], ...]
) -> SearchQuery:
    def typed(name: str, kind: type) -> tuple:  # type: ignore[type-arg]
        return tuple(v for v in f.get(name, []) if isinstance(v, kind))

    ids = typed("_id", str)
    patients = typed("patient", str) + typed("subject", str)
    counts = typed("_count", int)
    cursors = typed("_cursor", ChangeKey)
    return SearchQuery(
        resource_type=rtype,
        ids=ids if "_id" in f else None,
        last_updated=typed("_lastUpdated", DateBound),
        count=counts[-1] if counts else DEFAULT_COUNT,
        after=cursors[-1] if cursors else None,
        tags=typed("_tag", Token),
        patient=patients if ("patient" in f or "subject" in f) else None,
        categories=typed("category", Token),
        codes=typed("code", Token),
        dates=typed("date", DateBound),
        identifiers=typed("identifier", Token),
        names=tuple(str(n).casefold() for n in f.get("name", [])),
        birthdates=typed("birthdate", DateBound),
        targets=typed("target", str),
        params=kept,
    )
