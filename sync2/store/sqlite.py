"""The embedded passport: stdlib sqlite3 in WAL mode, no server needed.

Each collection of DESIGN.md is a table with the key columns the queries need and the whole
document as JSON in ``doc``. ``apply`` runs in one ``BEGIN IMMEDIATE`` transaction, so records
and the cursor that covers them are durable together or not at all.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from mappers.documents import RecordDoc

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
from ._change_reads import SQLiteChangeReads

_SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    patient_id TEXT PRIMARY KEY, national_id TEXT, doc TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS patients_birth_date ON patients (json_extract(doc, '$.birth_date'));
CREATE TABLE IF NOT EXISTS patient_links (
    source TEXT NOT NULL, uuid TEXT NOT NULL, patient_id TEXT, national_id TEXT,
    version_num INTEGER, content_hash TEXT, doc TEXT NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (source, uuid));
CREATE INDEX IF NOT EXISTS patient_links_patient ON patient_links (patient_id);
CREATE TABLE IF NOT EXISTS medicalrecords (
    source TEXT NOT NULL, resource_type TEXT NOT NULL, uuid TEXT NOT NULL,
    patient_id TEXT, patient_uuid TEXT, type TEXT, status TEXT, effective TEXT,
    encounter_uuid TEXT, version_num INTEGER, content_hash TEXT, doc TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (source, resource_type, uuid));
CREATE INDEX IF NOT EXISTS medicalrecords_patient ON medicalrecords (patient_id, effective);
CREATE INDEX IF NOT EXISTS medicalrecords_encounter ON medicalrecords (source, encounter_uuid);
CREATE TABLE IF NOT EXISTS doctors (
    source TEXT NOT NULL, uuid TEXT NOT NULL, version_num INTEGER, content_hash TEXT,
    doc TEXT NOT NULL, PRIMARY KEY (source, uuid));
CREATE TABLE IF NOT EXISTS locations (
    source TEXT NOT NULL, uuid TEXT NOT NULL, version_num INTEGER, content_hash TEXT,
    doc TEXT NOT NULL, PRIMARY KEY (source, uuid));
CREATE TABLE IF NOT EXISTS hospitals (source TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS syncstatus (
    source TEXT NOT NULL, stream TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (source, stream));
CREATE TABLE IF NOT EXISTS auditlogs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, kind TEXT NOT NULL, source TEXT,
    actor TEXT NOT NULL, message TEXT NOT NULL, details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS auditlogs_ts ON auditlogs (ts);
CREATE TABLE IF NOT EXISTS failed_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, stream TEXT NOT NULL,
    resource_type TEXT, uuid TEXT, action TEXT, error TEXT NOT NULL, payload_ref TEXT,
    position TEXT NOT NULL, payload TEXT, attempts INTEGER NOT NULL, state TEXT NOT NULL,
    next_attempt_at REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failed_events_state ON failed_events (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS failed_events_entity ON failed_events (source, resource_type, uuid);
CREATE TABLE IF NOT EXISTS parked (
    source TEXT NOT NULL, resource_type TEXT NOT NULL, uuid TEXT NOT NULL,
    national_id TEXT NOT NULL, doc TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (source, resource_type, uuid));
CREATE INDEX IF NOT EXISTS parked_national_id ON parked (national_id);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, resource_type TEXT NOT NULL,
    uuid TEXT NOT NULL, base TEXT, passport TEXT NOT NULL, incoming TEXT NOT NULL,
    reason TEXT NOT NULL, state TEXT NOT NULL, resolution TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
"""

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_RECORD_COLUMNS = {
    "patient_id",
    "patient_uuid",
    "type",
    "status",
    "effective",
    "encounter_uuid",
    "content_hash",
}


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


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _record_from_dict(doc: dict[str, Any]) -> RecordDoc:
    return RecordDoc(**doc)


class SQLiteStore(SQLiteChangeReads, PassportStore):
    """A passport in one SQLite file; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            msg = f"cannot open the SQLite passport at {self.path}: {exc}"
            raise StoreError(msg) from exc
        self._lock = threading.RLock()

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                msg = f"SQLite passport write failed ({self.path}): {exc}"
                raise StoreError(msg) from exc

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                msg = f"SQLite passport read failed ({self.path}): {exc}"
                raise StoreError(msg) from exc

    # -- the write -------------------------------------------------------------------------
    def apply(self, batch: WriteBatch, cursor: Cursor | None = None) -> ApplyResult:
        result = ApplyResult()
        now = now_ts()
        with self._transaction() as conn:
            self._write_patients(conn, batch, now)
            self._write_records(conn, batch.records, now, result)
            for table, docs in (("doctors", batch.doctors), ("locations", batch.locations)):
                rows = [
                    (
                        d.source,
                        d.uuid,
                        version_number(d.version),
                        d.content_hash,
                        _dumps(d.to_dict()),
                    )
                    for d in docs
                ]
                if rows:
                    conn.executemany(
                        f"INSERT INTO {table} (source, uuid, version_num, content_hash, doc) "
                        "VALUES (?,?,?,?,?) ON CONFLICT(source, uuid) DO UPDATE SET "
                        "version_num=excluded.version_num, content_hash=excluded.content_hash, "
                        f"doc=excluded.doc WHERE excluded.content_hash != {table}.content_hash AND "
                        f"(excluded.version_num IS NULL OR {table}.version_num IS NULL OR "
                        f"excluded.version_num >= {table}.version_num)",
                        rows,
                    )
            for change in batch.status_changes:
                self._apply_status_change(
                    conn,
                    change.source,
                    change.resource_type,
                    change.uuid,
                    change.status,
                    change.reason,
                    change.superseded_by,
                    now,
                )
            for parked in batch.parked:
                rec = parked.record
                conn.execute(
                    "INSERT INTO parked (source, resource_type, uuid, national_id, doc, "
                    "created_at) VALUES (?,?,?,?,?,?) "
                    "ON CONFLICT(source, resource_type, uuid) DO UPDATE SET "
                    "national_id=excluded.national_id, doc=excluded.doc",
                    (
                        rec.source,
                        rec.resource_type,
                        rec.uuid,
                        parked.national_id,
                        _dumps(rec.to_dict()),
                        now,
                    ),
                )
            for failed in batch.failed:
                self._insert_failed(conn, failed)
            for conflict in batch.conflicts:
                conn.execute(
                    "INSERT INTO conflicts (source, resource_type, uuid, base, passport, incoming, "
                    "reason, state, resolution, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        conflict.source,
                        conflict.resource_type,
                        conflict.uuid,
                        _dumps(conflict.base),
                        _dumps(conflict.passport),
                        _dumps(conflict.incoming),
                        conflict.reason,
                        conflict.state,
                        conflict.resolution,
                        conflict.created_at,
                    ),
                )
            for entry in batch.audit:
                self._insert_audit(conn, entry)
            patient_ids = {p.patient_id for p in batch.patients if p.patient_id}
            result.attached_from_parked = self._attach_parked(conn, patient_ids, now)
            for extra in batch.cursors:
                self._write_cursor(conn, extra, now)
            if cursor is not None:
                self._write_cursor(conn, cursor, now)
        return result

    def _write_patients(self, conn: sqlite3.Connection, batch: WriteBatch, now: float) -> None:
        for doc in batch.patients:
            conn.execute(
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
                    now,
                ),
            )
        for patient_id, passport in batch.passport_patients.items():
            self._upsert_patient(conn, patient_id, passport, now)

    @staticmethod
    def _upsert_patient(
        conn: sqlite3.Connection, patient_id: str, doc: dict[str, Any], now: float
    ) -> None:
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

    def _write_records(
        self, conn: sqlite3.Connection, records: list[RecordDoc], now: float, result: ApplyResult
    ) -> None:
        if not records:
            return
        rows = [
            (
                r.source,
                r.resource_type,
                r.uuid,
                r.patient_id,
                r.patient_uuid,
                r.type,
                r.status,
                r.effective,
                r.encounter_uuid,
                version_number(r.version),
                r.content_hash,
                _dumps(r.to_dict()),
                now,
            )
            for r in records
        ]
        before = self._conn.total_changes
        conn.executemany(
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
        result.written += self._conn.total_changes - before
        result.unchanged += len(rows) - (self._conn.total_changes - before)

    @staticmethod
    def _apply_status_change(
        conn: sqlite3.Connection,
        source: str,
        resource_type: str,
        uuid: str,
        status: str,
        reason: str,
        superseded_by: str | None,
        now: float,
    ) -> None:
        row = conn.execute(
            "SELECT doc FROM medicalrecords WHERE source=? AND resource_type=? AND uuid=?",
            (source, resource_type, uuid),
        ).fetchone()
        table = "medicalrecords"
        if row is None:  # maybe parked, waiting for its patient: it must not attach as valid
            table = "parked"
            row = conn.execute(
                "SELECT doc FROM parked WHERE source=? AND resource_type=? AND uuid=?",
                (source, resource_type, uuid),
            ).fetchone()
            if row is None:
                return
        doc = orjson.loads(row[0])
        if doc.get("status") == "superseded" and status == "entered-in-error":
            return  # an edit already explained why this version went away
        if doc.get("status") == status and doc.get("superseded_by") == superseded_by:
            return
        doc["status"] = status
        doc["superseded_by"] = superseded_by
        if reason:
            doc.setdefault("warnings", []).append(reason)
        if table == "parked":
            conn.execute(
                "UPDATE parked SET doc=? WHERE source=? AND resource_type=? AND uuid=?",
                (_dumps(doc), source, resource_type, uuid),
            )
            return
        conn.execute(
            "UPDATE medicalrecords SET status=?, doc=?, updated_at=? "
            "WHERE source=? AND resource_type=? AND uuid=?",
            (status, _dumps(doc), now, source, resource_type, uuid),
        )

    def _attach_parked(self, conn: sqlite3.Connection, patient_ids: set[str], now: float) -> int:
        attached = 0
        for patient_id in patient_ids:
            conn.execute(
                "UPDATE patient_links SET patient_id=? WHERE national_id=? AND patient_id IS NULL",
                (patient_id, patient_id),
            )
            rows = conn.execute(
                "SELECT doc FROM parked WHERE national_id=?", (patient_id,)
            ).fetchall()
            if not rows:
                continue
            records = []
            for (doc,) in rows:
                rec = _record_from_dict(orjson.loads(doc))
                rec.patient_id = patient_id
                records.append(rec)
            self._write_records(conn, records, now, ApplyResult())
            conn.execute("DELETE FROM parked WHERE national_id=?", (patient_id,))

            attached += len(records)
        return attached

    @staticmethod
    def _write_cursor(conn: sqlite3.Connection, cursor: Cursor, now: float) -> None:
        conn.execute(
            "INSERT INTO syncstatus (source, stream, value, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(source, stream) DO UPDATE SET value=excluded.value, "
            "updated_at=excluded.updated_at",
            (cursor.source, cursor.stream, _dumps(cursor.value), now),
        )

    @staticmethod
    def _insert_failed(conn: sqlite3.Connection, f: FailedEvent) -> None:
        conn.execute(
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

    @staticmethod
    def _insert_audit(conn: sqlite3.Connection, e: AuditEntry) -> None:
        conn.execute(
            "INSERT INTO auditlogs (ts, kind, source, actor, message, details) "
            "VALUES (?,?,?,?,?,?)",
            (e.ts, e.kind, e.source, e.actor, e.message, _dumps(e.details)),
        )

    # -- cursors ---------------------------------------------------------------------------
    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT value FROM syncstatus WHERE source=? AND stream=?", (source, stream)
        )
        return orjson.loads(rows[0][0]) if rows else None

    def get_cursors(self, source: str) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT stream, value FROM syncstatus WHERE source=?", (source,))
        return {stream: orjson.loads(value) for stream, value in rows}

    def set_cursor(self, cursor: Cursor) -> None:
        with self._transaction() as conn:
            self._write_cursor(conn, cursor, now_ts())

    # -- patients and records --------------------------------------------------------------
    def get_patient(self, patient_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT doc FROM patients WHERE patient_id=?", (patient_id,))
        if not rows:
            return None
        doc: dict[str, Any] = orjson.loads(rows[0][0])
        links = self._query(
            "SELECT source, uuid FROM patient_links WHERE patient_id=? ORDER BY source",
            (patient_id,),
        )
        doc["links"] = [{"source": s, "uuid": u} for s, u in links]
        return doc

    def patient_links(self, source: str, uuids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(uuids), 500):
            marks = ",".join("?" * len(chunk))
            for uuid, patient_id in self._query(
                f"SELECT uuid, patient_id FROM patient_links WHERE source=? AND uuid IN ({marks}) "
                "AND patient_id IS NOT NULL",
                (source, *chunk),
            ):
                found[uuid] = patient_id
        return found

    def get_patient_link_docs(self, patient_id: str) -> list[dict[str, Any]]:
        """Every hospital's own version of one passport patient."""
        rows = self._query("SELECT doc FROM patient_links WHERE patient_id=?", (patient_id,))
        return [orjson.loads(d) for (d,) in rows]

    def get_patient_link(self, source: str, uuid: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT doc, patient_id FROM patient_links WHERE source=? AND uuid=?", (source, uuid)
        )
        if not rows:
            return None
        doc: dict[str, Any] = orjson.loads(rows[0][0])
        doc["patient_id"] = rows[0][1]  # the column is the truth (parked attach sets only it)
        return doc

    def find_patients(self, **equals: Any) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM patients WHERE 1=1"
        params: list[Any] = []
        for key, value in equals.items():
            if not _FIELD_NAME.fullmatch(key):
                msg = f"find_patients: not a field name: {key!r}"
                raise ValueError(msg)
            if value is None:
                sql += f" AND json_extract(doc, '$.{key}') IS NULL"
            else:
                sql += f" AND json_extract(doc, '$.{key}') = ?"
                params.append(value)
        return [orjson.loads(d) for (d,) in self._query(sql + " ORDER BY patient_id", params)]

    def get_records(
        self, source: str, resource_type: str, uuids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(uuids), 500):
            marks = ",".join("?" * len(chunk))
            for uuid, doc in self._query(
                f"SELECT uuid, doc FROM medicalrecords WHERE source=? AND resource_type=? "
                f"AND uuid IN ({marks})",
                (source, resource_type, *chunk),
            ):
                found[uuid] = orjson.loads(doc)
        return found

    def records_for_patient(
        self, patient_id: str, *, include_invalid: bool = True
    ) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM medicalrecords WHERE patient_id=?"
        if not include_invalid:
            sql += " AND status NOT IN ('entered-in-error', 'superseded')"
        sql += " ORDER BY effective DESC, source, uuid"
        return [orjson.loads(d) for (d,) in self._query(sql, (patient_id,))]

    def find_records(self, source: str, resource_type: str, **equals: Any) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM medicalrecords WHERE source=? AND resource_type=?"
        params: list[Any] = [source, resource_type]
        for key, value in equals.items():
            if key in _RECORD_COLUMNS:
                sql += f" AND {key} IS ?"
            else:
                sql += f" AND json_extract(doc, '$.{key}') IS ?"
            params.append(value)
        return [orjson.loads(d) for (d,) in self._query(sql, params)]

    def count_records(self, source: str, resource_type: str, *, valid_only: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM medicalrecords WHERE source=? AND resource_type=?"
        if valid_only:
            sql += " AND status NOT IN ('entered-in-error', 'superseded')"
        return int(self._query(sql, (source, resource_type))[0][0])

    def list_record_uuids(
        self,
        source: str,
        resource_type: str,
        *,
        after: str = "",
        limit: int = 1000,
        valid_only: bool = True,
    ) -> list[str]:
        sql = "SELECT uuid FROM medicalrecords WHERE source=? AND resource_type=? AND uuid > ?"
        if valid_only:
            sql += " AND status NOT IN ('entered-in-error', 'superseded')"
        sql += " ORDER BY uuid LIMIT ?"
        return [u for (u,) in self._query(sql, (source, resource_type, after, max(0, limit)))]

    def update_record(
        self, source: str, resource_type: str, uuid: str, changes: dict[str, Any]
    ) -> bool:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT doc FROM medicalrecords WHERE source=? AND resource_type=? AND uuid=?",
                (source, resource_type, uuid),
            ).fetchone()
            if row is None:
                return False
            doc = orjson.loads(row[0])
            doc.update(changes)
            conn.execute(
                "UPDATE medicalrecords SET doc=?, status=?, type=?, effective=?, content_hash=?, "
                "patient_id=?, updated_at=? WHERE source=? AND resource_type=? AND uuid=?",
                (
                    _dumps(doc),
                    doc.get("status"),
                    doc.get("type"),
                    doc.get("effective"),
                    doc.get("content_hash"),
                    doc.get("patient_id"),
                    now_ts(),
                    source,
                    resource_type,
                    uuid,
                ),
            )
        return True

    def get_doctors(self, source: str, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(uuids), 500):
            marks = ",".join("?" * len(chunk))
            for uuid, doc in self._query(
                f"SELECT uuid, doc FROM doctors WHERE source=? AND uuid IN ({marks})",
                (source, *chunk),
            ):
                found[uuid] = orjson.loads(doc)
        return found

    def get_locations(self, source: str) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT uuid, doc FROM locations WHERE source=?", (source,))
        return {uuid: orjson.loads(doc) for uuid, doc in rows}

    def upsert_hospital(self, source: str, doc: dict[str, Any]) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO hospitals (source, doc) VALUES (?,?) "
                "ON CONFLICT(source) DO UPDATE SET doc=excluded.doc",
                (source, _dumps(doc)),
            )

    def list_hospitals(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT doc FROM hospitals ORDER BY source")
        return [orjson.loads(d) for (d,) in rows]

    def register_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        now = now_ts()
        with self._transaction() as conn:
            self._upsert_patient(conn, patient_id, {"patient_id": patient_id, **doc}, now)
            self._attach_parked(conn, {patient_id}, now)

    # -- failed events ---------------------------------------------------------------------
    def list_failed(
        self, *, states: Iterable[str] | None = None, source: str | None = None, limit: int = 1000
    ) -> list[FailedEvent]:
        sql = "SELECT * FROM failed_events WHERE 1=1"
        params: list[Any] = []
        if states is not None:
            states = list(states)
            sql += f" AND state IN ({','.join('?' * len(states))})"
            params.extend(states)
        if source is not None:
            sql += " AND source=?"
            params.append(source)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [self._failed_from_row(r) for r in self._query(sql, params)]

    def get_failed(self, failed_id: int) -> FailedEvent | None:
        rows = self._query("SELECT * FROM failed_events WHERE id=?", (failed_id,))
        return self._failed_from_row(rows[0]) if rows else None

    @staticmethod
    def _failed_from_row(row: tuple[Any, ...]) -> FailedEvent:
        (
            fid,
            source,
            stream,
            rtype,
            uuid,
            action,
            error,
            ref,
            position,
            payload,
            attempts,
            state,
            next_at,
            created,
            updated,
        ) = row
        return FailedEvent(
            id=fid,
            source=source,
            stream=stream,
            resource_type=rtype,
            uuid=uuid,
            action=action,
            error=error,
            payload_ref=ref,
            position=orjson.loads(position),
            payload=payload,
            attempts=attempts,
            state=state,
            next_attempt_at=next_at,
            created_at=created,
            updated_at=updated,
        )

    def update_failed(self, event: FailedEvent) -> None:
        if event.id is None:
            msg = "update_failed needs a stored failed event (id is None)"
            raise StoreError(msg)
        with self._transaction() as conn:
            conn.execute(
                "UPDATE failed_events SET error=?, attempts=?, state=?, next_attempt_at=?, "
                "updated_at=? WHERE id=?",
                (
                    event.error,
                    event.attempts,
                    event.state,
                    event.next_attempt_at,
                    now_ts(),
                    event.id,
                ),
            )

    def open_failed_keys(self, source: str) -> set[tuple[str, str]]:
        marks = ",".join("?" * len(FAILED_OPEN_STATES))
        rows = self._query(
            f"SELECT DISTINCT resource_type, uuid FROM failed_events WHERE source=? AND "
            f"state IN ({marks}) AND resource_type IS NOT NULL AND uuid IS NOT NULL",
            (source, *FAILED_OPEN_STATES),
        )
        return {(t, u) for t, u in rows}

    # -- parked ----------------------------------------------------------------------------
    def list_parked(self, limit: int = 1000) -> list[ParkedRecord]:
        rows = self._query(
            "SELECT national_id, doc FROM parked ORDER BY created_at LIMIT ?", (limit,)
        )
        return [ParkedRecord(nid, _record_from_dict(orjson.loads(doc))) for nid, doc in rows]

    # -- conflicts -------------------------------------------------------------------------
    def list_conflicts(self, *, state: str | None = "open") -> list[Conflict]:
        if state is None:
            rows = self._query("SELECT * FROM conflicts ORDER BY id")
        else:
            rows = self._query("SELECT * FROM conflicts WHERE state=? ORDER BY id", (state,))
        return [self._conflict_from_row(r) for r in rows]

    def get_conflict(self, conflict_id: int) -> Conflict | None:
        rows = self._query("SELECT * FROM conflicts WHERE id=?", (conflict_id,))
        return self._conflict_from_row(rows[0]) if rows else None

    @staticmethod
    def _conflict_from_row(row: tuple[Any, ...]) -> Conflict:
        (cid, source, rtype, uuid, base, passport, incoming, reason, state, resolution, created) = (
            row
        )
        return Conflict(
            id=cid,
            source=source,
            resource_type=rtype,
            uuid=uuid,
            base=orjson.loads(base) if base else None,
            passport=orjson.loads(passport),
            incoming=orjson.loads(incoming),
            reason=reason,
            state=state,
            resolution=resolution,
            created_at=created,
        )

    def close_conflict(self, conflict_id: int, resolution: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE conflicts SET state='resolved', resolution=? WHERE id=?",
                (resolution, conflict_id),
            )

    # -- audit -----------------------------------------------------------------------------
    def add_audit(self, entry: AuditEntry) -> None:
        with self._transaction() as conn:
            self._insert_audit(conn, entry)

    def list_audit(
        self, *, limit: int = 100, kind: str | None = None, source: str | None = None
    ) -> list[AuditEntry]:
        sql = "SELECT ts, kind, source, actor, message, details FROM auditlogs WHERE 1=1"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind=?"
            params.append(kind)
        if source is not None:
            sql += " AND source=?"
            params.append(source)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [
            AuditEntry(ts=ts, kind=k, source=s, actor=a, message=m, details=orjson.loads(d))
            for ts, k, s, a, m, d in self._query(sql, params)
        ]

    def prune_audit(self, older_than: float) -> int:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM auditlogs WHERE ts < ?", (older_than,)).rowcount

    # -- leases ----------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take ``name`` if free, expired or ours; BEGIN IMMEDIATE makes check-and-set atomic."""
        now = now_ts()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT owner, expires_at FROM leases WHERE name=?", (name,)
            ).fetchone()
            if row is not None and row[0] != owner and row[1] >= now:
                return False
            conn.execute(
                "INSERT INTO leases (name, owner, expires_at) VALUES (?,?,?) ON CONFLICT(name) "
                "DO UPDATE SET owner=excluded.owner, expires_at=excluded.expires_at",
                (name, owner, now + ttl_seconds),
            )
        return True

    def renew_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend a lease we still hold; an expired one is lost (someone may have taken it)."""
        now = now_ts()
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires_at=? WHERE name=? AND owner=? AND expires_at>=?",
                (now + ttl_seconds, name, owner, now),
            )
            return cur.rowcount == 1

    def release_lease(self, name: str, owner: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM leases WHERE name=? AND owner=?", (name, owner))

    # -- status ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        tables = (
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
        return {t: self._query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
