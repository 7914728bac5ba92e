"""How sync2's documents sit in the Patient Passport's MongoDB collections, and the filters
that guard an upsert. No I/O: every function here builds or reads a document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bson import Binary, ObjectId
from pymongo import UpdateOne

from mappers.documents import RecordDoc

from .._codec import MONGO_PACKED, pack, unpack
from .._rules import version_number
from .._types import Conflict, FailedEvent

DEFAULT_DB = "passport"
_DUPLICATE_KEY = 11000
# Index option clashes with an index the portal already made (same keys, other options).
_INDEX_CLASH = {85, 86}
_BULK_SIZE = 1000

#: The record's raw resource and merge bookkeeping, compressed (``_codec``): none of it is a
#: field the portal reads, and together they were two thirds of a record's bytes.
PACKED = "packed"
#: Keys we add for the portal or for bookkeeping; readers get the document without them.
_HIDDEN = frozenset({"_id", "__v", "createdAt", "updatedAt"})
_RECORD_HIDDEN = _HIDDEN | {"version_num", "patientId", "createdBy", "syncDate", PACKED}
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
    # a source's last run of a kind (the scheduler looks before each run)
    (
        "auditlogs",
        [("source", 1), ("kind", 1), ("seq", -1)],
        {"name": "sync2_audit_source_kind"},
    ),
)
#: Only our documents count in the collections we share with the portal.
_OURS: dict[str, dict[str, Any]] = {
    "medicalrecords": {"source": {"$exists": True}},
    "doctors": {"source": {"$exists": True}},
    "hospitals": {"source": {"$exists": True}},
    "auditlogs": {"seq": {"$exists": True}},
}


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


def _record_out(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as readers get it: our fields, the packed ones unpacked (a document
    written before they were packed holds them as plain fields)."""
    out = _strip(doc, _RECORD_HIDDEN)
    packed = doc.get(PACKED)
    if packed is not None:
        out.update(unpack(bytes(packed)))
    return out


def _record_set(rec: RecordDoc | dict[str, Any]) -> dict[str, Any]:
    """Our fields of a record, plus the portal projection (``patientId``, ``createdBy``), the
    raw resource and bookkeeping packed into one BSON Binary."""
    doc = rec.to_dict() if isinstance(rec, RecordDoc) else dict(rec)
    doc["version_num"] = version_number(doc.get("version"))
    doc[PACKED] = Binary(pack({k: doc.pop(k) for k in MONGO_PACKED if k in doc}))
    data = doc.get("data") or {}
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
