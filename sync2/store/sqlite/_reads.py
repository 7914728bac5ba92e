"""SQLite reads and edits of cursors, patients, records and reference tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from .._codec import KEY_FIELDS, record_blob
from .._types import now_ts
from ._conn import (
    _FIELD_NAME,
    _RECORD_COLUMNS,
    RECORD_SELECT,
    SQLiteBase,
    _chunks,
    _dumps,
    _record_row,
)


class SQLiteReads(SQLiteBase):
    """Cursors, patients and links, records, doctors, locations and hospitals."""

    # -- cursors ---------------------------------------------------------------------------
    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT value FROM syncstatus WHERE source=? AND stream=?", (source, stream)
        )
        return orjson.loads(rows[0][0]) if rows else None

    def get_cursors(self, source: str) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT stream, value FROM syncstatus WHERE source=?", (source,))
        return {stream: orjson.loads(value) for stream, value in rows}

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
            for row in self._query(
                f"SELECT {RECORD_SELECT} FROM medicalrecords WHERE source=? AND resource_type=? "
                f"AND uuid IN ({marks})",
                (source, resource_type, *chunk),
            ):
                found[row[2]] = _record_row(row)
        return found

    def records_for_patient(
        self, patient_id: str, *, include_invalid: bool = True
    ) -> list[dict[str, Any]]:
        sql = f"SELECT {RECORD_SELECT} FROM medicalrecords WHERE patient_id=?"
        if not include_invalid:
            sql += " AND status NOT IN ('entered-in-error', 'superseded')"
        sql += " ORDER BY effective DESC, source, uuid"
        return [_record_row(row) for row in self._query(sql, (patient_id,))]

    def find_records(self, source: str, resource_type: str, **equals: Any) -> list[dict[str, Any]]:
        """Records matching ``equals``: key fields in SQL, any other field on the decoded
        record (the rest of a record is one compressed value, not queryable in SQL)."""
        sql = f"SELECT {RECORD_SELECT} FROM medicalrecords WHERE source=? AND resource_type=?"
        params: list[Any] = [source, resource_type]
        rest: dict[str, Any] = {}
        for key, value in equals.items():
            if key in _RECORD_COLUMNS:
                sql += f" AND {key} IS ?"
                params.append(value)
            else:
                rest[key] = value
        docs = (_record_row(row) for row in self._query(sql, params))
        return [d for d in docs if all(d.get(k) == v for k, v in rest.items())]

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
                f"SELECT {RECORD_SELECT} FROM medicalrecords "
                "WHERE source=? AND resource_type=? AND uuid=?",
                (source, resource_type, uuid),
            ).fetchone()
            if row is None:
                return False
            doc = _record_row(row)
            doc.update(changes)
            doc.update(source=source, resource_type=resource_type, uuid=uuid)
            conn.execute(
                "UPDATE medicalrecords SET doc=?, patient_id=?, patient_uuid=?, type=?, status=?, "
                "effective=?, encounter_uuid=?, content_hash=?, updated_at=? "
                "WHERE source=? AND resource_type=? AND uuid=?",
                (
                    record_blob(doc),
                    *(doc.get(k) for k in KEY_FIELDS[3:]),
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
