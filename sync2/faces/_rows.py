"""Reading a change scan row by row, a store batch at a time, and what one search page is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from ..store._changes import ChangeKey, ChangeScan
from ._resources import JSON

_SCAN_BATCH = 500


class NotFound(LookupError):
    """No such resource (404)."""


class Gone(LookupError):
    """The resource was replaced by an edit at its hospital (410, as fhir2 answers)."""


@dataclass(slots=True)
class Page:
    """One page of a search: served resources, where the next page starts, the total when it
    is known without reading every row, and the passport patients whose data it holds."""

    resources: list[JSON]
    next_key: ChangeKey | None
    total: int | None
    patient_ids: set[str]


def row_key(doc: JSON, resource_type: str) -> ChangeKey:
    """A row's change key; patient links carry no ``resource_type`` and use ``Patient``."""
    rtype = str(doc.get("resource_type") or resource_type)
    return ChangeKey(float(doc["changed_at"]), str(doc["source"]), rtype, str(doc["uuid"]))


def rows(
    scan_fn: Callable[..., list[JSON]],
    scan: ChangeScan,
    keep: Callable[[JSON], bool],
    resource_type: str,
    batch_size: int = _SCAN_BATCH,
) -> Iterator[JSON]:
    """Every row of the scan that passes ``keep``, reading the store a batch at a time by
    keyset, so rows that change meanwhile are neither skipped nor read twice out of order.
    A caller that keeps every row and wants ``n`` passes ``batch_size=n``: nothing is read
    that is not served."""
    size = max(1, batch_size)
    while True:
        batch = scan_fn(scan, limit=size)
        for doc in batch:
            if keep(doc):
                yield doc
        if len(batch) < size:
            return
        scan = replace(scan, after=row_key(batch[-1], resource_type))
