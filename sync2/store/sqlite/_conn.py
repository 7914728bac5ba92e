"""The SQLite passport's schema and plumbing: one connection, one lock, errors named.

Each collection of DESIGN.md is a table with the key columns the queries need and the whole
document as JSON in ``doc``; in ``medicalrecords``, ``doc`` holds the rest of a record as one
compressed frame (``.._codec``: a BLOB in the TEXT column, which SQLite stores as it is), or
JSON text in a row written before that.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from mappers.documents import RecordDoc

from ..._errors import StoreError
from .._codec import KEY_FIELDS, record_from_row

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
-- a source's last run of a kind (the scheduler looks before each run): one seek, not a walk
-- back through every source's entries
CREATE INDEX IF NOT EXISTS auditlogs_source_kind ON auditlogs (source, kind);
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

#: The record fields kept as columns of ``medicalrecords``; the rest is the ``doc`` frame.
_RECORD_COLUMNS = frozenset(KEY_FIELDS)
#: The select list of a whole record, read back with :func:`_record_row`.
RECORD_SELECT = ", ".join((*KEY_FIELDS, "doc"))


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _record_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """A record dict from a row selected with ``RECORD_SELECT``."""
    return record_from_row(dict(zip(KEY_FIELDS, row, strict=False)), row[-1])


def _record_from_dict(doc: dict[str, Any]) -> RecordDoc:
    return RecordDoc(**doc)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLiteBase:
    """The connection every SQLite mixin reads and writes through."""

    path: str
    _conn: sqlite3.Connection
    _lock: threading.RLock

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
