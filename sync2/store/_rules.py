"""The passport's write rules that do not depend on a backend: versions and status precedence.

Each backend spells these in its own query language (an SQL ``WHERE``, a MongoDB filter); the
decisions themselves live here once, so the two cannot drift apart.
"""

from __future__ import annotations

from mappers.documents import STATUS_ENTERED_IN_ERROR, STATUS_SUPERSEDED


def version_number(version: str | None) -> int | None:
    """fhir2's ``meta.versionId`` is epoch milliseconds; anything else carries no order.

    >>> version_number("1719312976000"), version_number(None), version_number("W/x")
    (1719312976000, None, None)
    """
    if version is None:
        return None
    try:
        return int(version)
    except ValueError:
        return None


def statuses_kept_against(status: str) -> frozenset[str]:
    """Stored statuses that an incoming ``status`` must not replace.

    Superseded beats void: once an edit explained why a version went away, a later void of
    that version says nothing new, and the pointer to the new version must stay.

    >>> sorted(statuses_kept_against("entered-in-error"))
    ['superseded']
    >>> sorted(statuses_kept_against("superseded"))
    []
    """
    return _KEPT_AGAINST_VOID if status == STATUS_ENTERED_IN_ERROR else frozenset()


_KEPT_AGAINST_VOID = frozenset({STATUS_SUPERSEDED})


def status_is_kept(
    stored_status: str | None,
    stored_superseded_by: str | None,
    status: str,
    superseded_by: str | None,
) -> bool:
    """True when a status change leaves the stored record as it is (outranked, or no change).

    >>> status_is_kept("superseded", "v2", "entered-in-error", None)
    True
    >>> status_is_kept("final", None, "entered-in-error", None)
    False
    """
    if stored_status in statuses_kept_against(status):
        return True
    return stored_status == status and stored_superseded_by == superseded_by
