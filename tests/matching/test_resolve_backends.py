"""Link resolutions on every store backend (sqlite, mongowire, mongodb when configured).

The end-to-end tests run on SQLite; these check that what a resolution writes (records moved,
parked records re-keyed and attached, the link rewritten) behaves the same on MongoDB.
"""

from __future__ import annotations

from typing import Any

from mappers.documents import PatientDoc, RecordDoc
from sync2.admin.passport_admin import PassportAdmin
from sync2.store import Conflict, ParkedRecord, PassportStore, WriteBatch
from tests.store.conftest import store, store_url

__all__ = ["store", "store_url"]

SRC = "h1"


def person(uuid: str, national_id: str | None, patient_id: str | None) -> PatientDoc:
    return PatientDoc(
        source=SRC,
        uuid=uuid,
        national_id=national_id,
        name="Amina Wanjiru",
        gender="female",
        birth_date="1988-03-04",
        version="1000",
        content_hash=f"hash-{uuid}",
        patient_id=patient_id,
    )


def obs(uuid: str, patient_uuid: str, patient_id: str | None) -> RecordDoc:
    return RecordDoc(
        source=SRC,
        resource_type="Observation",
        uuid=uuid,
        patient_uuid=patient_uuid,
        type="vital",
        name="Weight",
        value="70",
        version="1000",
        content_hash=f"hash-{uuid}",
        patient_id=patient_id,
    )


def review(uuid: str, incoming: dict[str, Any], linked: str | None) -> Conflict:
    return Conflict(
        source=SRC,
        resource_type="PatientLink",
        uuid=f"{SRC}:{uuid}",
        base=None,
        passport={"patient_id": linked},
        incoming={"key": f"{incoming['case']}:x", **incoming},
        reason=incoming["case"],
    )


def only_review(store: PassportStore) -> int:
    (conflict,) = store.list_conflicts()
    assert conflict.id is not None
    return conflict.id


def test_shared_id_take_source_attaches_the_held_records(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            patients=[person("u1", "N1", "N1"), person("u2", "review:N1", None)],
            passport_patients={"N1": {"patient_id": "N1", "name": "Amina Wanjiru"}},
            records=[obs("o1", "u1", "N1")],
            parked=[ParkedRecord("review:N1", obs("o2", "u2", None))],
            conflicts=[review("u2", {"case": "shared-national-id", "national_id": "N1"}, None)],
        )
    )
    admin = PassportAdmin(store, lambda: 0.0)
    admin.resolve_conflict(only_review(store), take="source", actor="ann")
    assert store.patient_links(SRC, ["u1", "u2"]) == {"u1": "N1", "u2": "N1"}
    link = store.get_patient_link(SRC, "u2")
    assert link is not None and link["national_id"] == "N1"  # the review key is gone
    assert store.list_parked() == []
    assert {r["uuid"] for r in store.records_for_patient("N1")} == {"o1", "o2"}
    assert store.list_conflicts() == []


def test_changed_id_take_source_moves_records_and_creates_the_patient(
    store: PassportStore,
) -> None:
    store.apply(
        WriteBatch(
            patients=[person("u1", "N2", "N1")],
            passport_patients={"N1": {"patient_id": "N1", "name": "Amina Wanjiru"}},
            records=[obs("o1", "u1", "N1"), obs("o2", "u1", "N1"), obs("x", "other", "N1")],
            conflicts=[review("u1", {"case": "national-id-changed", "national_id": "N2"}, "N1")],
        )
    )
    PassportAdmin(store, lambda: 0.0).resolve_conflict(only_review(store), take="source")
    assert store.patient_links(SRC, ["u1"]) == {"u1": "N2"}
    created = store.get_patient("N2")
    assert created is not None and created["name"] == "Amina Wanjiru"
    assert {r["uuid"] for r in store.records_for_patient("N2")} == {"o1", "o2"}
    assert {r["uuid"] for r in store.records_for_patient("N1")} == {"x"}


def test_take_passport_changes_nothing_but_the_queue(store: PassportStore) -> None:
    store.apply(
        WriteBatch(
            patients=[person("u1", None, None)],
            parked=[ParkedRecord("", obs("o1", "u1", None))],
            conflicts=[
                review("u1", {"case": "demographic-candidates", "candidates": ["N1"]}, None)
            ],
        )
    )
    done = PassportAdmin(store, lambda: 0.0).resolve_conflict(only_review(store), take="passport")
    assert done.state == "resolved" and done.resolution == "took passport by admin"
    assert store.patient_links(SRC, ["u1"]) == {}
    assert [p.record.uuid for p in store.list_parked()] == ["o1"]
