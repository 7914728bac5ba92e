"""The compact stored form of a clinical record: what the store keeps beside its key columns.

A record is ~3 KB of JSON, half of it the raw FHIR resource; as text it filled a SQLite page per
row. Stored, it is one zstd frame of the fields that are not key columns, compressed against a
dictionary trained on passport records (``dictionaries/``), ~0.3 KB. The frame names its
dictionary, so a dictionary once shipped is never removed: a passport keeps reading every
record it wrote. Rows written before this form hold JSON text and are read as before (a type
check on the value, no migration).

``sync_state`` carries the merge base; right after a sync the base *is* the visible content,
so the base fields and the base hash are then not stored twice but restored on reading.
"""

from __future__ import annotations

import sys
from copy import deepcopy
from dataclasses import MISSING, fields
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from conflicts.records import VISIBLE_FIELDS as VISIBLE
from mappers.documents import RecordDoc

from .._errors import StoreError

if sys.version_info >= (3, 14):  # pragma: no cover - the stdlib module, from Python 3.14
    from compression import zstd
else:
    from backports import zstd

#: Compression level: 3 costs ~5 us an obs with the dictionary (1: ~4.3 us, ~5% larger).
LEVEL = 3
_DICTIONARIES = Path(__file__).with_name("dictionaries")
#: The fields of a record that are columns (SQLite) or top-level keys; never in the frame.
KEY_FIELDS = (
    "source",
    "resource_type",
    "uuid",
    "patient_id",
    "patient_uuid",
    "type",
    "status",
    "effective",
    "encounter_uuid",
    "content_hash",
)
_ELIDED = "_same_as_record"  # in a stored sync_state: the keys left out because they repeat
_KEYS = frozenset(KEY_FIELDS)


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(RecordDoc):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = None
    return out


#: Every RecordDoc field with its default: a stored frame omits fields holding their default.
_DEFAULTS = _defaults()
#: The fields a frame holds when they differ from their default, in RecordDoc order.
_PACKED = tuple((k, v) for k, v in _DEFAULTS.items() if k not in _KEYS)
#: The fields ``RecordDoc.to_dict`` always shows (it leaves the sparse ones out while empty):
#: a record read back has these, defaulted when its frame omits them, and no others.
_SHOWN = {
    k: _DEFAULTS[k]
    for k in RecordDoc(
        source="", resource_type="", uuid="", patient_uuid=None, type="", name=""
    ).to_dict()
}


@cache
def _dictionaries() -> dict[int, Any]:
    """Every shipped dictionary by id, digested once (digesting costs more than a decode)."""
    found: dict[int, Any] = {}
    for path in sorted(_DICTIONARIES.glob("*.zdict")):
        zdict = zstd.ZstdDict(path.read_bytes())
        found[zdict.dict_id] = zdict.as_digested_dict
    return found


@cache
def _compressor() -> zstd.ZstdCompressor:
    """One compressor for the process (thread-safe per call), with the newest dictionary."""
    shipped = sorted(_DICTIONARIES.glob("*.zdict"))
    if not shipped:
        return zstd.ZstdCompressor(level=LEVEL)
    newest = zstd.ZstdDict(shipped[-1].read_bytes())
    return zstd.ZstdCompressor(level=LEVEL, zstd_dict=newest)


def pack(value: Any) -> bytes:
    """``value`` as compact JSON in one zstd frame."""
    body = orjson.dumps(value, default=str)
    return _compressor().compress(body, mode=zstd.ZstdCompressor.FLUSH_FRAME)


def unpack(blob: bytes) -> Any:
    """The value of :func:`pack`; raises StoreError naming the dictionary when it is unknown."""
    dict_id = zstd.get_frame_info(blob).dictionary_id
    if dict_id:
        zdict = _dictionaries().get(dict_id)
        if zdict is None:
            msg = f"a stored record needs zstd dictionary {dict_id}, which this sync2 lacks"
            raise StoreError(msg)
        return orjson.loads(zstd.decompress(blob, zstd_dict=zdict))
    return orjson.loads(zstd.decompress(blob))


def payload(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields of a record dict that go into its frame: no key field, no default value,
    and a ``sync_state`` without the base that repeats the record."""
    out = {
        k: v for k, v in doc.items() if k not in _KEYS and (k not in _DEFAULTS or v != _DEFAULTS[k])
    }
    state = out.get("sync_state")
    if state:
        out["sync_state"] = _lighter(
            state, doc.get("content_hash"), {k: doc.get(k) for k in VISIBLE}
        )
    return out


def _lighter(state: dict[str, Any], content_hash: Any, visible: dict[str, Any]) -> dict[str, Any]:
    """``state`` without the base fields and base hash when they repeat the record's own."""
    elided = []
    if state.get("base_fields") == visible:
        elided.append("base_fields")
    if "base_hash" in state and state["base_hash"] == content_hash:
        elided.append("base_hash")
    if not elided:
        return state
    out = {k: v for k, v in state.items() if k not in elided}
    out[_ELIDED] = elided
    return out


def record(keys: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A record dict from its key fields and its frame's payload, in RecordDoc field order."""
    doc = {k: _fresh(v) for k, v in _SHOWN.items()}
    doc.update(keys)
    doc.update(stored)
    state = doc.get("sync_state")
    if isinstance(state, dict) and _ELIDED in state:
        restored = {k: v for k, v in state.items() if k != _ELIDED}
        for name in state[_ELIDED]:
            if name == "base_fields":  # a copy: a reader editing the record leaves its base
                restored["base_fields"] = {k: deepcopy(doc.get(k)) for k in VISIBLE}
            elif name == "base_hash":
                restored["base_hash"] = doc.get("content_hash")
        doc["sync_state"] = restored
    return doc


#: The record fields MongoDB keeps in its frame (``packed``): none is a field the portal reads
#: or a query filters on (``version`` stays beside ``version_num``: DESIGN.md lists it). Its
#: ``sync_state`` keeps the whole base: a status change there is a partial update, and the
#: portal may edit the visible fields in place, so a base left out could not be restored.
MONGO_PACKED = ("raw", "sync_state", "codes", "members", "last_updated")


def _fresh(value: Any) -> Any:
    """A default that the reader may change without changing the shared one."""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return value


#: Frame layouts: a RecordDoc's frame is ``[layout, value, ...]``, its values in the order the
#: layout names them (no keys stored). A layout is never changed once shipped: a new RecordDoc
#: field means a new layout (and until then records fall back to the keyed form).
LAYOUTS: dict[int, tuple[str, ...]] = {
    1: (
        "name",
        "value",
        "unit",
        "hospital",
        "doctor",
        "facility",
        "members",
        "codes",
        "data",
        "version",
        "last_updated",
        "raw",
        "warnings",
        "superseded_by",
        "supersedes",
        "based_on",
        "doctor_uuid",
        "facility_uuid",
        "sync_state",
    )
}
_LAYOUT = max(LAYOUTS)
_FIELDS_OF = attrgetter(*LAYOUTS[_LAYOUT])
_STATE_AT = LAYOUTS[_LAYOUT].index("sync_state") + 1
_VISIBLE_OF = attrgetter(*VISIBLE)
_POSITIONAL = {k for k, _ in _PACKED} == set(LAYOUTS[_LAYOUT])


def record_blob(rec: RecordDoc | dict[str, Any]) -> bytes:
    """The frame of a record (a RecordDoc or a record dict)."""
    return pack(record_value(rec))


def record_value(rec: RecordDoc | dict[str, Any]) -> list[Any] | dict[str, Any]:
    """What a record's frame holds, before compression.

    A RecordDoc is written positionally, its fields read by one ``attrgetter`` (the hot path:
    one call per record written); a dict, which may carry keys of its own, keeps its keys."""
    if not isinstance(rec, RecordDoc) or not _POSITIONAL:
        return payload(rec.to_dict() if isinstance(rec, RecordDoc) else rec)
    values = [_LAYOUT, *_FIELDS_OF(rec)]
    state = values[_STATE_AT]
    if state:
        values[_STATE_AT] = _lighter_tuple(state, rec.content_hash, _VISIBLE_OF(rec))
    return values


def _lighter_tuple(state: dict[str, Any], content_hash: str, visible: tuple[Any, ...]) -> Any:
    """:func:`_lighter`, comparing the base with the record's visible values in one step (the
    engine builds a base in ``VISIBLE`` order; any other base takes the general path)."""
    base = state.get("base_fields")
    if not (isinstance(base, dict) and tuple(base) == VISIBLE and tuple(base.values()) == visible):
        return _lighter(state, content_hash, dict(zip(VISIBLE, visible, strict=True)))
    out = dict(state)
    del out["base_fields"]
    elided = ["base_fields"]
    if out.get("base_hash", 0) == content_hash:
        del out["base_hash"]
        elided.append("base_hash")
    out[_ELIDED] = elided
    return out


def _stored_fields(stored: Any) -> dict[str, Any]:
    """A frame's fields by name, from either form (positional, or keyed)."""
    if isinstance(stored, list):
        names = LAYOUTS.get(stored[0]) if stored else None
        if names is None:
            msg = f"a stored record has an unknown frame layout {stored[:1]!r}"
            raise StoreError(msg)
        return {k: v for k, v in zip(names, stored[1:], strict=True) if v != _DEFAULTS.get(k)}
    return stored  # type: ignore[no-any-return]


def record_from_row(keys: dict[str, Any], stored: bytes | str) -> dict[str, Any]:
    """A record dict from its key columns and its stored value: a frame, or, written before
    the compact form, the whole record as JSON text."""
    if isinstance(stored, str):
        return orjson.loads(stored)  # type: ignore[no-any-return]
    return record(keys, _stored_fields(unpack(stored)))


__all__ = [
    "KEY_FIELDS",
    "pack",
    "payload",
    "record",
    "record_blob",
    "record_from_row",
    "unpack",
]
