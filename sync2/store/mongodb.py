"""The passport on MongoDB (pymongo): production, replica sets, several workers sharing sources.

MongoDB gives no multi-collection transaction here, so ``apply`` follows the rule for stores
without one: every write is an idempotent upsert, written first, and the cursor goes last. A
crash in between replays the batch, which changes nothing (``tests/store/test_contract.py``).

The version guard lives in the upsert filter. A record is upserted with the filter
``{source, resource_type, uuid, <content or status or patient differs>, <stored version <=
incoming, or none>}``. When the stored copy is newer or identical the filter matches nothing,
the server tries to insert, and the unique index on (source, resource_type, uuid) refuses with
a duplicate-key error: that error is the answer "stale or unchanged", not a failure. Writes go
in unordered ``bulk_write`` batches, so one losing upsert never stops the others.

Collections carry the Patient Passport portal's names and shape: ``patients`` are keyed by
``nationalId``, ``medicalrecords`` keep ``patientId``, ``type``, ``data``, ``createdBy``,
``hospital`` and ``status`` at top level, and updates ``$set`` our fields only, so what the
portal wrote stays. ``mongomock://<db>`` opens an in-memory server for the tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from mappers.documents import (
    INVALID_STATUSES,
    STATUS_ENTERED_IN_ERROR,
    STATUS_SUPERSEDED,
    RecordDoc,
)

from .._errors import StoreError
from ._base import (
    FAILED_OPEN_STATES,
    ApplyResult,
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    PassportStore,
    WriteBatch,
    now_ts,
)
from ._change_reads import MongoChangeReads

DEFAULT_DB = "passport"
_DUPLICATE_KEY = 11000
# Index option clashes with an index the portal already made (same keys, other options).
_INDEX_CLASH = {85, 86}
_BULK_SIZE = 1000

#: Keys we add for the portal or for bookkeeping; readers get the document without them.
_HIDDEN = frozenset({"_id", "__v", "createdAt", "updatedAt"})
_RECORD_HIDDEN = _HIDDEN | {"version_num", "patientId", "createdBy", "syncDate"}
_DOC_HIDDEN = _HIDDEN | {"version_num"}

# (collection, keys, options); sparse so the portal's own documents, which lack our keys,
# are left out of our unique indexes instead of colliding on null.
_INDEXES: tuple[tuple[str, list[tuple[str, int]], dict[str, Any]], ...] = (
    (
        "medicalrecords",
        [("source", 1), ("resource_type", 1), ("uuid", 1)],
        {"unique": True, "sparse": True, "name": "sync2_record_key"},
    ),
    ("medicalrecords", [("patient_id", 1), ("effective", -1)], {"name": "sync2_patient_effective"}),
    ("medicalrecords", [("source", 1), ("encounter_uuid", 1)], {"name": "sync2_encounter"}),
    ("patients", [("nationalId", 1)], {"unique": True}),
    ("patients", [("birth_date", 1)], {"name": "sync2_patient_birth_date"}),
    ("patient_links", [("source", 1), ("uuid", 1)], {"unique": True, "name": "sync2_link_key"}),
    ("patient_links", [("patient_id", 1)], {"name": "sync2_link_patient"}),
    (
        "doctors",
        [("source", 1), ("uuid", 1)],
        {"unique": True, "sparse": True, "name": "sync2_doctor_key"},
    ),
    ("locations", [("source", 1), ("uuid", 1)], {"unique": True, "name": "sync2_location_key"}),
    ("hospitals", [("source", 1)], {"unique": True, "sparse": True, "name": "sync2_hospital_key"}),
    (
        "syncstatus",
        [("source", 1), ("stream", 1)],
        {"unique": True, "sparse": True, "name": "sync2_cursor_key"},
    ),
    ("failed_events", [("id", 1)], {"unique": True, "name": "sync2_failed_id"}),
    ("failed_events", [("state", 1), ("next_attempt_at", 1)], {"name": "sync2_failed_state"}),
    (
        "failed_events",
        [("source", 1), ("resource_type", 1), ("uuid", 1)],
        {"name": "sync2_failed_entity"},
    ),
    ("failed_events", [("dedupe", 1)], {"name": "sync2_failed_dedupe"}),
    (
        "parked",
        [("source", 1), ("resource_type", 1), ("uuid", 1)],
        {"unique": True, "name": "sync2_parked_key"},
    ),
    ("parked", [("national_id", 1)], {"name": "sync2_parked_national_id"}),
    ("conflicts", [("id", 1)], {"unique": True, "name": "sync2_conflict_id"}),
    ("conflicts", [("state", 1)], {"name": "sync2_conflict_state"}),
    ("auditlogs", [("seq", 1)], {"unique": True, "sparse": True, "name": "sync2_audit_seq"}),
    ("auditlogs", [("ts", 1)], {"name": "sync2_audit_ts"}),
)
_COUNTED = (
    "patients",
    "patient_links",
    "medicalrecords",
    "doctors",
    "locations",
    "hospitals",
    "failed_events",
    "parked",
    "conflicts",
    "auditlogs",
)
#: Only our documents count in the collections we share with the portal.
_OURS: dict[str, dict[str, Any]] = {
    "medicalrecords": {"source": {"$exists": True}},
    "doctors": {"source": {"$exists": True}},
    "hospitals": {"source": {"$exists": True}},
    "auditlogs": {"seq": {"$exists": True}},
}


def version_number(version: str | None) -> int | None:
    """fhir2's ``meta.versionId`` is epoch milliseconds; anything else carries no order.

    >>> version_number("1719312976000"), version_number("W/x")
    (1719312976000, None)
    """
    if version is None:
        return None
    try:
        return int(version)
    except ValueError:
        return None


def _plain(value: Any) -> Any:
    """BSON values the portal may have stored (ObjectId, dates) as JSON-friendly strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _strip(doc: Mapping[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in doc.items() if k not in hidden}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _digest(*parts: Any) -> str:
    body = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _not(value: Any) -> dict[str, Any]:
    """Not equal to ``value``, null and missing fields included, on every server.

    ``{"$ne": v}`` is that on MongoDB, but a wire-protocol server on SQL (nx-27017) skips
    fields holding null in updates and deletes (SQL's ``NULL <> v``), so a filter written with
    ``$ne`` would never touch a null. ``$nin`` of one value means the same on MongoDB and is
    translated faithfully there (docs/mongodb.md, "Server differences").
    """
    return {"$nin": [value]}


def _differs(field: str, value: Any) -> list[dict[str, Any]]:
    """Alternatives of an ``$or`` meaning "``field`` differs from ``value``", on every server.

    The same as ``_not`` inside an ``$or``, spelled so that nx-27017 keeps it in SQL: it runs an
    ``$or`` holding ``$nin`` as a scan of the whole collection in Python (~0.2 s an upsert at
    2,000 records), while ``$ne`` and an equality with null stay index look-ups.
    """
    if value is None:
        return [{field: {"$ne": None}}]
    return [{field: {"$ne": value}}, {field: None}]


def _changed_and_not_older(differs: dict[str, Any], version: int | None) -> list[dict[str, Any]]:
    """The guard clauses of an upsert filter: content differs, and the stored copy is not newer."""
    clauses: list[dict[str, Any]] = [
        {"$or": [alt for k, v in differs.items() for alt in _differs(k, v)]}
    ]
    if version is not None:
        clauses.append({"$or": [{"version_num": {"$lte": version}}, {"version_num": None}]})
    return clauses


def _record_set(rec: RecordDoc | dict[str, Any]) -> dict[str, Any]:
    """Our fields of a record, plus the portal projection (``patientId``, ``createdBy``)."""
    doc = rec.to_dict() if isinstance(rec, RecordDoc) else dict(rec)
    data = doc.get("data") or {}
    doc["version_num"] = version_number(doc.get("version"))
    doc["patientId"] = data.get("patientId") or doc.get("patient_id")
    doc["createdBy"] = data.get("createdBy") or doc.get("doctor")
    return doc


def _record_upsert(rec: RecordDoc, now: dt.datetime) -> UpdateOne:
    key = {"source": rec.source, "resource_type": rec.resource_type, "uuid": rec.uuid}
    guard = _changed_and_not_older(
        {"content_hash": rec.content_hash, "status": rec.status, "patient_id": rec.patient_id},
        version_number(rec.version),
    )
    fields = _record_set(rec)
    fields["updatedAt"] = now
    fields["syncDate"] = now
    return UpdateOne(
        {**key, "$and": guard},
        {"$set": fields, "$setOnInsert": {"createdAt": now}},
        upsert=True,
    )


class MongoStore(MongoChangeReads, PassportStore):
    """A passport in one MongoDB database; thread-safe (pymongo pools its connections)."""

    def __init__(
        self, database: Database[dict[str, Any]], *, client: Any = None, label: str = ""
    ) -> None:
        self.db = database
        self._client = client
        self._label = label or f"database {database.name!r}"
        self.ensure_indexes()

    @classmethod
    def from_url(cls, url: str) -> MongoStore:
        """``mongodb://host/db`` or ``mongodb+srv://...`` through pymongo; ``mongomock://db``.

        The database is the URL's path (``passport`` when the URL names none). pymongo
        connects lazily; the index creation at start is the first round trip.
        """
        if url.startswith("mongomock://"):
            name = url.removeprefix("mongomock://").strip("/") or DEFAULT_DB
            return cls(_mongomock_client()[name], label=f"mongomock database {name!r}")
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(url, tz_aware=True)
            database = client.get_default_database(default=DEFAULT_DB)
        except (PyMongoError, ValueError) as exc:
            msg = f"cannot open the MongoDB passport at {_redact(url)}: {exc}"
            raise StoreError(msg) from exc
        try:
            return cls(database, client=client, label=f"{_redact(url)} db {database.name!r}")
        except StoreError:
            client.close()
            raise

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Translate pymongo errors at the edge; the message names the database, not data."""
        try:
            yield
        except PyMongoError as exc:
            msg = f"MongoDB passport {what} failed ({self._label}): {exc}"
            raise StoreError(msg) from exc

    def _col(self, name: str) -> Collection[dict[str, Any]]:
        return self.db[name]

    def ensure_indexes(self) -> None:
        """Create what the queries need; an index the portal already has is kept as it is."""
        with self._errors("index creation"):
            for collection, keys, options in _INDEXES:
                try:
                    self._col(collection).create_index(keys, **options)
                except OperationFailure as exc:
                    if exc.code not in _INDEX_CLASH:
                        raise

    def _bulk(self, collection: str, ops: list[UpdateOne]) -> tuple[int, list[int]]:
        """Unordered bulk upserts: (documents written, indexes of ops that lost on the key)."""
        written = 0
        lost: list[int] = []
        for start in range(0, len(ops), _BULK_SIZE):
            chunk = ops[start : start + _BULK_SIZE]
            try:
                res = self._col(collection).bulk_write(chunk, ordered=False)
                written += res.upserted_count + res.modified_count
            except BulkWriteError as exc:
                details = exc.details
                errors = details.get("writeErrors", [])
                others = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
                if others:
                    msg = (
                        f"MongoDB passport write to {collection} failed ({self._label}): "
                        f"{others[0].get('errmsg', 'unknown error')}"
                    )
                    raise StoreError(msg) from exc
                written += int(details.get("nUpserted", 0)) + int(details.get("nModified", 0))
                lost.extend(start + int(e["index"]) for e in errors)
        return written, lost

    def _next_ids(self, name: str, count: int) -> list[int]:
        """``count`` integer ids from a counter document, as SQLite's AUTOINCREMENT gives."""
        doc = self._col("counters").find_one_and_update(
            {"_id": name},
            {"$inc": {"n": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        end = int(doc["n"]) if doc else count
        return list(range(end - count + 1, end + 1))

    # -- the write -------------------------------------------------------------------------
    def apply(self, batch: WriteBatch, cursor: Cursor | None = None) -> ApplyResult:
        result = ApplyResult()
        now = _utcnow()
        with self._errors("apply"):
            self._write_patients(batch, now)
            self._write_records(batch.records, now, result)
            self._write_plain("doctors", [d.to_dict() for d in batch.doctors])
            self._write_plain("locations", [d.to_dict() for d in batch.locations])
            for change in batch.status_changes:
                self._apply_status_change(
                    change.source,
                    change.resource_type,
                    change.uuid,
                    change.status,
                    change.reason,
                    change.superseded_by,
                )
            self._write_parked(batch.parked)
            self._insert_failed(batch.failed)
            self._insert_conflicts(batch.conflicts)
            self._insert_audit(batch.audit)
            patient_ids = {p.patient_id for p in batch.patients if p.patient_id}
            result.attached_from_parked = self._attach_parked(patient_ids, now)
            for extra in batch.cursors:
                self._write_cursor(extra)
            if cursor is not None:
                self._write_cursor(cursor)  # last: everything above is durable and idempotent
        return result

    def _write_patients(self, batch: WriteBatch, now: dt.datetime) -> None:
        ops = []
        for doc in batch.patients:
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
            self._bulk("patient_links", ops)
        for patient_id, passport in batch.passport_patients.items():
            self._upsert_patient(patient_id, passport, now)

    def _upsert_patient(self, patient_id: str, doc: dict[str, Any], now: dt.datetime) -> None:
        """``$set`` of our fields only: the portal's own fields on the patient stay as they were."""
        fields = {k: v for k, v in doc.items() if k not in _HIDDEN}
        # each hospital's version is its own dotted field, so two workers that merge one person
        # at once never drop each other's version (the shown demographics follow the last one)
        for source, version in (fields.pop("sources", None) or {}).items():
            fields[f"sources.{source}"] = version
        update = {"$setOnInsert": {"createdAt": now, "updatedAt": now}}
        if fields:
            update["$set"] = fields
        # Two workers creating one patient: the loser's insert hits the unique nationalId
        # index; by then the document exists and a plain update does the rest.
        try:
            self._col("patients").update_one({"nationalId": patient_id}, update, upsert=True)
        except DuplicateKeyError:
            self._col("patients").update_one({"nationalId": patient_id}, update)

    def _write_records(
        self, records: list[RecordDoc], now: dt.datetime, result: ApplyResult
    ) -> None:
        if not records:
            return
        written, lost = self._bulk("medicalrecords", [_record_upsert(r, now) for r in records])
        result.written += written
        if not lost:
            return
        losers = [records[i] for i in lost]
        stored = {
            (d["source"], d["resource_type"], d["uuid"]): d.get("version_num")
            for d in self._col("medicalrecords").find(
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

    def _write_plain(self, collection: str, docs: list[dict[str, Any]]) -> None:
        ops = []
        for doc in docs:
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
            self._bulk(collection, ops)

    def _apply_status_change(
        self,
        source: str,
        resource_type: str,
        uuid: str,
        status: str,
        reason: str,
        superseded_by: str | None,
    ) -> None:
        key = {"source": source, "resource_type": resource_type, "uuid": uuid}
        records = self._col("medicalrecords")
        doc = records.find_one(key, {"status": 1, "superseded_by": 1, "warnings": 1})
        if doc is None:  # maybe parked, waiting for its patient: it must not attach as valid
            parked = {**key, "doc.status": _not(STATUS_SUPERSEDED)}
            if status == STATUS_SUPERSEDED:
                parked.pop("doc.status")
            self._col("parked").update_one(
                parked, {"$set": {"doc.status": status, "doc.superseded_by": superseded_by}}
            )
            return
        if doc.get("status") == STATUS_SUPERSEDED and status == STATUS_ENTERED_IN_ERROR:
            return  # an edit already explained why this version went away
        if doc.get("status") == status and doc.get("superseded_by") == superseded_by:
            return
        update: dict[str, Any] = {
            "$set": {"status": status, "superseded_by": superseded_by, "updatedAt": _utcnow()}
        }
        if reason:
            update["$push"] = {"warnings": reason}
        # The filter repeats the status we read, so a concurrent change is not overwritten.
        records.update_one({**key, "status": doc.get("status")}, update)

    def _write_parked(self, parked: list[ParkedRecord]) -> None:
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
            self._bulk("parked", ops)

    def _attach_parked(self, patient_ids: set[str], now: dt.datetime) -> int:
        """Records first, then the parked rows go: a crash in between re-attaches, harmlessly."""
        attached = 0
        parked = self._col("parked")
        for patient_id in sorted(patient_ids):
            rows = list(parked.find({"national_id": patient_id}, {"_id": 1, "doc": 1}))
            if not rows:
                continue
            records = []
            for row in rows:
                rec = RecordDoc(**row["doc"])
                rec.patient_id = patient_id
                records.append(rec)
            self._write_records(records, now, ApplyResult())
            parked.delete_many({"_id": {"$in": [row["_id"] for row in rows]}})
            attached += len(records)
        return attached

    def _write_cursor(self, cursor: Cursor) -> None:
        self._col("syncstatus").update_one(
            {"source": cursor.source, "stream": cursor.stream},
            {"$set": {"value": cursor.value, "updated_at": now_ts()}},
            upsert=True,
        )

    def _insert_failed(self, events: list[FailedEvent]) -> None:
        """One open event per (entity, position): a replayed batch does not queue it twice."""
        if not events:
            return
        collection = self._col("failed_events")
        for event in events:
            dedupe = _digest(
                event.source,
                event.stream,
                event.resource_type,
                event.uuid,
                event.action,
                event.payload_ref,
                event.position,
                event.error,
            )
            if collection.find_one(
                {"dedupe": dedupe, "state": {"$in": list(FAILED_OPEN_STATES)}}, {"_id": 1}
            ):
                continue
            doc = event.to_dict()
            doc["id"] = self._next_ids("failed_events", 1)[0]
            doc["dedupe"] = dedupe
            collection.insert_one(doc)

    def _insert_conflicts(self, conflicts: list[Conflict]) -> None:
        """One open conflict per (record, incoming content): replays do not repeat it."""
        collection = self._col("conflicts")
        for conflict in conflicts:
            dedupe = _digest(
                conflict.source,
                conflict.resource_type,
                conflict.uuid,
                conflict.incoming,
                conflict.reason,
            )
            if collection.find_one({"dedupe": dedupe, "state": conflict.state}, {"_id": 1}):
                continue
            doc = conflict.to_dict()
            doc["id"] = self._next_ids("conflicts", 1)[0]
            doc["dedupe"] = dedupe
            collection.insert_one(doc)

    def _insert_audit(self, entries: list[AuditEntry]) -> None:
        if not entries:
            return
        ids = self._next_ids("auditlogs", len(entries))
        self._col("auditlogs").insert_many(
            [{**e.to_dict(), "seq": seq} for e, seq in zip(entries, ids, strict=True)],
            ordered=True,
        )

    # -- cursors ---------------------------------------------------------------------------
    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None:
        with self._errors("read"):
            doc = self._col("syncstatus").find_one({"source": source, "stream": stream})
        return dict(doc["value"]) if doc else None

    def get_cursors(self, source: str) -> dict[str, dict[str, Any]]:
        with self._errors("read"):
            docs = list(self._col("syncstatus").find({"source": source}))
        return {d["stream"]: dict(d["value"]) for d in docs if "stream" in d}

    def set_cursor(self, cursor: Cursor) -> None:
        with self._errors("cursor write"):
            self._write_cursor(cursor)

    # -- patients and records --------------------------------------------------------------
    def get_patient(self, patient_id: str) -> dict[str, Any] | None:
        with self._errors("read"):
            doc = self._col("patients").find_one({"nationalId": patient_id})
            if doc is None:
                return None
            links = (
                self._col("patient_links")
                .find({"patient_id": patient_id}, {"source": 1, "uuid": 1})
                .sort([("source", ASCENDING), ("uuid", ASCENDING)])
            )
            out = _strip(doc, _HIDDEN)
            out["links"] = [{"source": link["source"], "uuid": link["uuid"]} for link in links]
        return out

    def patient_links(self, source: str, uuids: Iterable[str]) -> dict[str, str]:
        wanted = list(uuids)
        if not wanted:
            return {}
        with self._errors("read"):
            docs = self._col("patient_links").find(
                {"source": source, "uuid": {"$in": wanted}, "patient_id": _not(None)},
                {"uuid": 1, "patient_id": 1},
            )
            return {d["uuid"]: d["patient_id"] for d in docs}

    def get_patient_link_docs(self, patient_id: str) -> list[dict[str, Any]]:
        """Every hospital's own version of one passport patient."""
        with self._errors("read"):
            docs = self._col("patient_links").find({"patient_id": patient_id})
            return [_strip(d, _DOC_HIDDEN | {"updated_at"}) for d in docs]

    def get_patient_link(self, source: str, uuid: str) -> dict[str, Any] | None:
        with self._errors("read"):
            doc = self._col("patient_links").find_one({"source": source, "uuid": uuid})
        return _strip(doc, _DOC_HIDDEN | {"updated_at"}) if doc is not None else None

    def find_patients(self, **equals: Any) -> list[dict[str, Any]]:
        for key in equals:
            if key.startswith("$") or "." in key:
                msg = f"find_patients: not a field name: {key!r}"
                raise ValueError(msg)
        with self._errors("read"):
            docs = self._col("patients").find(equals).sort("nationalId", ASCENDING)
            return [_strip(d, _HIDDEN) for d in docs]

    def get_records(
        self, source: str, resource_type: str, uuids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        wanted = list(uuids)
        if not wanted:
            return {}
        with self._errors("read"):
            docs = self._col("medicalrecords").find(
                {"source": source, "resource_type": resource_type, "uuid": {"$in": wanted}}
            )
            return {d["uuid"]: _strip(d, _RECORD_HIDDEN) for d in docs}

    def records_for_patient(
        self, patient_id: str, *, include_invalid: bool = True
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"patient_id": patient_id, "source": {"$exists": True}}
        if not include_invalid:
            query["status"] = {"$nin": sorted(INVALID_STATUSES)}
        with self._errors("read"):
            docs = (
                self._col("medicalrecords")
                .find(query)
                .sort([("effective", DESCENDING), ("source", ASCENDING), ("uuid", ASCENDING)])
            )
            return [_strip(d, _RECORD_HIDDEN) for d in docs]

    def find_records(self, source: str, resource_type: str, **equals: Any) -> list[dict[str, Any]]:
        with self._errors("read"):
            docs = self._col("medicalrecords").find(
                {"source": source, "resource_type": resource_type, **equals}
            )
            return [_strip(d, _RECORD_HIDDEN) for d in docs]

    def count_records(self, source: str, resource_type: str, *, valid_only: bool = False) -> int:
        query: dict[str, Any] = {"source": source, "resource_type": resource_type}
        if valid_only:
            query["status"] = {"$nin": ["entered-in-error", "superseded"]}
        with self._errors("count"):
            return int(self._col("medicalrecords").count_documents(query))

    def list_record_uuids(
        self,
        source: str,
        resource_type: str,
        *,
        after: str = "",
        limit: int = 1000,
        valid_only: bool = True,
    ) -> list[str]:
        if limit <= 0:
            return []
        query: dict[str, Any] = {
            "source": source,
            "resource_type": resource_type,
            "uuid": {"$gt": after},
        }
        if valid_only:
            query["status"] = {"$nin": ["entered-in-error", "superseded"]}
        with self._errors("read"):
            docs = (
                self._col("medicalrecords")
                .find(query, {"uuid": 1, "_id": 0})
                .sort("uuid", 1)
                .limit(limit)
            )
            return [d["uuid"] for d in docs]

    def update_record(
        self, source: str, resource_type: str, uuid: str, changes: dict[str, Any]
    ) -> bool:
        key = {"source": source, "resource_type": resource_type, "uuid": uuid}
        with self._errors("record update"):
            doc = self._col("medicalrecords").find_one(key)
            if doc is None:
                return False
            merged = {**_strip(doc, _RECORD_HIDDEN), **changes}
            projection = _record_set(merged)
            fields = {**changes, "updatedAt": _utcnow()}
            for derived in ("version_num", "patientId", "createdBy"):
                fields[derived] = projection[derived]
            self._col("medicalrecords").update_one(key, {"$set": fields})
        return True

    def get_doctors(self, source: str, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(uuids)
        if not wanted:
            return {}
        with self._errors("read"):
            docs = self._col("doctors").find({"source": source, "uuid": {"$in": wanted}})
            return {d["uuid"]: _strip(d, _DOC_HIDDEN) for d in docs}

    def get_locations(self, source: str) -> dict[str, dict[str, Any]]:
        with self._errors("read"):
            docs = self._col("locations").find({"source": source})
            return {d["uuid"]: _strip(d, _DOC_HIDDEN) for d in docs}

    def upsert_hospital(self, source: str, doc: dict[str, Any]) -> None:
        fields = {**{k: v for k, v in doc.items() if k not in _HIDDEN}, "source": source}
        with self._errors("hospital write"):
            self._col("hospitals").update_one({"source": source}, {"$set": fields}, upsert=True)

    def list_hospitals(self) -> list[dict[str, Any]]:
        with self._errors("read"):
            docs = self._col("hospitals").find({"source": {"$exists": True}}).sort("source", 1)
            return [_strip(d, _HIDDEN) for d in docs]

    def register_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        now = _utcnow()
        with self._errors("patient registration"):
            self._upsert_patient(patient_id, {"patient_id": patient_id, **doc}, now)
            self._attach_parked({patient_id}, now)

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
    def add_audit(self, entry: AuditEntry) -> None:
        with self._errors("audit write"):
            self._insert_audit([entry])

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

    # -- status ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._errors("count"):
            return {c: self._col(c).count_documents(_OURS.get(c, {})) for c in _COUNTED}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _failed_from_doc(doc: Mapping[str, Any]) -> FailedEvent:
    return FailedEvent(
        id=doc["id"],
        source=doc["source"],
        stream=doc.get("stream", ""),
        resource_type=doc.get("resource_type"),
        uuid=doc.get("uuid"),
        action=doc.get("action"),
        error=doc["error"],
        payload_ref=doc.get("payload_ref"),
        position=dict(doc.get("position") or {}),
        payload=doc.get("payload"),
        attempts=doc.get("attempts", 0),
        state=doc["state"],
        next_attempt_at=doc.get("next_attempt_at"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def _conflict_from_doc(doc: Mapping[str, Any]) -> Conflict:
    return Conflict(
        id=doc["id"],
        source=doc["source"],
        resource_type=doc["resource_type"],
        uuid=doc["uuid"],
        base=doc.get("base"),
        passport=doc["passport"],
        incoming=doc["incoming"],
        reason=doc.get("reason", ""),
        state=doc["state"],
        resolution=doc.get("resolution"),
        created_at=doc["created_at"],
    )


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{parts.path}"


# -- mongomock, for the tests --------------------------------------------------------------
# Two gaps of mongomock 4.3 are closed for ``mongomock://`` URLs only, so that the store code
# above stays exactly what a real server runs: pymongo >= 4.9 hands ``sort=`` to the bulk
# builder, which mongomock does not take; and mongomock's single-document writes are a find
# then a modify, not atomic as on a server, so concurrent workers could both win one lease.
# Serialising its writes on one lock gives the per-document atomicity a server guarantees.
_MOCK_LOCK = threading.RLock()
_MOCK_CLIENT: list[Any] = []
_MOCK_WRITES = (
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_delete",
    "bulk_write",
    "create_index",
)


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _MOCK_LOCK:
            return method(*args, **kwargs)

    return locked


def _patch_mongomock() -> None:
    import mongomock.collection as mc

    builder = mc.BulkOperationBuilder
    if getattr(builder, "_sync2_patched", False):
        return
    add_update, add_replace = builder.add_update, builder.add_replace

    def add_update_sortless(
        self: Any,
        selector: Any,
        doc: Any,
        multi: bool = False,
        upsert: bool = False,
        collation: Any = None,
        array_filters: Any = None,
        hint: Any = None,
        sort: Any = None,
    ) -> Any:
        if sort is not None:
            msg = "mongomock: sorted bulk updates are not emulated"
            raise NotImplementedError(msg)
        return add_update(self, selector, doc, multi, upsert, collation, array_filters, hint)

    def add_replace_sortless(
        self: Any,
        selector: Any,
        doc: Any,
        upsert: bool,
        collation: Any = None,
        hint: Any = None,
        sort: Any = None,
    ) -> Any:
        if sort is not None:
            msg = "mongomock: sorted bulk replaces are not emulated"
            raise NotImplementedError(msg)
        return add_replace(self, selector, doc, upsert, collation, hint)

    builder.add_update = add_update_sortless
    builder.add_replace = add_replace_sortless
    for name in _MOCK_WRITES:
        setattr(mc.Collection, name, _serialised(getattr(mc.Collection, name)))
    builder._sync2_patched = True


def _mongomock_client() -> Any:
    """One in-memory server per process, so several stores on one URL share the data."""
    import mongomock

    with _MOCK_LOCK:
        if not _MOCK_CLIENT:
            _patch_mongomock()
            _MOCK_CLIENT.append(mongomock.MongoClient())
        return _MOCK_CLIENT[0]
