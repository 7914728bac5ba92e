"""The MongoDB writers ``PassportStore.apply`` calls, in its order, with no transaction.

Every write is an idempotent upsert and the cursor goes last (the base's order), so a crash in
between replays the batch, which changes nothing. The version guard lives in each upsert's
filter (``_docs._changed_and_not_older``); a duplicate-key refusal there means "stale or
unchanged", not a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc

from .._rules import status_is_kept, statuses_kept_against, version_number
from .._types import (
    FAILED_OPEN_STATES,
    ApplyResult,
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    StatusChange,
    now_ts,
)
from ._docs import _HIDDEN, _changed_and_not_older, _digest, _record_upsert, _utcnow

if TYPE_CHECKING:
    from ._conn import MongoBase


class MongoWriter:
    """The writers of one ``apply``; ``now`` stamps the documents they write."""

    __slots__ = ("now", "store")

    def __init__(self, store: MongoBase, now: dt.datetime) -> None:
        self.store = store
        self.now = now

    def patient_links(self, docs: Sequence[PatientDoc]) -> None:
        ops = []
        for doc in docs:
            guard = _changed_and_not_older(
                {"content_hash": doc.content_hash, "patient_id": doc.patient_id},
                version_number(doc.version),
            )
            fields = {
                **doc.to_dict(),
                "version_num": version_number(doc.version),
                "updated_at": now_ts(),
            }
            ops.append(
                UpdateOne(
                    {"source": doc.source, "uuid": doc.uuid, "$and": guard},
                    {"$set": fields},
                    upsert=True,
                )
            )
        if ops:
            self.store._bulk("patient_links", ops)

    def passport_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        """``$set`` of our fields only: the portal's own fields on the patient stay as they were."""
        fields = {k: v for k, v in doc.items() if k not in _HIDDEN}
        # each hospital's version is its own dotted field, so two workers that merge one person
        # at once never drop each other's version (the shown demographics follow the last one)
        for source, version in (fields.pop("sources", None) or {}).items():
            fields[f"sources.{source}"] = version
        now = self.now
        update: dict[str, Any] = {"$setOnInsert": {"createdAt": now, "updatedAt": now}}
        if fields:
            update["$set"] = fields
        # Two workers creating one patient: the loser's insert hits the unique nationalId
        # index; by then the document exists and a plain update does the rest.
        try:
            self.store._col("patients").update_one({"nationalId": patient_id}, update, upsert=True)
        except DuplicateKeyError:
            self.store._col("patients").update_one({"nationalId": patient_id}, update)

    def records(self, records: Sequence[RecordDoc], result: ApplyResult) -> None:
        if not records:
            return
        ops = [_record_upsert(r, self.now) for r in records]
        written, lost = self.store._bulk("medicalrecords", ops)
        result.written += written
        if not lost:
            return
        losers = [records[i] for i in lost]
        stored = {
            (d["source"], d["resource_type"], d["uuid"]): d.get("version_num")
            for d in self.store._col("medicalrecords").find(
                {
                    "$or": [
                        {"source": r.source, "resource_type": r.resource_type, "uuid": r.uuid}
                        for r in losers
                    ]
                },
                {"source": 1, "resource_type": 1, "uuid": 1, "version_num": 1},
            )
        }
        for rec in losers:
            have = stored.get((rec.source, rec.resource_type, rec.uuid))
            mine = version_number(rec.version)
            if have is not None and mine is not None and have > mine:
                result.stale += 1
            else:
                result.unchanged += 1

    def reference(self, collection: str, docs: Sequence[DoctorDoc | LocationDoc]) -> None:
        ops = []
        for doc in (d.to_dict() for d in docs):
            version = version_number(doc.get("version"))
            guard = _changed_and_not_older({"content_hash": doc.get("content_hash")}, version)
            ops.append(
                UpdateOne(
                    {"source": doc["source"], "uuid": doc["uuid"], "$and": guard},
                    {"$set": {**doc, "version_num": version}},
                    upsert=True,
                )
            )
        if ops:
            self.store._bulk(collection, ops)

    def status(self, change: StatusChange) -> None:
        key = {"source": change.source, "resource_type": change.resource_type, "uuid": change.uuid}
        records = self.store._col("medicalrecords")
        doc = records.find_one(key, {"status": 1, "superseded_by": 1, "warnings": 1})
        if doc is None:  # maybe parked, waiting for its patient: it must not attach as valid
            parked: dict[str, Any] = dict(key)
            kept = statuses_kept_against(change.status)
            if kept:
                parked["doc.status"] = {"$nin": sorted(kept)}
            self.store._col("parked").update_one(
                parked,
                {"$set": {"doc.status": change.status, "doc.superseded_by": change.superseded_by}},
            )
            return
        if status_is_kept(
            doc.get("status"), doc.get("superseded_by"), change.status, change.superseded_by
        ):
            return
        update: dict[str, Any] = {
            "$set": {
                "status": change.status,
                "superseded_by": change.superseded_by,
                "updatedAt": _utcnow(),
            }
        }
        if change.reason:
            update["$push"] = {"warnings": change.reason}
        # The filter repeats the status we read, so a concurrent change is not overwritten.
        records.update_one({**key, "status": doc.get("status")}, update)

    def parked(self, parked: Sequence[ParkedRecord]) -> None:
        ops = []
        for item in parked:
            rec = item.record
            ops.append(
                UpdateOne(
                    {"source": rec.source, "resource_type": rec.resource_type, "uuid": rec.uuid},
                    {
                        "$set": {"national_id": item.national_id, "doc": rec.to_dict()},
                        "$setOnInsert": {"created_at": now_ts()},
                    },
                    upsert=True,
                )
            )
        if ops:
            self.store._bulk("parked", ops)

    def attach_parked(self, patient_ids: set[str]) -> int:
        """Records first, then the parked rows go: a crash in between re-attaches, harmlessly."""
        attached = 0
        parked = self.store._col("parked")
        for patient_id in sorted(patient_ids):
            rows = list(parked.find({"national_id": patient_id}, {"_id": 1, "doc": 1}))
            if not rows:
                continue
            records = []
            for row in rows:
                rec = RecordDoc(**row["doc"])
                rec.patient_id = patient_id
                records.append(rec)
            self.records(records, ApplyResult())
            parked.delete_many({"_id": {"$in": [row["_id"] for row in rows]}})
            attached += len(records)
        return attached

    def cursor(self, cursor: Cursor) -> None:
        self.store._col("syncstatus").update_one(
            {"source": cursor.source, "stream": cursor.stream},
            {"$set": {"value": cursor.value, "updated_at": now_ts()}},
            upsert=True,
        )

    def failed(self, events: Sequence[FailedEvent]) -> None:
        """One open event per (entity, position): a replayed batch does not queue it twice."""
        open_states = {"$in": list(FAILED_OPEN_STATES)}
        for e in events:
            parts = (e.source, e.stream, e.resource_type, e.uuid, e.action, e.payload_ref)
            dedupe = _digest(*parts, e.position, e.error)
            self._insert_once("failed_events", e.to_dict(), dedupe, open_states)

    def conflicts(self, conflicts: Sequence[Conflict]) -> None:
        """One open conflict per (record, incoming content): replays do not repeat it."""
        for c in conflicts:
            dedupe = _digest(c.source, c.resource_type, c.uuid, c.incoming, c.reason)
            self._insert_once("conflicts", c.to_dict(), dedupe, c.state)

    def _insert_once(self, collection: str, doc: dict[str, Any], dedupe: str, state: Any) -> None:
        """Insert ``doc`` with the next id unless one with its digest is in ``state`` already."""
        col = self.store._col(collection)
        if col.find_one({"dedupe": dedupe, "state": state}, {"_id": 1}):
            return
        col.insert_one({**doc, "id": self.store._next_ids(collection, 1)[0], "dedupe": dedupe})

    def audit(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        ids = self.store._next_ids("auditlogs", len(entries))
        self.store._col("auditlogs").insert_many(
            [{**e.to_dict(), "seq": seq} for e, seq in zip(entries, ids, strict=True)],
            ordered=True,
        )
