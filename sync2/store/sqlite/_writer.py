"""The SQLite writers of one ``BEGIN IMMEDIATE`` transaction, called by ``PassportStore.apply``.

Version guards and "changed at all" are in each upsert's ``WHERE``, so an unchanged or older
row costs one statement and no write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import orjson

from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc

from .._codec import record_blob
from .._rules import status_is_kept, version_number
from .._types import (
    ApplyResult,
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    StatusChange,
)
from ._conn import RECORD_SELECT, _dumps, _record_from_dict, _record_row

#: A record's key columns, in the order of the ``medicalrecords`` insert below.
_ROW_KEYS = attrgetter(
    "source",
    "resource_type",
    "uuid",
    "patient_id",
    "patient_uuid",
    "type",
    "status",
    "effective",
    "encounter_uuid",
)


class SQLiteWriter:
    """The writers over one open transaction; ``now`` stamps every row it writes."""

    __slots__ = ("conn", "now")

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self.conn = conn
        self.now = now

    def patient_links(self, docs: Sequence[PatientDoc]) -> None:
        for doc in docs:
            self.conn.execute(
                "INSERT INTO patient_links (source, uuid, patient_id, national_id, version_num, "
                "content_hash, doc, updated_at) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT(source, uuid) DO UPDATE SET patient_id=excluded.patient_id, "
                "national_id=excluded.national_id, version_num=excluded.version_num, "
                "content_hash=excluded.content_hash, doc=excluded.doc, "
                "updated_at=excluded.updated_at "
                "WHERE (excluded.content_hash != patient_links.content_hash "
                "OR excluded.patient_id IS NOT patient_links.patient_id) AND "
                "(excluded.version_num IS NULL OR patient_links.version_num IS NULL OR "
                "excluded.version_num >= patient_links.version_num)",
                (
                    doc.source,
                    doc.uuid,
                    doc.patient_id,
                    doc.national_id,
                    version_number(doc.version),
                    doc.content_hash,
                    _dumps(doc.to_dict()),
                    self.now,
                ),
            )

    def passport_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        conn, now = self.conn, self.now
        row = conn.execute("SELECT doc FROM patients WHERE patient_id=?", (patient_id,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO patients (patient_id, national_id, doc, created_at, updated_at) "
                "VALUES (?,?,?,?,?)",
                (patient_id, doc.get("national_id", patient_id), _dumps(doc), now, now),
            )
            return
        merged = orjson.loads(row[0])
        before = dict(merged)
        sources = {**(merged.get("sources") or {}), **(doc.get("sources") or {})}
        merged.update(doc)  # fields the portal owns and we do not send stay as they were
        if sources:  # a concurrent merge of another hospital's version is never dropped
            merged["sources"] = sources
        if merged != before:
            conn.execute(
                "UPDATE patients SET doc=?, updated_at=? WHERE patient_id=?",
                (_dumps(merged), now, patient_id),
            )

    def records(self, records: Sequence[RecordDoc], result: ApplyResult) -> None:
        if not records:
            return
        now = self.now
        rows = [
            (*_ROW_KEYS(r), version_number(r.version), r.content_hash, record_blob(r), now)
            for r in records
        ]
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT INTO medicalrecords (source, resource_type, uuid, patient_id, patient_uuid, "
            "type, status, effective, encounter_uuid, version_num, content_hash, doc, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(source, resource_type, uuid) DO UPDATE SET "
            "patient_id=excluded.patient_id, patient_uuid=excluded.patient_uuid, "
            "type=excluded.type, status=excluded.status, effective=excluded.effective, "
            "encounter_uuid=excluded.encounter_uuid, version_num=excluded.version_num, "
            "content_hash=excluded.content_hash, doc=excluded.doc, updated_at=excluded.updated_at "
            "WHERE (excluded.content_hash IS NOT medicalrecords.content_hash "
            "OR excluded.status IS NOT medicalrecords.status "
            "OR excluded.patient_id IS NOT medicalrecords.patient_id) AND "
            "(excluded.version_num IS NULL OR medicalrecords.version_num IS NULL OR "
            "excluded.version_num >= medicalrecords.version_num)",
            rows,
        )
        written = self.conn.total_changes - before
        result.written += written
        result.unchanged += len(rows) - written

    def reference(self, collection: str, docs: Sequence[DoctorDoc | LocationDoc]) -> None:
        if not docs:
            return
        rows = [
            (d.source, d.uuid, version_number(d.version), d.content_hash, _dumps(d.to_dict()))
            for d in docs
        ]
        table = {"doctors": "doctors", "locations": "locations"}[collection]
        self.conn.executemany(
            f"INSERT INTO {table} (source, uuid, version_num, content_hash, doc) "
            "VALUES (?,?,?,?,?) ON CONFLICT(source, uuid) DO UPDATE SET "
            "version_num=excluded.version_num, content_hash=excluded.content_hash, "
            f"doc=excluded.doc WHERE excluded.content_hash != {table}.content_hash AND "
            f"(excluded.version_num IS NULL OR {table}.version_num IS NULL OR "
            f"excluded.version_num >= {table}.version_num)",
            rows,
        )

    def status(self, change: StatusChange) -> None:
        key = (change.source, change.resource_type, change.uuid)
        row = self.conn.execute(
            f"SELECT {RECORD_SELECT} FROM medicalrecords "
            "WHERE source=? AND resource_type=? AND uuid=?",
            key,
        ).fetchone()
        if row is not None:
            doc = _record_row(row)
            if _change_status(doc, change):
                self.conn.execute(
                    "UPDATE medicalrecords SET status=?, doc=?, updated_at=? "
                    "WHERE source=? AND resource_type=? AND uuid=?",
                    (change.status, record_blob(doc), self.now, *key),
                )
            return
        # maybe parked, waiting for its patient: it must not attach as valid
        row = self.conn.execute(
            "SELECT doc FROM parked WHERE source=? AND resource_type=? AND uuid=?", key
        ).fetchone()
        if row is not None:
            doc = orjson.loads(row[0])
            if _change_status(doc, change):
                self.conn.execute(
                    "UPDATE parked SET doc=? WHERE source=? AND resource_type=? AND uuid=?",
                    (_dumps(doc), *key),
                )

    def parked(self, parked: Sequence[ParkedRecord]) -> None:
        for item in parked:
            rec = item.record
            self.conn.execute(
                "INSERT INTO parked (source, resource_type, uuid, national_id, doc, "
                "created_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(source, resource_type, uuid) DO UPDATE SET "
                "national_id=excluded.national_id, doc=excluded.doc",
                (
                    rec.source,
                    rec.resource_type,
                    rec.uuid,
                    item.national_id,
                    _dumps(rec.to_dict()),
                    self.now,
                ),
            )

    def failed(self, events: Sequence[FailedEvent]) -> None:
        for f in events:
            self.conn.execute(
                "INSERT INTO failed_events (source, stream, resource_type, uuid, action, error, "
                "payload_ref, position, payload, attempts, state, next_attempt_at, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    f.source,
                    f.stream,
                    f.resource_type,
                    f.uuid,
                    f.action,
                    f.error,
                    f.payload_ref,
                    _dumps(f.position),
                    f.payload,
                    f.attempts,
                    f.state,
                    f.next_attempt_at,
                    f.created_at,
                    f.updated_at,
                ),
            )

    def conflicts(self, conflicts: Sequence[Conflict]) -> None:
        for c in conflicts:
            self.conn.execute(
                "INSERT INTO conflicts (source, resource_type, uuid, base, passport, incoming, "
                "reason, state, resolution, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    c.source,
                    c.resource_type,
                    c.uuid,
                    _dumps(c.base),
                    _dumps(c.passport),
                    _dumps(c.incoming),
                    c.reason,
                    c.state,
                    c.resolution,
                    c.created_at,
                ),
            )

    def audit(self, entries: Sequence[AuditEntry]) -> None:
        for e in entries:
            self.conn.execute(
                "INSERT INTO auditlogs (ts, kind, source, actor, message, details) "
                "VALUES (?,?,?,?,?,?)",
                (e.ts, e.kind, e.source, e.actor, e.message, _dumps(e.details)),
            )

    def attach_parked(self, patient_ids: set[str]) -> int:
        attached = 0
        for patient_id in patient_ids:
            self.conn.execute(
                "UPDATE patient_links SET patient_id=? WHERE national_id=? AND patient_id IS NULL",
                (patient_id, patient_id),
            )
            rows = self.conn.execute(
                "SELECT doc FROM parked WHERE national_id=?", (patient_id,)
            ).fetchall()
            if not rows:
                continue
            records = []
            for (doc,) in rows:
                rec = _record_from_dict(orjson.loads(doc))
                rec.patient_id = patient_id
                records.append(rec)
            self.records(records, ApplyResult())
            self.conn.execute("DELETE FROM parked WHERE national_id=?", (patient_id,))
            attached += len(records)
        return attached

    def cursor(self, cursor: Cursor) -> None:
        self.conn.execute(
            "INSERT INTO syncstatus (source, stream, value, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(source, stream) DO UPDATE SET value=excluded.value, "
            "updated_at=excluded.updated_at",
            (cursor.source, cursor.stream, _dumps(cursor.value), self.now),
        )


def _change_status(doc: dict[str, Any], change: StatusChange) -> bool:
    """Apply ``change`` to a stored record dict; False when the stored status is kept."""
    if status_is_kept(
        doc.get("status"), doc.get("superseded_by"), change.status, change.superseded_by
    ):
        return False
    doc["status"] = change.status
    doc["superseded_by"] = change.superseded_by
    if change.reason:
        doc.setdefault("warnings", []).append(change.reason)
    return True
