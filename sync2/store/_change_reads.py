"""The change-order reads of each backend, as mixins, so the backends' own modules only name them.

The index each scan needs is created the first time the passport is read in change order, so a
passport that never serves FHIR pays nothing for it on every write.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from ._changes import (
    MONGO_INDEXES,
    MONGO_LINK_ORDER,
    MONGO_RECORD_ORDER,
    SQLITE_INDEXES,
    ChangeScan,
    mongo_changed_at,
    mongo_filter,
    sqlite_where,
)


class SQLiteChangeReads:
    """Change-order reads over the SQLite tables (mixed into ``SQLiteStore``)."""

    _changes_indexed = False
    _changes_lock = threading.Lock()

    def _query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:  # pragma: no cover
        raise NotImplementedError

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
        rows = self._query(
            f"SELECT doc, updated_at FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, max(0, offset)],
        )
        out = []
        for doc, changed_at in rows:
            item = orjson.loads(doc)
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


class MongoChangeReads:
    """Change-order reads over the MongoDB collections (mixed into ``MongoStore``)."""

    _changes_indexed = False

    def _col(self, name: str) -> Any:  # pragma: no cover - provided by MongoStore
        raise NotImplementedError

    def _errors(self, what: str) -> Any:  # pragma: no cover - provided by MongoStore
        raise NotImplementedError

    def _index_changes(self) -> None:
        if self._changes_indexed:
            return
        with self._errors("index creation"):
            for collection, keys, options in MONGO_INDEXES:
                self._col(collection).create_index(keys, **options)
        self._changes_indexed = True

    def _mongo_scan(
        self, scan: ChangeScan, collection: str, limit: int, offset: int, *, links: bool
    ) -> list[dict[str, Any]]:
        from .mongodb import _DOC_HIDDEN, _RECORD_HIDDEN, _strip  # the backend's own view

        if scan.empty or limit <= 0:
            return []
        self._index_changes()
        order = MONGO_LINK_ORDER if links else MONGO_RECORD_ORDER
        hidden = (_DOC_HIDDEN | {"updated_at"}) if links else _RECORD_HIDDEN
        with self._errors("read"):
            docs = (
                self._col(collection)
                .find(mongo_filter(scan, links=links))
                .sort(order)
                .skip(max(0, offset))
                .limit(limit)
            )
            out = []
            for doc in docs:
                item = _strip(doc, hidden)
                item["changed_at"] = mongo_changed_at(doc, links=links)
                out.append(item)
            return out

    def scan_records(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self._mongo_scan(scan, "medicalrecords", limit, offset, links=False)

    def count_records_scanned(self, scan: ChangeScan) -> int:
        if scan.empty:
            return 0
        with self._errors("count"):
            return int(self._col("medicalrecords").count_documents(mongo_filter(scan, links=False)))

    def scan_patient_links(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self._mongo_scan(scan, "patient_links", limit, offset, links=True)

    def count_patient_links_scanned(self, scan: ChangeScan) -> int:
        if scan.empty:
            return 0
        with self._errors("count"):
            return int(self._col("patient_links").count_documents(mongo_filter(scan, links=True)))

    def _list_all(self, collection: str) -> list[dict[str, Any]]:
        from .mongodb import _DOC_HIDDEN, _strip

        with self._errors("read"):
            docs = self._col(collection).find({"source": {"$exists": True}})
            return [_strip(d, _DOC_HIDDEN) for d in docs.sort([("source", 1), ("uuid", 1)])]

    def list_doctors(self) -> list[dict[str, Any]]:
        return self._list_all("doctors")

    def list_locations(self) -> list[dict[str, Any]]:
        return self._list_all("locations")
