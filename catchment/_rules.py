"""The strategies, and ``any`` / ``all`` to combine them.

Each rule answers two questions: :meth:`Rule.decide` (from everything the engine knows about a
patient) and :meth:`Rule.tag_verdict` (from a feed entry's filter tags alone, before any fetch;
``UNKNOWN`` when tags cannot tell). ``needs`` tells the engine which costly facts to gather.

>>> rule = AnyOf((AddressRule(("Kenya%Nairobi%*%*%*",)), CohortRule(("NID-1",))))
>>> rule.decide(PatientFacts(national_id="NID1"))
Decision(inside=True, reason='cohort: listed')
>>> rule.decide(PatientFacts(addresses=[{"country": "Kenya", "state": "Kisumu"}]))
Decision(inside=False, reason='none of: address: outside; cohort: not listed')
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._address import (
    LOCATION_FILTER_BEAN,
    address_value,
    parse_address_pattern,
    preferred_address,
    value_matches,
)
from ._errors import CatchmentRuleError
from ._facts import Decision, PatientFacts, Verdict, verdict_all, verdict_any
from ._ids import normalise_id

#: Facts the engine gathers only when a rule asks for them.
NEEDS_ENCOUNTERS = "encounters"
NEEDS_LOCATIONS = "locations"
NEEDS_REGISTERED = "registered"


class FilterTag(Protocol):
    """A Sync 2.0 feed-filter tag (the engine's ``FeedFilterTag`` fits)."""

    @property
    def bean(self) -> str: ...

    @property
    def value(self) -> str: ...


class Rule(Protocol):
    @property
    def needs(self) -> frozenset[str]:
        """Which costly facts (``NEEDS_*``) the engine must gather for :meth:`decide`."""
        ...

    def decide(self, facts: PatientFacts) -> Decision: ...

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict: ...

    def standing(self, national_id: str | None, registered: bool) -> str:
        """The answers that depend only on the national ID and the passport (cohort,
        registered), as a short string: when it changes, a patient left out may now be in."""
        ...


@dataclass(frozen=True, slots=True)
class EveryoneRule:
    """``all`` with no rules: no filter (a full copy)."""

    needs: frozenset[str] = frozenset()

    def decide(self, facts: PatientFacts) -> Decision:
        return Decision(True, "all")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return Verdict.IN

    def standing(self, national_id: str | None, registered: bool) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class AddressRule:
    """The patient's preferred address fits one of the Sync 2.0 patterns.

    >>> r = AddressRule(("Kenya%Nairobi%*%*%*",))
    >>> r.decide(PatientFacts(addresses=[{"country": "kenya", "state": "NAIROBI"}])).inside
    True
    >>> r.decide(PatientFacts()).reason
    'address: no address'
    """

    patterns: tuple[str, ...]
    if_missing: bool = False
    needs: frozenset[str] = frozenset()
    _parsed: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.patterns:
            msg = "address: give at least one pattern"
            raise CatchmentRuleError(msg)
        object.__setattr__(self, "_parsed", tuple(parse_address_pattern(p) for p in self.patterns))

    def matches(self, value: str) -> bool:
        return any(value_matches(p, value) for p in self._parsed)

    def decide(self, facts: PatientFacts) -> Decision:
        address = preferred_address(facts.addresses)
        if address is None:
            return Decision(self.if_missing, "address: no address")
        if self.matches(address_value(address)):
            return Decision(True, "address: matched")
        return Decision(False, "address: outside")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        values = [t.value for t in tags if t.bean == LOCATION_FILTER_BEAN]
        if not values:
            return Verdict.UNKNOWN  # untagged entries go to every child, as in Sync 2.0
        return Verdict.IN if any(self.matches(v) for v in values) else Verdict.OUT

    def standing(self, national_id: str | None, registered: bool) -> str:
        return ""


def within(
    location: str, roots: Collection[str], parents: Mapping[str, str | None], depth: int = 32
) -> bool:
    """Whether ``location`` is one of ``roots`` or below one through ``partOf`` (cycle-safe).

    >>> tree = {"ward": "hospital", "hospital": "district", "district": None}
    >>> within("ward", {"district"}, tree), within("district", {"ward"}, tree)
    (True, False)
    >>> within("a", {"z"}, {"a": "b", "b": "a"})
    False
    """
    seen: set[str] = set()
    current: str | None = location
    while current is not None and current not in seen and len(seen) <= depth:
        if current in roots:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


@dataclass(frozen=True, slots=True)
class LocationRule:
    """An identifier's location or an encounter's location is in the set (or below it).

    ``locations`` are location uuids or names (names compare case-insensitively).

    >>> r = LocationRule(("District A",))
    >>> facts = PatientFacts(encounter_locations=["ward"],
    ...     location_parents={"ward": "d1"}, location_names={"d1": "District A"})
    >>> r.decide(facts)
    Decision(inside=True, reason='location: encounter')
    """

    locations: tuple[str, ...]
    include_children: bool = True
    needs: frozenset[str] = frozenset({NEEDS_ENCOUNTERS, NEEDS_LOCATIONS})

    def __post_init__(self) -> None:
        if not self.locations or any(not loc.strip() for loc in self.locations):
            msg = "location: give at least one location uuid or name, none empty"
            raise CatchmentRuleError(msg)

    def _roots(self, facts: PatientFacts) -> set[str]:
        wanted = {loc.strip().casefold() for loc in self.locations}
        roots = {loc.strip() for loc in self.locations}
        for uuid, name in facts.location_names.items():
            if name and name.strip().casefold() in wanted:
                roots.add(uuid)
        return roots

    def _inside(self, location: str, roots: set[str], facts: PatientFacts) -> bool:
        if not self.include_children:
            return location in roots
        return within(location, roots, facts.location_parents)

    def decide(self, facts: PatientFacts) -> Decision:
        roots = self._roots(facts)
        for ident in facts.identifiers:
            loc = ident.get("location_uuid")
            if isinstance(loc, str) and self._inside(loc, roots, facts):
                return Decision(True, "location: identifier")
        for loc in facts.encounter_locations:
            if self._inside(loc, roots, facts):
                return Decision(True, "location: encounter")
        return Decision(False, "location: outside")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return Verdict.UNKNOWN

    def standing(self, national_id: str | None, registered: bool) -> str:
        return ""


def compile_value_pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression, matched in full and case-insensitively.

    >>> bool(compile_value_pattern(r"NID47\\d+").fullmatch("nid4712"))
    True
    >>> compile_value_pattern("NID(")
    Traceback (most recent call last):
    ...
    catchment._errors.CatchmentRuleError: identifier pattern 'NID(' is not a valid \
regular expression: missing ), unterminated subpattern at position 3
    """
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        msg = f"identifier pattern {pattern!r} is not a valid regular expression: {exc}"
        raise CatchmentRuleError(msg) from exc


@dataclass(frozen=True, slots=True)
class IdentifierRule:
    """An identifier of a type (name, system or type uuid) whose value fits a pattern.

    With ``normalise`` the value is compared without spaces, dashes and dots, upper-cased.

    >>> r = IdentifierRule("National ID", r"NID47\\d{6}")
    >>> r.decide(PatientFacts(identifiers=[{"type": "National ID", "value": "NID-4712-3456"}]))
    Decision(inside=True, reason='identifier: matched')
    """

    identifier_type: str
    pattern: str
    normalise: bool = True
    needs: frozenset[str] = frozenset()
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.identifier_type.strip():
            msg = "identifier: identifier_type is empty"
            raise CatchmentRuleError(msg)
        object.__setattr__(self, "_regex", compile_value_pattern(self.pattern))

    def decide(self, facts: PatientFacts) -> Decision:
        key = self.identifier_type.strip().casefold()
        for ident in facts.identifiers:
            labels = (ident.get("type"), ident.get("system"), ident.get("type_uuid"))
            if not any(isinstance(x, str) and x.casefold() == key for x in labels):
                continue
            value = str(ident.get("value") or "")
            if self.normalise:
                value = normalise_id(value)
            if value and self._regex.fullmatch(value):
                return Decision(True, "identifier: matched")
        return Decision(False, "identifier: no match")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return Verdict.UNKNOWN

    def standing(self, national_id: str | None, registered: bool) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class CohortRule:
    """An explicit list of national IDs (compared normalised).

    >>> CohortRule(("nid 1234-5678",)).decide(PatientFacts(national_id="NID12345678")).inside
    True
    """

    national_ids: tuple[str, ...]
    needs: frozenset[str] = frozenset()
    _wanted: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_wanted", frozenset(n for n in map(normalise_id, self.national_ids) if n)
        )

    def listed(self, national_id: str | None) -> bool:
        return bool(national_id) and normalise_id(national_id or "") in self._wanted

    def decide(self, facts: PatientFacts) -> Decision:
        if self.listed(facts.national_id):
            return Decision(True, "cohort: listed")
        return Decision(False, "cohort: not listed")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return Verdict.UNKNOWN

    def standing(self, national_id: str | None, registered: bool) -> str:
        return "1" if self.listed(national_id) else "0"


@dataclass(frozen=True, slots=True)
class RegisteredRule:
    """Only patients already in the passport (the Patient Passport's own rule).

    >>> RegisteredRule().decide(PatientFacts(registered=False))
    Decision(inside=False, reason='registered: not in the passport')
    """

    needs: frozenset[str] = frozenset({NEEDS_REGISTERED})

    def decide(self, facts: PatientFacts) -> Decision:
        if facts.registered:
            return Decision(True, "registered: in the passport")
        return Decision(False, "registered: not in the passport")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return Verdict.UNKNOWN

    def standing(self, national_id: str | None, registered: bool) -> str:
        return "1" if registered else "0"


def _needs(rules: Sequence[Rule]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for rule in rules:
        out |= rule.needs
    return out


@dataclass(frozen=True, slots=True)
class AnyOf:
    """In when any rule says in."""

    rules: tuple[Rule, ...]
    needs: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        if not self.rules:
            msg = "any: give at least one rule"
            raise CatchmentRuleError(msg)
        object.__setattr__(self, "needs", _needs(self.rules))

    def decide(self, facts: PatientFacts) -> Decision:
        reasons = []
        for rule in self.rules:
            decision = rule.decide(facts)
            if decision.inside:
                return decision
            reasons.append(decision.reason)
        return Decision(False, "none of: " + "; ".join(reasons))

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return verdict_any([r.tag_verdict(tags) for r in self.rules])

    def standing(self, national_id: str | None, registered: bool) -> str:
        return "".join(r.standing(national_id, registered) for r in self.rules)


@dataclass(frozen=True, slots=True)
class AllOf:
    """In when every rule says in (no rules at all: everyone)."""

    rules: tuple[Rule, ...]
    needs: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", _needs(self.rules))

    def decide(self, facts: PatientFacts) -> Decision:
        for rule in self.rules:
            decision = rule.decide(facts)
            if not decision.inside:
                return decision
        return Decision(True, "all")

    def tag_verdict(self, tags: Sequence[FilterTag]) -> Verdict:
        return verdict_all([r.tag_verdict(tags) for r in self.rules])

    def standing(self, national_id: str | None, registered: bool) -> str:
        return "".join(r.standing(national_id, registered) for r in self.rules)


STRATEGIES = ("all", "any", "address", "location", "identifier", "cohort", "registered")


def _strs(spec: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = spec.get(key) or ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        msg = f"{where}: {key} must be a list of strings"
        raise CatchmentRuleError(msg)
    return tuple(value)


def rule_from_dict(spec: Mapping[str, Any], where: str = "catchment") -> Rule:
    """Build a rule from plain config data (the ``[catchment]`` table, already validated in
    shape; cohort files already read into ``national_ids``).

    >>> rule_from_dict({"strategy": "all", "rules": [{"strategy": "registered"},
    ...     {"strategy": "address", "patterns": ["Kenya%*%*%*%*"]}]}).needs
    frozenset({'registered'})
    >>> rule_from_dict({"strategy": "nearby"})
    Traceback (most recent call last):
    ...
    catchment._errors.CatchmentRuleError: catchment: unknown strategy 'nearby' \
(known: all, any, address, location, identifier, cohort, registered)
    """
    name = spec.get("strategy", "all")
    if name in ("all", "any"):
        rules = tuple(
            rule_from_dict(r, f"{where}.rules[{i}]" if where else f"rules[{i}]")
            for i, r in enumerate(spec.get("rules") or ())
        )
        if name == "any":
            return AnyOf(rules)
        return AllOf(rules) if rules else EveryoneRule()
    try:
        if name == "address":
            return AddressRule(
                _strs(spec, "patterns", where), if_missing=spec.get("if_missing") == "in"
            )
        if name == "location":
            return LocationRule(
                _strs(spec, "locations", where),
                include_children=bool(spec.get("include_children", True)),
            )
        if name == "identifier":
            return IdentifierRule(
                str(spec.get("identifier_type") or ""),
                str(spec.get("pattern") or ""),
                normalise=bool(spec.get("normalise", True)),
            )
        if name == "cohort":
            return CohortRule(_strs(spec, "national_ids", where))
        if name == "registered":
            return RegisteredRule()
    except CatchmentRuleError as exc:
        msg = f"{where}: {exc}" if where else str(exc)
        raise CatchmentRuleError(msg) from exc
    msg = f"{where}: " if where else ""
    msg += f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})"
    raise CatchmentRuleError(msg)
