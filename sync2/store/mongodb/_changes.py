"""MongoDB reads in change order; the index each scan needs is made on the first such read, so
a passport that never serves FHIR pays nothing for it on every write."""

from __future__ import annotations

from typing import Any

from .._changes import (
    MONGO_INDEXES,
    MONGO_LINK_ORDER,
    MONGO_RECORD_ORDER,
    ChangeScan,
    mongo_changed_at,
    mongo_filter,
)
from ._conn import MongoBase
from ._docs import _DOC_HIDDEN, _record_out, _strip


class MongoChangeReads(MongoBase):
    """Change-order reads over the MongoDB collections (mixed into ``MongoStore``)."""

    _changes_indexed = False

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
        if scan.empty or limit <= 0:
            return []
        self._index_changes()
        order = MONGO_LINK_ORDER if links else MONGO_RECORD_ORDER
        hidden = _DOC_HIDDEN | {"updated_at"}
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
                item = _strip(doc, hidden) if links else _record_out(doc)
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
        with self._errors("read"):
            docs = self._col(collection).find({"source": {"$exists": True}})
            return [_strip(d, _DOC_HIDDEN) for d in docs.sort([("source", 1), ("uuid", 1)])]

    def list_doctors(self) -> list[dict[str, Any]]:
        return self._list_all("doctors")

    def list_locations(self) -> list[dict[str, Any]]:
        return self._list_all("locations")
