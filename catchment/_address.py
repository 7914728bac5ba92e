"""The Sync 2.0 address pattern: ``country%state%county%city%postal``.

Compatible with the child's ``atomfeed.filter.location`` global property and the parent's
``atomfeed.locationFeedFilterStrategy`` tag: ``*`` matches any value, comparison is
case-insensitive, and pattern and value must have the same number of parts. A missing address
field is the literal ``null``, as the atomfeed module writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import CatchmentRuleError

PARTS = 5
#: FHIR Address keys, in the order of the Sync 2.0 value.
ADDRESS_KEYS = ("country", "state", "district", "city", "postalCode")
LOCATION_FILTER_BEAN = "atomfeed.locationFeedFilterStrategy"


def parse_address_pattern(pattern: str) -> tuple[str, ...]:
    """Split and check a pattern; the parts come back case-folded.

    >>> parse_address_pattern("Kenya%Nairobi%*%*%*")
    ('kenya', 'nairobi', '*', '*', '*')
    >>> parse_address_pattern("Kenya%*%*%*")
    Traceback (most recent call last):
    ...
    catchment._errors.CatchmentRuleError: address pattern 'Kenya%*%*%*' has 4 parts; \
country%state%county%city%postal needs 5
    """
    parts = pattern.split("%")
    if len(parts) != PARTS:
        msg = (
            f"address pattern {pattern!r} has {len(parts)} parts; "
            f"country%state%county%city%postal needs {PARTS}"
        )
        raise CatchmentRuleError(msg)
    if any(not p.strip() for p in parts):
        msg = f"address pattern {pattern!r} has an empty part (use * to match anything)"
        raise CatchmentRuleError(msg)
    return tuple(p.strip().casefold() for p in parts)


def value_matches(pattern: Sequence[str], value: str) -> bool:
    """Whether a ``%``-joined value fits a parsed pattern (same number of parts).

    >>> p = parse_address_pattern("Poland%*%*%*%*")
    >>> value_matches(p, "Poland%Pomorskie%Gdansk%Tczew%80-456"), value_matches(p, "USA%a%b%c%d")
    (True, False)
    >>> value_matches(parse_address_pattern("*%*%*%*%80-456"), "poland%x%y%z%80-456")
    True
    >>> value_matches(p, "Poland%Pomorskie")
    False
    """
    parts = [v.strip().casefold() for v in value.split("%")]
    if len(parts) != len(pattern):
        return False
    return all(want == "*" or want == got for want, got in zip(pattern, parts, strict=True))


def preferred_address(addresses: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The preferred address: fhir2 marks it ``use: home`` (the others ``old``); else the first.

    >>> preferred_address([{"use": "old", "city": "A"}, {"use": "home", "city": "B"}])["city"]
    'B'
    >>> preferred_address([]) is None
    True
    """
    for address in addresses:
        if address.get("use") == "home":
            return address
    return addresses[0] if addresses else None


def address_value(address: Mapping[str, Any]) -> str:
    """The Sync 2.0 filter value of an address (``null`` for a missing part).

    >>> address_value({"country": "Kenya", "state": "Nairobi", "city": "Nairobi"})
    'Kenya%Nairobi%null%Nairobi%null'
    """
    out = []
    for key in ADDRESS_KEYS:
        value = address.get(key)
        out.append(str(value).strip() if value not in (None, "") else "null")
    return "%".join(out)
