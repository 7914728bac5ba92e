"""One passport patient from several hospitals' versions of that person.

Each hospital keeps its own version under ``sources``; the top-level demographics come from the
hospital with the best priority (lowest number), ties going to the most recently updated version.
Nothing here merges two *people*: linking is by national ID only, done before this is called.
"""

from __future__ import annotations

from typing import Any

DEMOGRAPHIC_FIELDS = ("name", "given", "family", "gender", "birth_date", "deceased", "addresses")


def merge_patient(
    existing: dict[str, Any] | None,
    patient_id: str,
    source: str,
    version: dict[str, Any],
    priorities: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The passport patient after ``source`` reported ``version`` of it.

    >>> a = merge_patient(None, "N1", "h1", {"name": "Ann", "last_updated": "2024"})
    >>> b = merge_patient(a, "N1", "h2", {"name": "Anne", "last_updated": "2025"}, {"h1": 1, "h2": 2})
    >>> b["name"], sorted(b["sources"])
    ('Ann', ['h1', 'h2'])
    """
    doc: dict[str, Any] = dict(existing or {})
    doc["patient_id"] = patient_id
    doc["national_id"] = patient_id
    doc["nationalId"] = patient_id  # the Patient Passport portal's field name
    sources = dict(doc.get("sources") or {})
    sources[source] = {k: version.get(k) for k in (*DEMOGRAPHIC_FIELDS, "uuid", "last_updated")}
    doc["sources"] = sources
    chosen = choose_source(sources, priorities or {})
    for key in DEMOGRAPHIC_FIELDS:
        doc[key] = sources[chosen].get(key)
    doc["demographics_from"] = chosen
    return doc


def choose_source(sources: dict[str, dict[str, Any]], priorities: dict[str, int]) -> str:
    """Best priority first, then the latest ``last_updated``, then the source id (stable).

    >>> choose_source({"a": {"last_updated": "1"}, "b": {"last_updated": "2"}}, {})
    'b'
    """
    return min(
        sources,
        key=lambda s: (
            priorities.get(s, 100),
            _negated(str(sources[s].get("last_updated") or "")),
            s,
        ),
    )


def _negated(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)
