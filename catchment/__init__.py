"""Which patients (and their records) belong to this passport: pure decisions from data.

The engine gathers :class:`PatientFacts` and asks a :class:`Rule` (built from the config by
:func:`rule_from_dict`) for a :class:`Decision`; before fetching a feed entry it asks
:meth:`Rule.tag_verdict` about the entry's Sync 2.0 filter tags. Nothing here does I/O.
"""

from __future__ import annotations

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
from ._rules import (
    NEEDS_ENCOUNTERS,
    NEEDS_LOCATIONS,
    NEEDS_REGISTERED,
    STRATEGIES,
    AddressRule,
    AllOf,
    AnyOf,
    CohortRule,
    EveryoneRule,
    FilterTag,
    IdentifierRule,
    LocationRule,
    RegisteredRule,
    Rule,
    compile_value_pattern,
    rule_from_dict,
    within,
)

__all__ = [
    "LOCATION_FILTER_BEAN",
    "NEEDS_ENCOUNTERS",
    "NEEDS_LOCATIONS",
    "NEEDS_REGISTERED",
    "STRATEGIES",
    "AddressRule",
    "AllOf",
    "AnyOf",
    "CatchmentRuleError",
    "CohortRule",
    "Decision",
    "EveryoneRule",
    "FilterTag",
    "IdentifierRule",
    "LocationRule",
    "PatientFacts",
    "RegisteredRule",
    "Rule",
    "Verdict",
    "address_value",
    "compile_value_pattern",
    "normalise_id",
    "parse_address_pattern",
    "preferred_address",
    "rule_from_dict",
    "value_matches",
    "verdict_all",
    "verdict_any",
    "within",
]
