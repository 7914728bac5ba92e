"""MongoDB failed events, parked records, conflicts, audit and leases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pymongo.errors import DuplicateKeyError

from mappers.documents import RecordDoc

from ..._errors import StoreError
from .._types import FAILED_OPEN_STATES, AuditEntry, Conflict, FailedEvent, ParkedRecord, now_ts
from ._conn import MongoBase
from ._docs import _conflict_from_doc, _failed_from_doc, _not


class MongoQueues(MongoBase):
    """The work queues, the audit log and the leases."""

    # -- failed events ---------------------------------------------------------------------
    def list_failed(
        self, *, states: Iterable[str] | None = None, source: str | None = None, limit: int = 1000
    ) -> list[FailedEvent]:
        query: dict[str, Any] = {}
        if states is not None:
            query["state"] = {"$in": list(states)}
        if source is not None:
            query["source"] = source
        if limit <= 0:  # MongoDB reads limit(0) as no limit at all
            return []
        with self._errors("read"):
            docs = self._col("failed_events").find(query).sort("id", 1).limit(limit)
            return [_failed_from_doc(d) for d in docs]

    def get_failed(self, failed_id: int) -> FailedEvent | None:
        with self._errors("read"):
            doc = self._col("failed_events").find_one({"id": failed_id})
        return _failed_from_doc(doc) if doc else None

    def update_failed(self, event: FailedEvent) -> None:
        if event.id is None:
            msg = "update_failed needs a stored failed event (id is None)"
            raise StoreError(msg)
        with self._errors("failed-event update"):
            self._col("failed_events").update_one(
                {"id": event.id},
                {
                    "$set": {
                        "error": event.error,
                        "attempts": event.attempts,
                        "state": event.state,
                        "next_attempt_at": event.next_attempt_at,
                        "updated_at": now_ts(),
                    }
                },
            )

    def open_failed_keys(self, source: str) -> set[tuple[str, str]]:
        with self._errors("read"):
            docs = self._col("failed_events").find(
                {
                    "source": source,
                    "state": {"$in": list(FAILED_OPEN_STATES)},
                    "resource_type": _not(None),
                    "uuid": _not(None),
                },
                {"resource_type": 1, "uuid": 1},
            )
            return {(d["resource_type"], d["uuid"]) for d in docs}

    # -- parked ----------------------------------------------------------------------------
    def list_parked(self, limit: int = 1000) -> list[ParkedRecord]:
        if limit <= 0:  # MongoDB reads limit(0) as no limit at all
            return []
        with self._errors("read"):
            docs = self._col("parked").find().sort([("created_at", 1), ("_id", 1)]).limit(limit)
            return [ParkedRecord(d["national_id"], RecordDoc(**d["doc"])) for d in docs]

    def parked_per_source(self) -> dict[str, int]:
        with self._errors("read"):
            docs = self._col("parked").find({}, {"source": 1, "_id": 0})
            return dict(Counter(d["source"] for d in docs))

    # -- conflicts -------------------------------------------------------------------------
    def list_conflicts(self, *, state: str | None = "open") -> list[Conflict]:
        query = {} if state is None else {"state": state}
        with self._errors("read"):
            docs = self._col("conflicts").find(query).sort("id", 1)
            return [_conflict_from_doc(d) for d in docs]

    def get_conflict(self, conflict_id: int) -> Conflict | None:
        with self._errors("read"):
            doc = self._col("conflicts").find_one({"id": conflict_id})
        return _conflict_from_doc(doc) if doc else None

    def close_conflict(self, conflict_id: int, resolution: str) -> None:
        with self._errors("conflict update"):
            self._col("conflicts").update_one(
                {"id": conflict_id}, {"$set": {"state": "resolved", "resolution": resolution}}
            )

    # -- audit -----------------------------------------------------------------------------
    def list_audit(
        self, *, limit: int = 100, kind: str | None = None, source: str | None = None
    ) -> list[AuditEntry]:
        query: dict[str, Any] = {"seq": {"$exists": True}}
        if kind is not None:
            query["kind"] = kind
        if source is not None:
            query["source"] = source
        if limit <= 0:  # MongoDB reads limit(0) as no limit at all
            return []
        with self._errors("read"):
            docs = self._col("auditlogs").find(query).sort("seq", -1).limit(limit)
            return [
                AuditEntry(
                    kind=d["kind"],
                    message=d["message"],
                    source=d.get("source"),
                    actor=d.get("actor", "system"),
                    details=dict(d.get("details") or {}),
                    ts=d["ts"],
                )
                for d in docs
            ]

    def prune_audit(self, older_than: float) -> int:
        with self._errors("audit prune"):
            res = self._col("auditlogs").delete_many(
                {"seq": {"$exists": True}, "ts": {"$lt": older_than}}
            )
        return int(res.deleted_count)

    # -- leases ----------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take ``name`` if it is ours, expired or free: three single-document steps.

        Each step is atomic on its own, and together they never hand one lease to two live
        owners: "ours" and "expired" are conditional updates (a rival who renewed or took it
        first makes the filter miss), and "free" is an insert that the ``_id`` index refuses
        when anyone got there first. One upsert whose filter holds an ``$or`` would say the
        same in one round trip, but nx-27017 evaluates such a filter outside its SQL and two
        workers then both won one lease (docs/mongodb.md, "Server differences").
        """
        now = now_ts()
        fields = {"owner": owner, "expires_at": now + ttl_seconds, "acquired_at": now}
        leases = self._col("leases")
        with self._errors("lease"):
            for taken in ({"owner": owner}, {"expires_at": {"$lt": now}}):
                if leases.update_one({"_id": name, **taken}, {"$set": fields}).matched_count:
                    return True
            try:
                leases.insert_one({"_id": name, **fields})
            except DuplicateKeyError:
                return False
        return True

    def renew_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend a lease we still hold; an expired one is lost (someone may have taken it)."""
        now = now_ts()
        with self._errors("lease"):
            res = self._col("leases").update_one(
                {"_id": name, "owner": owner, "expires_at": {"$gte": now}},
                {"$set": {"expires_at": now + ttl_seconds}},
            )
        return res.matched_count == 1

    def release_lease(self, name: str, owner: str) -> None:
        with self._errors("lease"):
            self._col("leases").delete_one({"_id": name, "owner": owner})
