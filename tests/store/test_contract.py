"""One contract, every store: what the engine relies on, tested once and run on each backend."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc
from sync2._errors import StoreError
from sync2.store import (
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    PassportStore,
    StatusChange,
    WriteBatch,
)
from sync2.store._base import FAILED_DONE, FAILED_PENDING, FAILED_RETRYING

from .conftest import transactional

SRC = "hospital-a"
OBS = "Observation"


def record(uuid: str, **kw: Any) -> RecordDoc:
    base: dict[str, Any] = {
        "source": SRC,
        "resource_type": OBS,
        "uuid": uuid,
        "patient_uuid": "pat-1",
        "type": "vital",
        "name": "Weight",
        "value": "70",
        "unit": "kg",
        "effective": "2024-06-01T10:00:00",
        "version": "1000",
        "content_hash": f"hash-{uuid}",
        "patient_id": "NID1",
        "data": {"testName": "Weight", "result": "70"},
    }
    base.update(kw)
    return RecordDoc(**base)


def patient(uuid: str = "pat-1", patient_id: str | None = "NID1", **kw: Any) -> PatientDoc:
    fields: dict[str, Any] = {
        "source": SRC,
        "uuid": uuid,
        "national_id": patient_id,
        "name": "Test Person",
        "version": "1000",
        "content_hash": f"p-{uuid}",
        "patient_id": patient_id,
    }
    fields.update(kw)
    return PatientDoc(**fields)


def stored(store: PassportStore, uuid: str) -> dict[str, Any]:
    return store.get_records(SRC, OBS, [uuid])[uuid]


# -- idempotent upsert and the version guard --------------------------------------------------
def test_apply_twice_changes_nothing_the_second_time(store: PassportStore) -> None:
    batch = WriteBatch(records=[record("r1"), record("r2")])
    first = store.apply(batch)
    second = store.apply(batch)
    assert first.written == 2
    assert second.written == 0
    assert second.unchanged + second.stale == 2
    assert stored(store, "r1") == record("r1").to_dict()
    assert store.counts()["medicalrecords"] == 2


def test_newer_version_overwrites_older_never_does(store: PassportStore) -> None:
    store.apply(WriteBatch(records=[record("r1", version="2000", value="70")]))
    newer = store.apply(
        WriteBatch(records=[record("r1", version="3000", value="71", content_hash="h3")])
    )
    older = store.apply(
        WriteBatch(records=[record("r1", version="2500", value="69", content_hash="h25")])
    )
    assert newer.written == 1
    assert older.written == 0
    assert older.unchanged + older.stale == 1
    assert stored(store, "r1")["value"] == "71"
    assert stored(store, "r1")["version"] == "3000"


def test_same_hash_is_not_rewritten_but_a_status_change_is(store: PassportStore) -> None:
    store.apply(WriteBatch(records=[record("r1", version="1000")]))
    # a new version with identical content (a server re-render): nothing to write
    same = store.apply(WriteBatch(records=[record("r1", version="1001")]))
    assert same.written == 0
    assert stored(store, "r1")["version"] == "1000"
    amended = store.apply(WriteBatch(records=[record("r1", version="1002", status="amended")]))
    assert amended.written == 1
    assert stored(store, "r1")["status"] == "amended"


def test_unversioned_record_is_written_when_content_differs(store: PassportStore) -> None:
    store.apply(WriteBatch(records=[record("r1", version=None)]))
    res = store.apply(
        WriteBatch(records=[record("r1", version=None, content_hash="other", value="80")])
    )
    assert res.written == 1
    assert stored(store, "r1")["value"] == "80"


# -- cursors ------------------------------------------------------------------------------------
def test_cursors_commit_with_the_batch_and_can_be_reset(store: PassportStore) -> None:
    assert store.get_cursor(SRC, "feed:patient") is None
    store.apply(WriteBatch(records=[record("r1")]), Cursor(SRC, "feed:patient", {"entry": "e1"}))
    store.apply(WriteBatch(), Cursor(SRC, "fhir:Observation", {"watermark": "2024"}))
    assert store.get_cursor(SRC, "feed:patient") == {"entry": "e1"}
    assert store.get_cursors(SRC) == {
        "feed:patient": {"entry": "e1"},
        "fhir:Observation": {"watermark": "2024"},
    }
    store.set_cursor(Cursor(SRC, "feed:patient", {"entry": "e9", "via": "/p/3"}))
    assert store.get_cursor(SRC, "feed:patient") == {"entry": "e9", "via": "/p/3"}
    assert store.get_cursors("other-hospital") == {}


def test_a_crash_before_the_cursor_only_replays(
    store: PassportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = WriteBatch(records=[record("r1"), record("r2")])
    cursor = Cursor(SRC, "feed:obs", {"entry": "e2"})
    store.apply(WriteBatch(), Cursor(SRC, "feed:obs", {"entry": "e0"}))

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_write_cursor", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        store.apply(batch, cursor)
    monkeypatch.undo()

    assert store.get_cursor(SRC, "feed:obs") == {"entry": "e0"}  # never ahead of the data
    kept = store.get_records(SRC, OBS, ["r1", "r2"])
    if transactional(store):
        assert kept == {}  # batch and cursor rolled back together
    else:
        assert set(kept) == {"r1", "r2"}  # records first, then the cursor
    replay = store.apply(batch, cursor)
    assert replay.written == (2 if transactional(store) else 0)
    assert store.get_cursor(SRC, "feed:obs") == {"entry": "e2"}
    assert store.get_records(SRC, OBS, ["r1", "r2"]) == {
        "r1": record("r1").to_dict(),
        "r2": record("r2").to_dict(),
    }


# -- patients ---------------------------------------------------------------------------------
def test_patients_links_and_the_merged_passport_patient(store: PassportStore) -> None:
    assert store.get_patient("NID1") is None
    batch = WriteBatch(
        patients=[
            patient("pat-1"),
            patient("pat-9", source="hospital-b"),
            patient("pat-x", patient_id=None),
        ],
        passport_patients={"NID1": {"national_id": "NID1", "name": "Test Person", "gender": "f"}},
    )
    store.apply(batch)
    store.apply(WriteBatch(passport_patients={"NID1": {"name": "Test P. Person"}}))
    got = store.get_patient("NID1")
    assert got is not None
    assert got["name"] == "Test P. Person"
    assert got["gender"] == "f"  # a field the second write did not send stays
    assert got["links"] == [
        {"source": SRC, "uuid": "pat-1"},
        {"source": "hospital-b", "uuid": "pat-9"},
    ]
    assert store.patient_links(SRC, ["pat-1", "pat-x", "nobody"]) == {"pat-1": "NID1"}
    assert store.patient_links(SRC, []) == {}


def test_patient_link_version_guard(store: PassportStore) -> None:
    store.apply(WriteBatch(patients=[patient("pat-1", version="2000")]))
    store.apply(
        WriteBatch(
            patients=[patient("pat-1", version="1000", patient_id="NID2", content_hash="old")]
        )
    )
    assert store.patient_links(SRC, ["pat-1"]) == {"pat-1": "NID1"}
    store.apply(
        WriteBatch(
            patients=[patient("pat-1", version="3000", patient_id="NID3", content_hash="new")]
        )
    )
    assert store.patient_links(SRC, ["pat-1"]) == {"pat-1": "NID3"}


def test_get_patient_link_linked_unlinked_and_unknown(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            patients=[patient("pat-1"), patient("pat-x", patient_id=None, national_id="NID9")]
        )
    )
    linked = store.get_patient_link(SRC, "pat-1")
    held = store.get_patient_link(SRC, "pat-x")
    assert linked is not None and held is not None
    assert (linked["patient_id"], linked["national_id"], linked["name"]) == (
        "NID1",
        "NID1",
        "Test Person",
    )
    assert (held["patient_id"], held["national_id"]) == (None, "NID9")
    assert store.get_patient_link(SRC, "nobody") is None
    assert store.get_patient_link("hospital-b", "pat-1") is None


def test_find_patients_by_top_level_fields(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            passport_patients={
                "NID1": {"patient_id": "NID1", "birth_date": "1990-02-01", "gender": "female"},
                "NID2": {"patient_id": "NID2", "birth_date": "1990-02-01", "gender": "male"},
                "NID3": {"patient_id": "NID3", "birth_date": "1991-02-01", "gender": "female"},
            }
        )
    )
    found = store.find_patients(birth_date="1990-02-01", gender="female")
    assert [p["patient_id"] for p in found] == ["NID1"]
    assert "links" not in found[0]
    both = store.find_patients(birth_date="1990-02-01")
    assert [p["patient_id"] for p in both] == ["NID1", "NID2"]
    assert store.find_patients(birth_date="2000-01-01") == []
    with pytest.raises(ValueError, match="field name"):
        store.find_patients(**{"$where": "1"})


# -- queries for passport show ---------------------------------------------------------------
def test_records_for_patient_newest_first_and_without_invalid(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            records=[
                record("old", effective="2023-01-01T00:00:00"),
                record("new", effective="2024-12-01T00:00:00"),
                record("gone", effective="2024-06-01T00:00:00", status="entered-in-error"),
                record("other", patient_id="NID2"),
            ]
        )
    )
    all_uuids = [r["uuid"] for r in store.records_for_patient("NID1")]
    valid = [r["uuid"] for r in store.records_for_patient("NID1", include_invalid=False)]
    assert all_uuids == ["new", "gone", "old"]
    assert valid == ["new", "old"]
    assert store.records_for_patient("NOBODY") == []


def test_find_records_by_column_and_by_document_field(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            records=[
                record("a", encounter_uuid="enc-1", type="test"),
                record("b", encounter_uuid="enc-1", name="Height"),
                record("c", encounter_uuid="enc-2"),
            ]
        )
    )
    assert {r["uuid"] for r in store.find_records(SRC, OBS, encounter_uuid="enc-1")} == {"a", "b"}
    assert [r["uuid"] for r in store.find_records(SRC, OBS, name="Height")] == ["b"]
    assert [r["uuid"] for r in store.find_records(SRC, OBS, type="test")] == ["a"]
    assert store.find_records(SRC, "Encounter", encounter_uuid="enc-1") == []


def test_a_parked_record_voided_at_its_source_attaches_as_not_valid(
    store: PassportStore,
) -> None:
    store.apply(
        WriteBatch(parked=[ParkedRecord("NIDP", record("p1")), ParkedRecord("NIDP", record("p2"))])
    )
    store.apply(
        WriteBatch(
            status_changes=[
                StatusChange(SRC, OBS, "p1", "entered-in-error", "voided at the source"),
                StatusChange(SRC, OBS, "p2", "superseded", superseded_by="p3"),
            ]
        )
    )
    store.register_patient("NIDP", {"name": "Pat"})
    got = {r["uuid"]: r for r in store.records_for_patient("NIDP")}
    assert got["p1"]["status"] == "entered-in-error"
    assert got["p2"]["status"] == "superseded" and got["p2"]["superseded_by"] == "p3"
    assert store.records_for_patient("NIDP", include_invalid=False) == []


def test_count_records_all_and_valid_only(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            records=[record("a"), record("b", status="entered-in-error"), record("c")],
            status_changes=[StatusChange(SRC, OBS, "c", "superseded", superseded_by="a")],
        )
    )
    assert store.count_records(SRC, OBS) == 3
    assert store.count_records(SRC, OBS, valid_only=True) == 1
    assert store.count_records(SRC, "Encounter") == 0
    assert store.count_records("elsewhere", OBS) == 0


def test_list_record_uuids_pages_by_uuid(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            records=[record(u) for u in ("d", "a", "c", "b")]
            + [record("e", status="entered-in-error")]
        )
    )
    assert store.list_record_uuids(SRC, OBS, limit=2) == ["a", "b"]
    assert store.list_record_uuids(SRC, OBS, after="b", limit=10) == ["c", "d"]
    assert store.list_record_uuids(SRC, OBS, after="b", valid_only=False) == ["c", "d", "e"]
    assert store.list_record_uuids(SRC, OBS, after="d") == []
    assert store.list_record_uuids(SRC, "Encounter") == []


def test_update_record_outside_a_sync(store: PassportStore) -> None:
    store.apply(WriteBatch(records=[record("r1")]))
    assert store.update_record(SRC, OBS, "r1", {"status": "amended", "note": "fixed by hand"})
    assert not store.update_record(SRC, OBS, "missing", {"status": "amended"})
    got = stored(store, "r1")
    assert (got["status"], got["note"], got["value"]) == ("amended", "fixed by hand", "70")
    assert [r["uuid"] for r in store.find_records(SRC, OBS, status="amended")] == ["r1"]


def test_doctors_locations_and_hospitals(store: PassportStore) -> None:
    doc = DoctorDoc(source=SRC, uuid="d1", name="Dr A", version="2000", content_hash="x")
    loc = LocationDoc(source=SRC, uuid="l1", name="Ward", part_of="l0", content_hash="y")
    store.apply(WriteBatch(doctors=[doc], locations=[loc]))
    store.apply(
        WriteBatch(
            doctors=[
                DoctorDoc(source=SRC, uuid="d1", name="Dr Old", version="1000", content_hash="z")
            ]
        )
    )
    assert store.get_doctors(SRC, ["d1", "d2"]) == {"d1": doc.to_dict()}
    assert store.get_doctors(SRC, []) == {}
    assert store.get_locations(SRC) == {"l1": loc.to_dict()}
    assert store.get_locations("other") == {}
    store.upsert_hospital("b-hosp", {"source": "b-hosp", "name": "B"})
    store.upsert_hospital("a-hosp", {"source": "a-hosp", "name": "A"})
    store.upsert_hospital("a-hosp", {"source": "a-hosp", "name": "A (renamed)"})
    assert [(h["source"], h["name"]) for h in store.list_hospitals()] == [
        ("a-hosp", "A (renamed)"),
        ("b-hosp", "B"),
    ]


# -- corrections --------------------------------------------------------------------------------
def test_status_changes_and_superseded_is_not_downgraded(store: PassportStore) -> None:
    store.apply(WriteBatch(records=[record("edited"), record("voided")]))
    store.apply(
        WriteBatch(
            status_changes=[
                StatusChange(
                    SRC, OBS, "edited", "superseded", "edited at source", superseded_by="new"
                ),
                StatusChange(SRC, OBS, "voided", "entered-in-error", "voided at source"),
                StatusChange(SRC, OBS, "never-seen", "entered-in-error"),
            ]
        )
    )
    # OpenMRS voids the old obs when it edits: that void must not hide the edit
    store.apply(
        WriteBatch(
            status_changes=[
                StatusChange(SRC, OBS, "edited", "entered-in-error", "voided at source"),
                StatusChange(SRC, OBS, "voided", "entered-in-error", "voided at source"),
            ]
        )
    )
    edited, voided = stored(store, "edited"), stored(store, "voided")
    assert (edited["status"], edited["superseded_by"]) == ("superseded", "new")
    assert voided["status"] == "entered-in-error"
    assert voided["warnings"] == ["voided at source"]  # the repeat did not add it twice
    assert store.get_records(SRC, OBS, ["never-seen"]) == {}


# -- parked records ----------------------------------------------------------------------------
def test_parked_records_attach_when_the_patient_arrives_in_a_batch(store: PassportStore) -> None:
    waiting = record("p1", patient_id=None, patient_uuid="pat-1")
    store.apply(WriteBatch(parked=[ParkedRecord("NID1", waiting)]))
    store.apply(WriteBatch(parked=[ParkedRecord("NID1", waiting)]))  # parked once, not twice
    assert [(p.national_id, p.record.uuid) for p in store.list_parked()] == [("NID1", "p1")]
    assert store.get_records(SRC, OBS, ["p1"]) == {}

    res = store.apply(
        WriteBatch(patients=[patient("pat-1")], passport_patients={"NID1": {"national_id": "NID1"}})
    )
    assert res.attached_from_parked == 1
    assert stored(store, "p1")["patient_id"] == "NID1"
    assert store.list_parked() == []
    assert [r["uuid"] for r in store.records_for_patient("NID1")] == ["p1"]


def test_parked_counts_per_source_without_reading_documents(store: PassportStore) -> None:
    assert store.parked_per_source() == {}
    other = record("q1", patient_id=None)
    other.source = "other-hospital"
    store.apply(
        WriteBatch(
            parked=[
                ParkedRecord("NID1", record("p1", patient_id=None)),
                ParkedRecord("NID2", record("p2", patient_id=None)),
                ParkedRecord("NID3", other),
            ]
        )
    )
    assert store.parked_per_source() == {SRC: 2, "other-hospital": 1}  # three parked, by hand


def test_parked_records_attach_when_the_portal_registers_the_patient(
    store: PassportStore,
) -> None:
    store.apply(
        WriteBatch(
            parked=[
                ParkedRecord("NID7", record("p1", patient_id=None)),
                ParkedRecord("NID8", record("p2", patient_id=None)),
            ]
        )
    )
    store.register_patient("NID7", {"name": "Registered At Portal"})
    assert store.get_patient("NID7")["name"] == "Registered At Portal"  # type: ignore[index]
    assert stored(store, "p1")["patient_id"] == "NID7"
    assert [p.record.uuid for p in store.list_parked()] == ["p2"]
    assert len(store.list_parked(limit=0)) == 0


# -- failed events ------------------------------------------------------------------------------
def test_failed_event_lifecycle(store: PassportStore) -> None:
    bad = FailedEvent(
        source=SRC,
        resource_type=OBS,
        uuid="u1",
        error="HTTP 500",
        stream="feed",
        action="UPDATED",
        payload_ref="/ws/fhir2/R4/Observation/u1",
        position={"entry": "e5"},
    )
    nameless = FailedEvent(source="hospital-b", resource_type=None, uuid=None, error="no id")
    store.apply(WriteBatch(failed=[bad, nameless]))
    pending = store.list_failed(states=[FAILED_PENDING])
    assert [(f.source, f.uuid) for f in pending] == [(SRC, "u1"), ("hospital-b", None)]
    first = pending[0]
    assert first.id is not None
    assert first.position == {"entry": "e5"}
    assert store.open_failed_keys(SRC) == {(OBS, "u1")}
    assert store.open_failed_keys("hospital-b") == set()  # nothing to keep in order

    first.state, first.attempts, first.next_attempt_at = FAILED_RETRYING, 1, 123.0
    first.error = "HTTP 503"
    store.update_failed(first)
    again = store.get_failed(first.id)
    assert again is not None
    assert (again.state, again.attempts, again.next_attempt_at, again.error) == (
        FAILED_RETRYING,
        1,
        123.0,
        "HTTP 503",
    )
    assert store.open_failed_keys(SRC) == {(OBS, "u1")}

    again.state = FAILED_DONE
    store.update_failed(again)
    assert store.open_failed_keys(SRC) == set()
    assert [f.uuid for f in store.list_failed(source=SRC)] == ["u1"]
    assert store.list_failed(states=[FAILED_RETRYING]) == []
    assert len(store.list_failed(limit=1)) == 1
    assert store.get_failed(10_000) is None
    with pytest.raises(StoreError):
        store.update_failed(FailedEvent(source=SRC, resource_type=None, uuid=None, error="x"))


# -- conflicts ----------------------------------------------------------------------------------
def test_conflict_open_and_close(store: PassportStore) -> None:
    conflict = Conflict(
        source=SRC,
        resource_type=OBS,
        uuid="r1",
        base={"v": 1},
        passport={"v": 2},
        incoming={"v": 3},
        reason="both changed",
    )
    store.apply(WriteBatch(conflicts=[conflict]))
    opened = store.list_conflicts()
    assert [(c.uuid, c.passport, c.incoming, c.base) for c in opened] == [
        ("r1", {"v": 2}, {"v": 3}, {"v": 1})
    ]
    cid = opened[0].id
    assert cid is not None
    store.close_conflict(cid, "keep-passport")
    assert store.list_conflicts() == []
    closed = store.get_conflict(cid)
    assert closed is not None
    assert (closed.state, closed.resolution) == ("resolved", "keep-passport")
    assert [c.id for c in store.list_conflicts(state=None)] == [cid]
    assert store.get_conflict(cid + 1000) is None


# -- audit --------------------------------------------------------------------------------------
def test_audit_list_filter_and_prune(store: PassportStore) -> None:
    now = time.time()
    store.add_audit(AuditEntry(kind="run", message="old run", source=SRC, ts=now - 100))
    store.apply(
        WriteBatch(
            audit=[
                AuditEntry(kind="failure", message="bad obs", source=SRC, details={"uuid": "u1"}),
                AuditEntry(kind="run", message="run b", source="hospital-b"),
            ]
        )
    )
    assert [e.message for e in store.list_audit()] == ["run b", "bad obs", "old run"]
    assert [e.message for e in store.list_audit(kind="run")] == ["run b", "old run"]
    assert [e.message for e in store.list_audit(source=SRC, limit=1)] == ["bad obs"]
    assert store.list_audit(kind="failure")[0].details == {"uuid": "u1"}
    assert store.prune_audit(now - 50) == 1
    assert [e.message for e in store.list_audit()] == ["run b", "bad obs"]


# -- counts -------------------------------------------------------------------------------------
def test_counts_per_collection(store: PassportStore) -> None:
    empty = store.counts()
    assert set(empty) >= {
        "patients",
        "medicalrecords",
        "failed_events",
        "parked",
        "conflicts",
        "auditlogs",
    }
    assert all(n == 0 for n in empty.values())
    store.apply(
        WriteBatch(
            patients=[patient()],
            passport_patients={"NID1": {"national_id": "NID1"}},
            records=[record("a"), record("b")],
            parked=[ParkedRecord("NID9", record("c", patient_id=None))],
            failed=[FailedEvent(source=SRC, resource_type=OBS, uuid="x", error="e")],
            audit=[AuditEntry(kind="run", message="m")],
        )
    )
    counts = store.counts()
    assert (counts["patients"], counts["patient_links"], counts["medicalrecords"]) == (1, 1, 2)
    assert (counts["parked"], counts["failed_events"], counts["auditlogs"]) == (1, 1, 1)


# -- leases -------------------------------------------------------------------------------------
def test_lease_is_exclusive_renewable_and_expires(store: PassportStore) -> None:
    assert store.acquire_lease("source:a", "w1", 30)
    assert store.acquire_lease("source:a", "w1", 30)  # re-entrant for its owner
    assert not store.acquire_lease("source:a", "w2", 30)
    assert store.acquire_lease("source:b", "w2", 30)  # other sources are free
    assert store.renew_lease("source:a", "w1", 30)
    assert not store.renew_lease("source:a", "w2", 30)
    store.release_lease("source:a", "w2")  # not the owner: no effect
    assert not store.acquire_lease("source:a", "w2", 30)
    store.release_lease("source:a", "w1")
    assert store.acquire_lease("source:a", "w2", 0.05)
    time.sleep(0.1)
    assert not store.renew_lease("source:a", "w2", 30)  # expired: lost, not silently kept
    assert store.acquire_lease("source:a", "w3", 30)  # taken over after expiry
