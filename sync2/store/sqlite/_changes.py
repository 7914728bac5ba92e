"""SQLite reads in change order; the index each scan needs is made on the first such read, so a
passport that never serves FHIR pays nothing for it on every write."""

from __future__ import annotations

import threading
from typing import Any

import orjson

from .._changes import SQLITE_INDEXES, ChangeScan, sqlite_where
from ._conn import RECORD_SELECT, SQLiteBase, _record_row


class SQLiteChangeReads(SQLiteBase):
    """Change-order reads over the SQLite tables (mixed into ``SQLiteStore``)."""

    _changes_indexed = False
    _changes_lock = threading.Lock()

    def _index_changes(self) -> None:
        with self._changes_lock:
            if not self._changes_indexed:
                for statement in SQLITE_INDEXES:
                    self._query(statement)
                self._changes_indexed = True

    def _scan(
        self, scan: ChangeScan, table: str, limit: int, offset: int, *, links: bool
    ) -> list[dict[str, Any]]:
        if scan.empty or limit <= 0:
            return []
        self._index_changes()
        where, params = sqlite_where(scan, links=links)
        order = "updated_at, source, uuid" if links else "updated_at, source, resource_type, uuid"
        columns = "doc" if links else RECORD_SELECT
        rows = self._query(
            f"SELECT updated_at, {columns} FROM {table} WHERE {where} ORDER BY {order} "
            "LIMIT ? OFFSET ?",
            [*params, limit, max(0, offset)],
        )
        out = []
        for changed_at, *row in rows:
            item = orjson.loads(row[0]) if links else _record_row(tuple(row))
            item["changed_at"] = changed_at
            out.append(item)
        return out

    def _count(self, scan: ChangeScan, table: str, *, links: bool) -> int:
        if scan.empty:
            return 0
        self._index_changes()
        where, params = sqlite_where(scan, links=links)
        return int(self._query(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0][0])

    def scan_records(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self._scan(scan, "medicalrecords", limit, offset, links=False)

    def count_records_scanned(self, scan: ChangeScan) -> int:
        return self._count(scan, "medicalrecords", links=False)

    def scan_patient_links(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self._scan(scan, "patient_links", limit, offset, links=True)

    def count_patient_links_scanned(self, scan: ChangeScan) -> int:
        return self._count(scan, "patient_links", links=True)

    def list_doctors(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT doc FROM doctors ORDER BY source, uuid")
        return [orjson.loads(doc) for (doc,) in rows]

    def list_locations(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT doc FROM locations ORDER BY source, uuid")
        return [orjson.loads(doc) for (doc,) in rows]
