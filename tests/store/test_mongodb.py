"""What only the MongoDB store has: the portal's shape, its indexes, duplicate-key answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from mappers.documents import DoctorDoc, PatientDoc, RecordDoc
from sync2._errors import StoreError
from sync2.store import (
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    WriteBatch,
    open_store,
)
from sync2.store.mongodb import MongoStore, _redact

from .conftest import MONGO_STORES

pytestmark = pytest.mark.stores(*MONGO_STORES)

NID = "1199080012345678"
PORTAL_USER = ObjectId()


def record(uuid: str, **kw: Any) -> RecordDoc:
    fields: dict[str, Any] = {
        "source": "kigali",
        "resource_type": "Observation",
        "uuid": uuid,
        "patient_uuid": "pat-1",
        "type": "test",
        "name": "Malaria smear",
        "value": "negative",
        "status": "final",
        "hospital": "Kigali Hospital",
        "doctor": "prov-1",
        "version": "1000",
        "content_hash": f"h-{uuid}",
        "patient_id": NID,
        "data": {"testName": "Malaria smear", "result": "negative"},
    }
    fields.update(kw)
    return RecordDoc(**fields)


def seed_portal(store: MongoStore) -> None:
    """A Patient Passport database as its portal leaves it (Mongoose models, no sync2 keys)."""
    now = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    store.db.patients.insert_many(
        [
            {
                "nationalId": NID,
                "user": PORTAL_USER,
                "bloodType": "O+",
                "createdAt": now,
                "emergencyContact": {"name": "Next Of Kin", "phone": "0788"},
                "__v": 0,
            },
            {"nationalId": "1198870000000000", "user": ObjectId(), "createdAt": now},
        ]
    )
    store.db.medicalrecords.insert_many(
        [
            {
                "patientId": str(PORTAL_USER),
                "type": "condition",
                "createdBy": "doc-1",
                "data": {"name": "Asthma"},
                "createdAt": now,
            },
            {
                "patientId": str(PORTAL_USER),
                "type": "visit",
                "createdBy": "doc-1",
                "data": {"reason": "check-up"},
                "createdAt": now,
            },
        ]
    )
    for name, doc in (
        ("doctors", {"licenseNumber": "L1"}),
        ("hospitals", {"name": "KFH"}),
        ("auditlogs", {"action": "login"}),
        ("syncstatus", {"lastSyncTime": now}),
    ):
        store.db[name].insert_many([dict(doc), dict(doc)])


@pytest.fixture
def portal(store_url: str) -> Iterator[MongoStore]:
    """A fresh store opened on a database the portal already filled (indexes made after)."""
    url = store_url
    first = open_store(url)
    assert isinstance(first, MongoStore)
    for name in first.db.list_collection_names():
        first.db.drop_collection(name)
    seed_portal(first)
    store = open_store(url)  # start-up again: indexes over the portal's documents
    assert isinstance(store, MongoStore)
    yield store
    first.close()
    store.close()


def test_a_sync_write_keeps_the_portals_own_fields(portal: MongoStore) -> None:
    batch = WriteBatch(
        patients=[
            PatientDoc(
                source="kigali",
                uuid="pat-1",
                national_id=NID,
                name="Test Person",
                content_hash="p1",
                patient_id=NID,
            )
        ],
        passport_patients={NID: {"national_id": NID, "name": "Test Person", "gender": "f"}},
        records=[record("obs-1")],
        doctors=[DoctorDoc(source="kigali", uuid="prov-1", name="Dr K", content_hash="d")],
        audit=[AuditEntry(kind="run", message="synced", source="kigali")],
    )
    portal.apply(batch, Cursor("kigali", "feed:obs", {"entry": "e1"}))

    raw = portal.db.patients.find_one({"nationalId": NID})
    assert raw is not None
    assert (raw["user"], raw["bloodType"], raw["emergencyContact"]["name"]) == (
        PORTAL_USER,
        "O+",
        "Next Of Kin",
    )
    assert (raw["name"], raw["gender"]) == ("Test Person", "f")
    assert portal.db.patients.count_documents({}) == 2  # matched by nationalId, not added
    shown = portal.get_patient(NID)
    assert shown is not None
    assert shown["bloodType"] == "O+"
    assert shown["links"] == [{"source": "kigali", "uuid": "pat-1"}]

    mine = portal.db.medicalrecords.find_one({"source": "kigali", "uuid": "obs-1"})
    assert mine is not None
    assert {k: mine[k] for k in ("patientId", "type", "createdBy", "hospital", "status")} == {
        "patientId": NID,
        "type": "test",
        "createdBy": "prov-1",
        "hospital": "Kigali Hospital",
        "status": "final",
    }
    assert mine["data"] == {"testName": "Malaria smear", "result": "negative"}
    assert isinstance(mine["createdAt"], dt.datetime)  # the portal sorts on it
    assert portal.db.medicalrecords.count_documents({"createdBy": "doc-1"}) == 2  # untouched
    assert portal.counts()["medicalrecords"] == 1
    assert [h["name"] for h in portal.list_hospitals()] == []
    assert [e.message for e in portal.list_audit()] == ["synced"]
    assert portal.get_cursor("kigali", "feed:obs") == {"entry": "e1"}


def test_portal_fields_on_a_synced_record_survive_a_new_version(portal: MongoStore) -> None:
    portal.apply(WriteBatch(records=[record("obs-1")]))
    portal.db.medicalrecords.update_one({"uuid": "obs-1"}, {"$set": {"editableBy": ["doc-9"]}})
    res = portal.apply(
        WriteBatch(records=[record("obs-1", version="2000", value="positive", content_hash="h2")])
    )
    assert res.written == 1
    raw = portal.db.medicalrecords.find_one({"uuid": "obs-1"})
    assert raw is not None
    assert (raw["value"], raw["editableBy"]) == ("positive", ["doc-9"])


def index_on(store: MongoStore, collection: str, keys: list[tuple[str, int]]) -> dict[str, Any]:
    """The index of ``collection`` on exactly ``keys``, whatever the server named it."""
    (found,) = [
        info
        for info in store.db[collection].index_information().values()
        if list(info["key"]) == keys
    ]
    return found


def test_indexes_exist_and_start_up_is_repeatable(portal: MongoStore, store_kind: str) -> None:
    # found by keys, not by name: nx-27017 names indexes itself and does not report sparse
    key = index_on(portal, "medicalrecords", [("source", 1), ("resource_type", 1), ("uuid", 1)])
    assert key.get("unique")
    assert key.get("sparse") or store_kind == "mongowire"
    assert index_on(portal, "patients", [("nationalId", 1)]).get("unique")
    portal.ensure_indexes()  # a second worker starting does not fail


def test_losing_upserts_are_counted_stale_or_unchanged(store: MongoStore) -> None:
    store.apply(WriteBatch(records=[record("a", version="5000"), record("b")]))
    res = store.apply(
        WriteBatch(
            records=[
                record("a", version="4000", content_hash="older"),  # duplicate key: stale
                record("b"),  # duplicate key: unchanged
                record("c"),  # new
            ]
        )
    )
    assert (res.written, res.stale, res.unchanged) == (1, 1, 1)


def test_a_replayed_batch_queues_failures_and_conflicts_once(store: MongoStore) -> None:
    def batch() -> WriteBatch:
        return WriteBatch(
            failed=[
                FailedEvent(
                    source="kigali",
                    resource_type="Observation",
                    uuid="u",
                    error="HTTP 500",
                    position={"entry": "e3"},
                )
            ],
            conflicts=[
                Conflict(
                    source="kigali",
                    resource_type="Observation",
                    uuid="u",
                    base=None,
                    passport={"v": 1},
                    incoming={"v": 2},
                )
            ],
        )

    store.apply(batch())
    store.apply(batch())
    assert len(store.list_failed()) == 1
    assert len(store.list_conflicts()) == 1
    done = store.list_failed()[0]
    done.state = "done"
    store.update_failed(done)
    store.apply(batch())  # the same failure later, after the first was resolved: queued again
    assert [f.state for f in store.list_failed()] == ["done", "pending"]


def test_mongomock_urls_share_one_in_memory_server() -> None:
    one, two = open_store("mongomock://shared_check"), open_store("mongomock://shared_check")
    try:
        assert one.acquire_lease("l", "w1", 30)
        assert not two.acquire_lease("l", "w2", 30)
    finally:
        two.close()
        one.close()


def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    url = "mongodb://sync:s3cret@127.0.0.1:1/passport?serverSelectionTimeoutMS=200"
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mongodb://u:pw@h1:27017/db?replicaSet=rs0", "mongodb://u:***@h1:27017/db"),
        (
            "mongodb+srv://cluster.example.org/passport",
            "mongodb+srv://cluster.example.org/passport",
        ),
    ],
)
def test_redact_hides_the_password(url: str, shown: str) -> None:
    assert _redact(url) == shown
