"""National ID comparison, the same way the mappers normalise it."""

from __future__ import annotations

import re

_NOISE = re.compile(r"[\s\-.]+")


def normalise_id(value: str) -> str:
    """Spaces, dashes and dots removed, upper case (as ``mappers.normalise_national_id``).

    >>> normalise_id(" nid-1234 5678 ")
    'NID12345678'
    """
    return _NOISE.sub("", value).upper()
