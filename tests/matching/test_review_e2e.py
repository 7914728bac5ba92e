"""Issue 3, patient matching: the link review queue over simulated hospitals (real HTTP).

Each review case is queued once (a replay adds nothing), nothing links on names, and each
resolution (``Pipeline.resolve_conflict``) does what it says; one round trip goes through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sync2.cli import app, status_report
from sync2.pipeline import Pipeline
from sync2.store import Conflict, PassportStore

PERSON = {
    "given": "Amina",
    "middle": "",
    "family": "Wanjiru",
    "prefix": "",
    "gender": "F",
    "birthdate": "1988-03-04",
    "birthdate_estimated": False,
}
OTHER = {**PERSON, "given": "Brian", "family": "Otieno", "gender": "M", "birthdate": "1979-11-02"}


def sync(pipeline: Pipeline) -> None:
    summaries = pipeline.sync_all(concurrency=1)
    assert all(s.ok for s in summaries), [s.error for s in summaries]


def reviews(store: PassportStore, state: str | None = "open") -> list[Conflict]:
    return [c for c in store.list_conflicts(state=state) if c.resource_type == "PatientLink"]


def owners(store: PassportStore, source: str, patient_uuid: str) -> set[str | None]:
    """The passport patient of every stored record (obs and encounters) of one source patient."""
    docs = store.find_records(source, "Observation", patient_uuid=patient_uuid)
    docs += store.find_records(source, "Encounter", patient_uuid=patient_uuid)
    assert docs, "the source patient has stored records"
    return {d["patient_id"] for d in docs}


def parked_for(store: PassportStore, patient_uuid: str) -> dict[str, str]:
    """Parked record uuid -> its parked key, for one source patient."""
    return {
        p.record.uuid: p.national_id
        for p in store.list_parked(limit=100_000)
        if p.record.patient_uuid == patient_uuid
    }


def test_parked_records_attach_when_the_portal_registers_the_patient(
    servers: list[Any], make_passport: Any
) -> None:
    _config, store, pipeline = make_passport(servers, matching={"on_unmatched": "park"})
    h = servers[0].hospital
    uuid = h.add_patient("NID-7000-0005", **PERSON)
    obs = {h.add_observation(uuid, "weight", 70), h.add_observation(uuid, "temperature", 37)}
    sync(pipeline)
    waiting = parked_for(store, uuid)
    assert obs <= set(waiting) and set(waiting.values()) == {"NID70000005"}
    assert store.get_patient("NID70000005") is None
    assert store.records_for_patient("NID70000005") == []
    before = store.counts()["parked"]

    store.register_patient("NID70000005", {"name": "Amina Wanjiru"})  # what the portal does

    shown = {r["uuid"] for r in store.records_for_patient("NID70000005")}
    assert obs <= shown and parked_for(store, uuid) == {}
    assert store.counts()["parked"] == before - len(waiting)
    assert owners(store, h.id, uuid) == {"NID70000005"}


@pytest.mark.parametrize("take", ["source", "passport"])
def test_a_changed_national_id_is_reviewed_and_the_link_stays_until_resolved(
    servers: list[Any], make_passport: Any, take: str
) -> None:
    _config, store, pipeline = make_passport(servers)
    h = servers[0].hospital
    uuid = h.add_patient("NID-7000-0001", **PERSON)
    h.add_observation(uuid, "weight", 70)
    sync(pipeline)
    assert store.patient_links(h.id, [uuid]) == {uuid: "NID70000001"}

    h.update_patient(uuid, national_id="NID-7000-0002")
    later = h.add_observation(uuid, "weight", 71)
    sync(pipeline)
    (review,) = reviews(store)
    assert (review.source, review.uuid) == (h.id, f"{h.id}:{uuid}")
    assert review.incoming["case"] == "national-id-changed"
    assert review.incoming["national_id"] == "NID70000002"
    assert review.passport == {"patient_id": "NID70000001"}
    assert review.base is not None and review.base["national_id"] == "NID70000001"
    assert "identifiers" not in review.incoming and "raw" not in review.incoming
    # in review: the link and every record stay on A, B is not created
    assert store.patient_links(h.id, [uuid]) == {uuid: "NID70000001"}
    assert owners(store, h.id, uuid) == {"NID70000001"}
    assert store.get_records(h.id, "Observation", [later])[later]["patient_id"] == "NID70000001"
    assert store.get_patient("NID70000002") is None
    sync(pipeline)
    assert len(reviews(store, state=None)) == 1  # a replay does not queue it twice

    pipeline.resolve_conflict(review.id, take=take)

    target = "NID70000002" if take == "source" else "NID70000001"
    assert reviews(store) == []
    assert store.patient_links(h.id, [uuid]) == {uuid: target}
    assert owners(store, h.id, uuid) == {target}
    if take == "source":
        moved = store.get_patient("NID70000002")
        assert moved is not None and {"source": h.id, "uuid": uuid} in moved["links"]
        assert not [r for r in store.records_for_patient("NID70000001") if r["source"] == h.id]
    else:
        assert store.get_patient("NID70000002") is None
    newest = h.add_observation(uuid, "weight", 72)
    sync(pipeline)
    assert len(reviews(store, state=None)) == 1  # settled: the same situation is not re-queued
    assert store.get_records(h.id, "Observation", [newest])[newest]["patient_id"] == target


@pytest.mark.parametrize("take", ["source", "passport"])
def test_two_patients_of_one_hospital_with_one_national_id(
    servers: list[Any], make_passport: Any, take: str
) -> None:
    config, store, pipeline = make_passport(servers)
    h = servers[0].hospital
    first = h.add_patient("NID-7000-0003", **PERSON)
    h.add_observation(first, "weight", 60)
    sync(pipeline)
    second = h.add_patient("nid 7000 0003", **OTHER)  # the same ID, written differently
    obs = h.add_observation(second, "weight", 90)
    sync(pipeline)

    (review,) = reviews(store)
    assert review.incoming["case"] == "shared-national-id"
    assert review.incoming["other_patient_uuid"] == first
    assert review.passport == {"patient_id": None}
    assert store.patient_links(h.id, [first, second]) == {first: "NID70000003"}
    waiting = parked_for(store, second)
    assert obs in waiting and set(waiting.values()) == {"review:NID70000003"}
    assert store.get_records(h.id, "Observation", [obs]) == {}
    # neither a registration of that ID nor another sync attaches a held patient's records
    store.register_patient("NID70000003", {"note": "seen at the portal"})
    sync(pipeline)
    assert parked_for(store, second) == waiting
    assert len(reviews(store, state=None)) == 1
    assert status_report(config, store)["counts"]["parked"] >= len(waiting)

    pipeline.resolve_conflict(review.id, take=take)

    if take == "source":
        assert store.patient_links(h.id, [first, second]) == {
            first: "NID70000003",
            second: "NID70000003",
        }
        assert parked_for(store, second) == {}
        assert obs in {r["uuid"] for r in store.records_for_patient("NID70000003")}
        assert owners(store, h.id, second) == {"NID70000003"}
    else:
        assert store.patient_links(h.id, [second]) == {}
        assert parked_for(store, second) == waiting
    sync(pipeline)
    assert len(reviews(store, state=None)) == 1


@pytest.mark.parametrize("take", ["source", "passport"])
def test_a_patient_without_national_id_is_proposed_never_linked(
    servers: list[Any], make_passport: Any, take: str
) -> None:
    _config, store, pipeline = make_passport(servers)
    h0, h1 = servers[0].hospital, servers[1].hospital
    known = h0.add_patient("NID-7000-0004", **PERSON)
    h0.add_observation(known, "weight", 55)
    sync(pipeline)
    twin = h1.add_patient(None, **{**PERSON, "given": "AMINA", "family": "wanjiru"})
    obs = h1.add_observation(twin, "weight", 56)
    sync(pipeline)

    (review,) = reviews(store)
    assert review.incoming["case"] == "demographic-candidates"
    assert review.incoming["candidates"] == ["NID70000004"]
    assert review.incoming["national_id"] is None
    assert store.patient_links(h1.id, [twin]) == {}  # names alone never link
    assert parked_for(store, twin).get(obs) == ""
    assert not [r for r in store.records_for_patient("NID70000004") if r["source"] == h1.id]
    sync(pipeline)
    assert len(reviews(store, state=None)) == 1

    pipeline.resolve_conflict(review.id, take=take)

    later = h1.add_observation(twin, "weight", 57)
    sync(pipeline)
    assert len(reviews(store, state=None)) == 1
    if take == "source":
        assert store.patient_links(h1.id, [twin]) == {twin: "NID70000004"}
        assert owners(store, h1.id, twin) == {"NID70000004"}
        shown = {r["uuid"] for r in store.records_for_patient("NID70000004")}
        assert {obs, later} <= shown
        patient = store.get_patient("NID70000004")
        assert patient is not None and h1.id in patient["sources"]
    else:
        assert store.patient_links(h1.id, [twin]) == {}
        assert {obs, later} <= set(parked_for(store, twin))


def test_resolve_a_link_review_through_the_cli(
    servers: list[Any], make_passport: Any, tmp_path: Path
) -> None:
    config, store, pipeline = make_passport(servers)
    h = servers[0].hospital
    first = h.add_patient("NID-7000-0006", **PERSON)
    h.add_observation(first, "weight", 60)
    sync(pipeline)
    second = h.add_patient("NID-7000-0006", **OTHER)
    obs = h.add_observation(second, "weight", 80)
    sync(pipeline)
    path = tmp_path / "sync2.toml"
    path.write_text(
        f'[passport]\nstore = "{config.passport.store}"\n'
        f'[[sources]]\nid = "{h.id}"\nname = "{h.name}"\nbase_url = "{servers[0].url}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    listed = runner.invoke(app, ["conflicts", "list", "--json", "-c", str(path)])
    assert listed.exit_code == 0, listed.output
    (row,) = [r for r in json.loads(listed.output) if r["resource_type"] == "PatientLink"]
    assert row["uuid"] == f"{h.id}:{second}" and row["reason"].startswith("shared-national-id")
    shown = runner.invoke(app, ["conflicts", "show", str(row["id"]), "--json", "-c", str(path)])
    assert shown.exit_code == 0, shown.output
    fields = {f["field"]: f for f in json.loads(shown.output)["fields"]}
    assert fields["national_id"]["incoming"] == "NID70000006"
    assert fields["patient_id"]["passport"] is None
    table = runner.invoke(app, ["conflicts", "show", str(row["id"]), "-c", str(path)])
    assert table.exit_code == 0 and "PatientLink" in table.output
    done = runner.invoke(
        app, ["conflicts", "resolve", str(row["id"]), "--take", "source", "-c", str(path)]
    )
    assert done.exit_code == 0, done.output
    assert "took source" in done.output
    assert store.patient_links(h.id, [second]) == {second: "NID70000006"}
    assert store.get_records(h.id, "Observation", [obs])[obs]["patient_id"] == "NID70000006"
    again = runner.invoke(
        app, ["conflicts", "resolve", str(row["id"]), "--take", "source", "-c", str(path)]
    )
    assert again.exit_code != 0 and "already resolved" in again.output
