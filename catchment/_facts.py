"""What a catchment decision looks at, and what it answers.

The engine gathers the facts (from the mapped patient, its encounters, the location tree and the
passport) and hands them over as plain data; the strategies never fetch anything themselves.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """One hospital's patient as the strategies see it.

    ``addresses`` and ``identifiers`` have the shape of ``PatientDoc.addresses`` /
    ``PatientDoc.identifiers`` (FHIR keys ``country``, ``state``, ``district``, ``city``,
    ``postalCode``, ``use``; identifier ``value``, ``type``, ``system``, ``type_uuid``,
    ``location_uuid``). ``location_parents`` maps a location uuid to its ``partOf`` uuid and
    ``location_names`` a uuid to its name, for the hierarchy walk.
    """

    national_id: str | None = None
    addresses: Sequence[Mapping[str, Any]] = ()
    identifiers: Sequence[Mapping[str, Any]] = ()
    encounter_locations: Collection[str] = ()
    location_parents: Mapping[str, str | None] = field(default_factory=dict)
    location_names: Mapping[str, str | None] = field(default_factory=dict)
    registered: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """In or out, and why (a short reason without patient data, for status counts and audit)."""

    inside: bool
    reason: str


class Verdict(enum.Enum):
    """A three-valued answer, for when the data at hand may not be enough (feed tags)."""

    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"


def verdict_any(verdicts: Sequence[Verdict]) -> Verdict:
    """Kleene OR.

    >>> verdict_any([Verdict.OUT, Verdict.UNKNOWN]), verdict_any([Verdict.OUT, Verdict.IN])
    (<Verdict.UNKNOWN: 'unknown'>, <Verdict.IN: 'in'>)
    >>> verdict_any([Verdict.OUT, Verdict.OUT])
    <Verdict.OUT: 'out'>
    """
    if Verdict.IN in verdicts:
        return Verdict.IN
    if Verdict.UNKNOWN in verdicts:
        return Verdict.UNKNOWN
    return Verdict.OUT


def verdict_all(verdicts: Sequence[Verdict]) -> Verdict:
    """Kleene AND (true for no verdicts at all, like ``all([])``).

    >>> verdict_all([Verdict.IN, Verdict.UNKNOWN]), verdict_all([Verdict.OUT, Verdict.UNKNOWN])
    (<Verdict.UNKNOWN: 'unknown'>, <Verdict.OUT: 'out'>)
    >>> verdict_all([])
    <Verdict.IN: 'in'>
    """
    if Verdict.OUT in verdicts:
        return Verdict.OUT
    if Verdict.UNKNOWN in verdicts:
        return Verdict.UNKNOWN
    return Verdict.IN
