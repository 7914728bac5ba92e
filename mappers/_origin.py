"""The first hospital of a record that reached this passport through another passport.

A passport's FHIR face tags every resource it serves with ``meta.tag``
``urn:sync2:hospital|<source id>``, the hospital's name as display, set once at the first
passport and kept at every hop. A passport pulling from another reads it, so its record names
the hospital the record came from rather than the passport it passed through.
"""

from __future__ import annotations

from ._fhir import JSON, dicts, meta_of, str_or_none
from .documents import Document, RecordDoc

ORIGIN_TAG = "urn:sync2:hospital"


def origin_hospital(resource: JSON) -> str | None:
    """The first hospital's name (its source id when the tag has no name), or ``None`` when
    the resource came straight from a hospital.

    >>> origin_hospital({"meta": {"tag": [{"system": "urn:sync2:hospital", "code": "central",
    ...     "display": "Central Hospital"}]}})
    'Central Hospital'
    >>> origin_hospital({"meta": {"tag": [{"system": "urn:sync2:hospital", "code": "central"}]}})
    'central'
    >>> origin_hospital({"meta": {"tag": [{"system": "other", "display": "X"}]}}) is None
    True
    """
    for tag in dicts(meta_of(resource).get("tag")):
        if tag.get("system") == ORIGIN_TAG:
            name = str_or_none(tag.get("display")) or str_or_none(tag.get("code"))
            if name:
                return name.strip() or None
    return None


def keep_origin(doc: Document, resource: JSON) -> None:
    """Name the first hospital on a record (and on a visit's portal block), when it has one."""
    if not isinstance(doc, RecordDoc):
        return
    origin = origin_hospital(resource)
    if origin is None:
        return
    doc.hospital = origin
    if "hospital" in doc.data:
        doc.data["hospital"] = origin
