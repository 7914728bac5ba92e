"""The search checks a store cannot index, each a predicate over a stored row or a served
resource; pure, and shared by the record and the patient searches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mappers import normalise_national_id

from ._query import DateBound, SearchQuery, Token
from ._resources import JSON, VIA_TAG, _epoch, tag_codes

CODE_KEYS = ("code", "medicationCodeableConcept", "type", "vaccineCode")
Check = Callable[[JSON], bool]


def came_through(doc: JSON, caller: str | None) -> bool:
    """The row reached this passport through ``caller`` (its code is in ``urn:sync2:via``)."""
    return bool(caller) and caller in tag_codes(doc.get("raw") or {}, VIA_TAG)


def keep_all(_doc: JSON) -> bool:
    return True


def all_of(checks: list[Check]) -> Check:
    if not checks:
        return keep_all
    return lambda doc: all(check(doc) for check in checks)


def record_checks(query: SearchQuery, caller: str | None) -> list[Check]:
    """Checks on a stored record row (its ``raw`` resource and its ``effective`` date)."""
    checks: list[Check] = []
    if caller:
        checks.append(lambda d: not came_through(d, caller))
    if query.tags:
        checks.append(lambda d: any_coding(tags_of(d.get("raw") or {}), query.tags))
    if query.categories:
        checks.append(lambda d: any_coding(codings(d, ("category",)), query.categories))
    if query.codes:
        checks.append(lambda d: any_coding(codings(d, CODE_KEYS), query.codes))
    if query.dates:
        checks.append(lambda d: dates_admit(query.dates, d.get("effective")))
    return checks


def patient_checks(query: SearchQuery) -> list[Check]:
    """Checks on a served Patient resource."""
    checks: list[Check] = []
    if query.tags:
        checks.append(lambda r: any_coding(tags_of(r), query.tags))
    if query.names:
        checks.append(lambda r: name_matches(r, query.names))
    if query.birthdates:
        checks.append(lambda r: dates_admit(query.birthdates, r.get("birthDate")))
    if query.identifiers:
        checks.append(lambda r: identifier_matches(r, query.identifiers))
    return checks


def tags_of(resource: JSON) -> list[tuple[str | None, str | None]]:
    meta = resource.get("meta") or {}
    return [(t.get("system"), t.get("code")) for t in meta.get("tag") or [] if isinstance(t, dict)]


def codings(doc: JSON, keys: tuple[str, ...]) -> list[tuple[str | None, str | None]]:
    """The codings of the row's raw resource under ``keys`` (and the mapped codes for code)."""
    raw = doc.get("raw") or {}
    found: list[tuple[str | None, str | None]] = []
    if keys == CODE_KEYS:
        found += [
            (c.get("system"), c.get("code")) for c in doc.get("codes") or [] if isinstance(c, dict)
        ]
    for key in keys:
        value = raw.get(key)
        for concept in value if isinstance(value, list) else [value]:
            if isinstance(concept, dict):
                found += [
                    (c.get("system"), c.get("code"))
                    for c in concept.get("coding") or []
                    if isinstance(c, dict)
                ]
    return found


def any_coding(found: list[tuple[str | None, str | None]], tokens: tuple[Token, ...]) -> bool:
    """
    >>> any_coding([("http://loinc.org", "1")], (Token(None, "1"),))
    True
    >>> any_coding([("http://loinc.org", "1")], (Token("http://snomed.info/sct", "1"),))
    False
    """
    return any(t.matches(system, code) for t in tokens for system, code in found)


def dates_admit(bounds: tuple[DateBound, ...], text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    when = _epoch(text if "T" in text else f"{text}T00:00:00+00:00")
    return all(b.admits(when) for b in bounds)


def name_matches(resource: JSON, names: tuple[str, ...]) -> bool:
    """FHIR ``name``: some part of some name starts with the value, case-insensitively.

    >>> name_matches({"name": [{"family": "Kariuki", "given": ["Kevin"]}]}, ("kev",))
    True
    >>> name_matches({"name": "Central Hospital"}, ("hosp",))
    True
    """
    parts: list[str] = []
    raw_names = resource.get("name")
    if isinstance(raw_names, str):
        parts.append(raw_names)
    for name in raw_names if isinstance(raw_names, list) else []:
        if isinstance(name, dict):
            parts += [str(name.get("text") or ""), str(name.get("family") or "")]
            parts += [str(g) for g in name.get("given") or []]
    words = [w.casefold() for p in parts for w in [p, *p.split()] if w]
    return any(any(w.startswith(n) for w in words) for n in names)


def identifier_matches(resource: JSON, tokens: tuple[Token, ...]) -> bool:
    """An identifier value (of the given system, if any); a national ID matches however it is
    spelled (``NID-1234-5678`` and ``nid 12345678`` are one person)."""
    for token in tokens:
        if str(resource.get("id")) == normalise_national_id(token.code):
            return True
        for ident in resource.get("identifier") or []:
            if isinstance(ident, dict) and token.matches(ident.get("system"), ident.get("value")):
                return True
    return False
