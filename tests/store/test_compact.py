"""The compact stored form of a record: what is on disk, and that every reader still gets the
record it wrote, including passports written before the compact form (JSON text on SQLite,
plain ``raw`` / ``sync_state`` fields on MongoDB)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson
import pytest

from conflicts.records import first_sync_state
from mappers.documents import RecordDoc
from sync2._errors import StoreError
from sync2.store import PassportStore, StatusChange, WriteBatch, _codec, open_store
from sync2.store._changes import ChangeScan
from sync2.store._codec import KEY_FIELDS, LAYOUTS, unpack, zstd
from sync2.store.mongodb import MongoStore
from sync2.store.sqlite import SQLiteStore

SRC, OBS = "kigali", "Observation"


@pytest.fixture
def raw_observation(fixtures_dir: Path) -> dict[str, Any]:
    """A real fhir2 Observation (the fixtures' web-test body), as a hospital would send it."""
    resource: dict[str, Any] = json.loads(
        (fixtures_dir / "fhir" / "fhir2_ObservationWebTest_create.json").read_text()
    )
    return resource


def record(uuid: str, raw: dict[str, Any], **kw: Any) -> RecordDoc:
    rec = RecordDoc(
        source=SRC,
        resource_type=OBS,
        uuid=uuid,
        patient_uuid="pat-1",
        type="vital",
        name="Weight",
        value="70",
        unit="kg",
        effective="2024-06-01T10:00:00+00:00",
        hospital="Kigali Hospital",
        doctor="Dr. A",
        encounter_uuid="enc-1",
        codes=[{"system": "http://loinc.org", "code": "29463-7"}],
        data={"testName": "Weight", "result": "70"},
        version="1000",
        content_hash=f"hash-{uuid}",
        raw=raw,
        patient_id="NID1",
        **kw,
    )
    rec.sync_state = first_sync_state(rec)
    return rec


def write_the_old_way(store: PassportStore, rec: RecordDoc) -> None:
    """The record as the store wrote it before the compact form (the previous release's
    statements, spelled out here so the test does not depend on the code under test)."""
    doc = rec.to_dict()
    if isinstance(store, SQLiteStore):
        with store._transaction() as conn:
            conn.execute(
                "INSERT INTO medicalrecords (source, resource_type, uuid, patient_id, "
                "patient_uuid, type, status, effective, encounter_uuid, version_num, "
                "content_hash, doc, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.source,
                    rec.resource_type,
                    rec.uuid,
                    rec.patient_id,
                    rec.patient_uuid,
                    rec.type,
                    rec.status,
                    rec.effective,
                    rec.encounter_uuid,
                    int(rec.version or 0),
                    rec.content_hash,
                    orjson.dumps(doc).decode(),
                    1.0,
                ),
            )
        return
    assert isinstance(store, MongoStore)
    store.db.medicalrecords.insert_one(
        {
            **doc,
            "version_num": int(rec.version or 0),
            "patientId": rec.patient_id,
            "updatedAt": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        }
    )


def test_a_passport_written_before_the_compact_form_still_reads(
    store: PassportStore, raw_observation: dict[str, Any]
) -> None:
    old = record("old-1", raw_observation)
    write_the_old_way(store, old)
    store.apply(WriteBatch(records=[record("new-1", raw_observation)]))
    want = old.to_dict()
    assert store.get_records(SRC, OBS, ["old-1"]) == {"old-1": want}
    assert store.find_records(SRC, OBS, uuid="old-1") == [want]
    assert store.find_records(SRC, OBS, name="Weight", uuid="old-1") == [want]
    by_patient = {d["uuid"]: d for d in store.records_for_patient("NID1")}
    assert by_patient["old-1"] == want
    assert by_patient["new-1"] == record("new-1", raw_observation).to_dict()
    scanned = {d["uuid"] for d in store.scan_records(ChangeScan(resource_types=(OBS,)), limit=10)}
    assert scanned == {"old-1", "new-1"}
    # a void rewrites the old row; its merge base stays the source's ("final")
    store.apply(WriteBatch(status_changes=[StatusChange(SRC, OBS, "old-1", "entered-in-error")]))
    (voided,) = store.find_records(SRC, OBS, uuid="old-1")
    assert voided["status"] == "entered-in-error"
    assert voided["sync_state"]["base_fields"]["status"] == "final"
    assert voided["raw"] == raw_observation


def test_every_reader_gets_the_record_it_wrote(
    store: PassportStore, raw_observation: dict[str, Any]
) -> None:
    plain = record("r1", raw_observation)
    sparse = record("r2", raw_observation, supersedes="r1", based_on=["o-9"], members=["m-1"])
    store.apply(WriteBatch(records=[plain, sparse]))
    assert store.get_records(SRC, OBS, ["r1", "r2"]) == {
        "r1": plain.to_dict(),
        "r2": sparse.to_dict(),
    }
    assert [RecordDoc(**d) for d in store.find_records(SRC, OBS, uuid="r2")] == [sparse]


def test_an_edited_record_keeps_its_own_base(
    store: PassportStore, raw_observation: dict[str, Any]
) -> None:
    store.apply(WriteBatch(records=[record("r1", raw_observation)]))
    assert store.update_record(SRC, OBS, "r1", {"value": "71"})  # another app: no edit mark
    (doc,) = store.find_records(SRC, OBS, uuid="r1")
    assert (doc["value"], doc["sync_state"]["base_fields"]["value"]) == ("71", "70")
    assert doc["sync_state"]["base_hash"] == "hash-r1"
    assert doc["raw"] == raw_observation


@pytest.mark.stores("sqlite")
def test_sqlite_keeps_the_raw_resource_once_compressed(
    store: PassportStore, raw_observation: dict[str, Any]
) -> None:
    rec = record("r1", raw_observation)
    store.apply(WriteBatch(records=[rec]))
    assert isinstance(store, SQLiteStore)
    db = sqlite3.connect(store.path)
    (blob,) = db.execute("SELECT doc FROM medicalrecords WHERE uuid='r1'").fetchone()
    db.close()
    as_text = orjson.dumps(rec.to_dict())
    assert isinstance(blob, bytes) and not blob.startswith(b"{")
    assert b"resourceType" not in blob  # the resource is inside the frame, not beside it
    assert len(blob) * 2 < len(as_text)
    shipped = sorted((Path(_codec.__file__).parent / "dictionaries").glob("*.zdict"))
    assert shipped, "no zstd dictionary ships with the store"
    newest = zstd.ZstdDict(shipped[-1].read_bytes())
    assert zstd.get_frame_info(blob).dictionary_id == newest.dict_id  # compressed against it
    frame = unpack(blob)
    assert frame[0] in LAYOUTS
    assert frame.count(raw_observation) == 1  # the raw resource, once
    assert rec.uuid not in orjson.dumps(frame).decode()  # key columns are not repeated


@pytest.mark.stores("mongowire")
def test_mongodb_packs_the_raw_resource_into_binary(
    store: PassportStore, raw_observation: dict[str, Any]
) -> None:
    store.apply(WriteBatch(records=[record("r1", raw_observation)]))
    assert isinstance(store, MongoStore)
    doc = store.db.medicalrecords.find_one({"uuid": "r1"})
    assert doc is not None
    assert "raw" not in doc and "sync_state" not in doc
    assert unpack(bytes(doc["packed"]))["raw"] == raw_observation
    assert (doc["value"], doc["data"]["testName"], doc["patientId"]) == ("70", "Weight", "NID1")


def test_the_newest_layout_names_every_stored_field() -> None:
    """A RecordDoc field missing from the newest layout would be written keyed (slower); a new
    field needs a new layout, never an edit of a shipped one."""
    stored = {f.name for f in fields(RecordDoc)} - set(KEY_FIELDS)
    assert set(LAYOUTS[max(LAYOUTS)]) == stored


def test_a_frame_needing_an_unknown_dictionary_is_a_clear_error() -> None:
    samples = [
        orjson.dumps({"n": i, "name": f"sample {i % 7}", "v": [i] * (i % 5)}) for i in range(400)
    ]
    other = zstd.train_dict(samples, 1024)
    blob = zstd.compress(orjson.dumps({"n": 1}), zstd_dict=other)
    with pytest.raises(StoreError, match=str(other.dict_id)):
        unpack(blob)


def test_a_record_read_back_does_not_share_its_base(
    store: PassportStore, raw_observation: dict[str, Any]
) -> None:
    """The base restored on reading is a copy: a reader changing the record's ``data`` in place
    (as an edit does before writing it) does not change the base it compares against."""
    store.apply(WriteBatch(records=[record("r1", raw_observation)]))
    (doc,) = store.find_records(SRC, OBS, uuid="r1")
    doc["data"]["result"] = "71"
    assert doc["sync_state"]["base_fields"]["data"]["result"] == "70"


@pytest.mark.stores("sqlite")
def test_a_closing_sqlite_store_leaves_its_wal_empty(
    store_url: str, raw_observation: dict[str, Any]
) -> None:
    """A worker that closes while others keep the passport open folds its WAL in and empties it
    (SQLite itself does that only for the last connection to close)."""
    other = open_store(store_url)
    writer = open_store(store_url)
    assert isinstance(writer, SQLiteStore)
    wal = Path(writer.path + "-wal")
    writer.apply(WriteBatch(records=[record(f"r{i}", raw_observation) for i in range(200)]))
    assert wal.stat().st_size > 0
    writer.close()
    assert wal.stat().st_size == 0
    assert len(other.find_records(SRC, OBS)) == 200
    other.close()
