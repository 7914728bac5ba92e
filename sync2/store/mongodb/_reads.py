"""MongoDB reads and edits of cursors, patients, records and reference collections."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING

from mappers.documents import INVALID_STATUSES

from .._codec import MONGO_PACKED
from ._conn import MongoBase
from ._docs import (
    _DOC_HIDDEN,
    _HIDDEN,
    PACKED,
    _not,
    _record_out,
    _record_set,
    _strip,
    _utcnow,
)


class MongoReads(MongoBase):
    """Cursors, patients and links, records, doctors, locations and hospitals."""

    # -- cursors ---------------------------------------------------------------------------
    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None:
        with self._errors("read"):
            doc = self._col("syncstatus").find_one({"source": source, "stream": stream})
        return dict(doc["value"]) if doc else None

    def get_cursors(self, source: str) -> dict[str, dict[str, Any]]:
        with self._errors("read"):
            docs = list(self._col("syncstatus").find({"source": source}))
        return {d["stream"]: dict(d["value"]) for d in docs if "stream" in d}

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
            return {d["uuid"]: _record_out(d) for d in docs}

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
            return [_record_out(d) for d in docs]

    def find_records(self, source: str, resource_type: str, **equals: Any) -> list[dict[str, Any]]:
        with self._errors("read"):
            docs = self._col("medicalrecords").find(
                {"source": source, "resource_type": resource_type, **equals}
            )
            return [_record_out(d) for d in docs]

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
            merged = {**_record_out(doc), **changes}
            projection = _record_set(merged)
            fields = {**changes, "updatedAt": _utcnow()}
            for derived in ("version_num", "patientId", "createdBy", PACKED):
                fields[derived] = projection[derived]
            for packed in MONGO_PACKED:  # now inside PACKED (a document older than it)
                fields.pop(packed, None)
            unset = {k: "" for k in MONGO_PACKED if k in doc}
            update: dict[str, Any] = {"$set": fields}
            if unset:
                update["$unset"] = unset
            self._col("medicalrecords").update_one(key, update)
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
