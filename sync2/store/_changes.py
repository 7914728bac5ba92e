"""Reading the passport in change order: what the FHIR face and the parent feed page through.

Every record and every hospital patient the passport holds has a change time (when the passport
last wrote it). Ordered by ``(changed_at, source, resource_type, uuid)`` the rows form one total
order, so a reader can page by keyset (``after`` the last key it saw) and never skip a row that
an offset would skip when rows before it change. The same order, read by offset five rows at a
time, is the parent atom feed.

The scan is a value (:class:`ChangeScan`) that both backends turn into their own query; the
SQLite and MongoDB translations live here, beside each other, so the two cannot drift.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChangeKey:
    """One row's place in change order; ``resource_type`` is ``Patient`` for patient links."""

    changed_at: float
    source: str
    resource_type: str
    uuid: str

    def as_tuple(self) -> tuple[float, str, str, str]:
        return (self.changed_at, self.source, self.resource_type, self.uuid)


@dataclass(frozen=True, slots=True)
class ChangeScan:
    """Which rows to read, in change order. ``None`` means "no filter"; an empty tuple means
    "nothing matches" (e.g. a patient search that resolved to no passport patient)."""

    resource_types: tuple[str, ...] | None = None
    patient_ids: tuple[str, ...] | None = None
    uuids: tuple[str, ...] | None = None
    since: float | None = None  # changed_at >= since
    until: float | None = None  # changed_at <= until
    after: ChangeKey | None = None
    exclude_statuses: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when a filter is an empty list: the answer is no rows, without a query."""
        return any(
            v is not None and not v for v in (self.resource_types, self.patient_ids, self.uuids)
        )


# -- SQLite -----------------------------------------------------------------------------------
SQLITE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS medicalrecords_changes "
    "ON medicalrecords (resource_type, updated_at, source, uuid)",
    "CREATE INDEX IF NOT EXISTS patient_links_changes ON patient_links (updated_at, source, uuid)",
    # reads by id (the FHIR face's GET Type/id): without it, a linear scan at a million records
    "CREATE INDEX IF NOT EXISTS medicalrecords_uuid ON medicalrecords (uuid)",
)


def _in(column: str, values: Sequence[str], where: list[str], params: list[Any]) -> None:
    where.append(f"{column} IN ({','.join('?' * len(values))})")
    params.extend(values)


def sqlite_where(scan: ChangeScan, *, links: bool) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of a scan over ``medicalrecords`` or, with
    ``links``, over ``patient_links`` (linked hospital patients only).

    >>> sqlite_where(ChangeScan(resource_types=("Observation",), since=5.0), links=False)
    ('resource_type IN (?) AND updated_at >= ?', ['Observation', 5.0])
    """
    where: list[str] = []
    params: list[Any] = []
    if links:
        where.append("patient_id IS NOT NULL")
    elif scan.resource_types is not None:
        # ``+`` keeps the planner off the change index when ids are given: a read by id then
        # takes the uuid index (one seek) instead of walking a whole type in change order
        column = "+resource_type" if scan.uuids else "resource_type"
        _in(column, scan.resource_types, where, params)
    if scan.patient_ids is not None:
        _in("patient_id", scan.patient_ids, where, params)
    if scan.uuids is not None:
        _in("uuid", scan.uuids, where, params)
    if scan.since is not None:
        where.append("updated_at >= ?")
        params.append(scan.since)
    if scan.until is not None:
        where.append("updated_at <= ?")
        params.append(scan.until)
    if scan.exclude_statuses and not links:
        where.append(f"status NOT IN ({','.join('?' * len(scan.exclude_statuses))})")
        params.extend(scan.exclude_statuses)
    if scan.exclude_sources:
        where.append(f"source NOT IN ({','.join('?' * len(scan.exclude_sources))})")
        params.extend(scan.exclude_sources)
    if scan.after is not None:
        if links:
            where.append("(updated_at, source, uuid) > (?, ?, ?)")
            params.extend([scan.after.changed_at, scan.after.source, scan.after.uuid])
        else:
            where.append("(updated_at, source, resource_type, uuid) > (?, ?, ?, ?)")
            params.extend(scan.after.as_tuple())
    return " AND ".join(where) or "1", params


# -- MongoDB ----------------------------------------------------------------------------------
MONGO_INDEXES: tuple[tuple[str, list[tuple[str, int]], dict[str, Any]], ...] = (
    (
        "medicalrecords",
        [("resource_type", 1), ("updatedAt", 1), ("source", 1), ("uuid", 1)],
        {"name": "sync2_record_changes"},
    ),
    (
        "patient_links",
        [("updated_at", 1), ("source", 1), ("uuid", 1)],
        {"name": "sync2_link_changes"},
    ),
    ("medicalrecords", [("uuid", 1)], {"name": "sync2_record_uuid"}),
)
MONGO_RECORD_ORDER = [("updatedAt", 1), ("source", 1), ("resource_type", 1), ("uuid", 1)]
MONGO_LINK_ORDER = [("updated_at", 1), ("source", 1), ("uuid", 1)]


def mongo_time(value: float) -> dt.datetime:
    """The MongoDB store keeps ``updatedAt`` as a UTC datetime to the second."""
    return dt.datetime.fromtimestamp(value, dt.UTC).replace(microsecond=0)


def mongo_changed_at(doc: dict[str, Any], *, links: bool) -> float:
    """A stored document's change time as epoch seconds (naive datetimes are UTC)."""
    if links:
        return float(doc.get("updated_at") or 0.0)
    value = doc.get("updatedAt")
    if not isinstance(value, dt.datetime):
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def mongo_filter(scan: ChangeScan, *, links: bool) -> dict[str, Any]:
    """The query document of a scan (see :func:`sqlite_where`)."""
    field = "updated_at" if links else "updatedAt"
    convert = float if links else mongo_time
    query: dict[str, Any] = {"source": {"$exists": True}}
    clauses: list[dict[str, Any]] = []
    if links:
        query["patient_id"] = {"$ne": None}
    elif scan.resource_types is not None:
        query["resource_type"] = {"$in": list(scan.resource_types)}
    if scan.patient_ids is not None:
        query["patient_id"] = {"$in": list(scan.patient_ids)}
    if scan.uuids is not None:
        query["uuid"] = {"$in": list(scan.uuids)}
    bounds: dict[str, Any] = {}
    if scan.since is not None:
        bounds["$gte"] = convert(scan.since)
    if scan.until is not None:
        bounds["$lte"] = convert(scan.until)
    if bounds:
        query[field] = bounds
    if scan.exclude_statuses and not links:
        query["status"] = {"$nin": list(scan.exclude_statuses)}
    if scan.exclude_sources:
        clauses.append({"source": {"$nin": list(scan.exclude_sources)}})
    if scan.after is not None:
        clauses.append(_mongo_after(scan.after, field, convert, links=links))
    if clauses:
        query["$and"] = clauses
    return query


def _mongo_after(key: ChangeKey, field: str, convert: Any, *, links: bool) -> dict[str, Any]:
    """Rows strictly after ``key`` in change order, as an ``$or`` of prefixes."""
    names = [field, "source"] + ([] if links else ["resource_type"]) + ["uuid"]
    values = [convert(key.changed_at), key.source] + ([] if links else [key.resource_type])
    values.append(key.uuid)
    branches = []
    for depth, name in enumerate(names):
        branch = {names[i]: values[i] for i in range(depth)}
        branch[name] = {"$gt": values[depth]}
        branches.append(branch)
    return {"$or": branches}
