"""The conflict step in the engine: every strategy, echo suppression, the queue round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sync2.cli import app

from .conftest import Passport, observation, patient

EARLY, LATE = "2024-01-01T00:00:00+00:00", "2030-01-01T00:00:00+00:00"


def synced(make_passport: Any, conflicts: dict[str, Any] | None = None) -> Passport:
    """A passport holding patient p1 (NID-1) and observation o1 = 70 kg from h1."""
    p: Passport = make_passport(conflicts)
    h = p.hospitals["h1"]
    h.put(patient("p1", "NID-1", "Ann"))
    h.put(observation("o1", "p1", 70))
    first = p.sync()
    assert first.ok and first.written == 1
    return p


def hospital_changes(p: Passport, value: float, *, unit: str = "kg", updated: str = LATE) -> None:
    p.hospitals["h1"].put(
        observation("o1", "p1", value, unit=unit, updated=updated, version="2000")
    )


def test_echo_is_not_written_not_audited_and_counted_unchanged(make_passport: Any) -> None:
    p = synced(make_passport)
    before = p.record("o1")
    audit_before = p.audit_kinds()
    p.hospitals["h1"].put(  # re-rendered: new version id and time, same content
        {**observation("o1", "p1", 70), "meta": {"versionId": "1000", "lastUpdated": LATE}}
    )
    again = p.sync()
    assert (again.written, again.unchanged, again.conflicts) == (0, 1, 0)
    assert p.record("o1") == before
    assert p.audit_kinds() == ["sync", *audit_before]  # only the run's own line


def test_only_the_passport_changed_keeps_the_edit(make_passport: Any) -> None:
    p = synced(make_passport, {"default": "source-wins"})
    p.pipeline.edit_record("h1", "Observation", "o1", {"value": "71"}, actor="ann")
    again = p.sync()
    assert (again.written, again.unchanged, again.conflicts) == (0, 1, 0)
    rec = p.record("o1")
    assert rec["value"] == "71" and rec["sync_state"]["edited_by"] == "ann"
    assert "passport-edit" in p.audit_kinds()


def test_only_the_source_changed_applies(make_passport: Any) -> None:
    p = synced(make_passport, {"default": "passport-wins"})
    hospital_changes(p, 72)
    again = p.sync()
    assert (again.written, again.conflicts) == (1, 0)
    assert p.record("o1")["value"] == "72"
    assert p.record("o1")["sync_state"]["base_hash"] == p.record("o1")["content_hash"]


def test_another_app_editing_the_collection_is_detected(make_passport: Any) -> None:
    p = synced(make_passport, {"default": "manual"})
    p.store.update_record("h1", "Observation", "o1", {"value": "71"})  # no edit mark
    hospital_changes(p, 72)
    assert p.sync().conflicts == 1
    assert p.record("o1")["value"] == "71"


@pytest.mark.parametrize(
    ("strategy", "updated", "shown"),
    [
        ("source-wins", EARLY, "72"),
        ("passport-wins", LATE, "71"),
        ("latest-wins", LATE, "72"),  # the hospital changed it after the edit
        ("latest-wins", EARLY, "71"),  # the edit (at the test clock, 2024-06) is later
    ],
)
def test_both_changed_strategies(
    make_passport: Any, strategy: str, updated: str, shown: str
) -> None:
    p = synced(make_passport, {"per_type": {"Observation": strategy}})
    p.pipeline.edit_record("h1", "Observation", "o1", {"value": "71"}, actor="ann")
    hospital_changes(p, 72, updated=updated)
    again = p.sync()
    rec = p.record("o1")
    assert (again.conflicts, rec["value"]) == (0, shown)
    assert rec["sync_state"]["base_fields"]["value"] == "72"  # the new base is the source's
    assert "conflict-resolved" in p.audit_kinds()
    assert p.store.list_conflicts(state=None) == []


def test_merge_combines_changes_to_different_fields(make_passport: Any) -> None:
    p = synced(make_passport, {"per_type": {"Observation": "merge"}})
    p.pipeline.edit_record("h1", "Observation", "o1", {"name": "Body weight"}, actor="ann")
    hospital_changes(p, 72, unit="lb")
    assert p.sync().conflicts == 0
    rec = p.record("o1")
    assert (rec["name"], rec["value"], rec["unit"]) == ("Body weight", "72", "lb")
    assert rec["sync_state"]["edited_fields"] == ["name"]


@pytest.mark.parametrize(("fallback", "value"), [("source-wins", "72"), ("passport-wins", "71")])
def test_merge_overlap_falls_back(make_passport: Any, fallback: str, value: str) -> None:
    p = synced(make_passport, {"per_type": {"Observation": "merge"}, "merge_fallback": fallback})
    p.pipeline.edit_record("h1", "Observation", "o1", {"value": "71", "name": "B"}, actor="ann")
    hospital_changes(p, 72, unit="lb")
    assert p.sync().conflicts == 0
    rec = p.record("o1")
    assert (rec["value"], rec["unit"], rec["name"]) == (value, "lb", "B")


def test_manual_queue_round_trip(make_passport: Any) -> None:
    p = synced(make_passport, {"default": "manual"})
    p.pipeline.edit_record("h1", "Observation", "o1", {"value": "71"}, actor="ann")
    hospital_changes(p, 72)
    first = p.sync()
    assert first.conflicts == 1 and first.written == 0
    assert p.record("o1")["value"] == "71"  # stays as the passport has it
    assert p.sync().conflicts == 1  # the replay is not queued twice
    (conflict,) = p.store.list_conflicts()
    assert conflict.base is not None and conflict.base["value"] == "70"
    assert conflict.passport["value"] == "71" and conflict.incoming["value"] == "72"
    assert p.audit_kinds().count("conflict") == 1

    diff = {r["field"]: r for r in p.pipeline.conflict_diff(conflict.id or 0)}
    assert diff["value"]["changed_by"] == "conflict"
    assert diff["data.result"]["changed_by"] == "source"
    assert diff["unit"]["changed_by"] == ""

    done = p.pipeline.resolve_conflict(conflict.id or 0, take="passport", actor="bob")
    assert done.state == "resolved" and done.resolution == "took passport by bob"
    rec = p.record("o1")
    assert rec["value"] == "71" and rec["content_hash"] == conflict.incoming["content_hash"]
    assert p.sync().written == 0  # the resolution is the new base: no new conflict
    assert p.store.list_conflicts() == []
    resolved = [e for e in p.store.list_audit(kind="conflict-resolved")]
    assert resolved and resolved[0].actor == "bob"
    with pytest.raises(ValueError, match="already resolved"):
        p.pipeline.resolve_conflict(conflict.id or 0, take="source", actor="bob")


def test_resolve_with_a_merged_document(make_passport: Any) -> None:
    p = synced(make_passport)
    p.pipeline.edit_record("h1", "Observation", "o1", {"value": "71"}, actor="ann")
    hospital_changes(p, 72, unit="lb")
    p.sync()
    (conflict,) = p.store.list_conflicts()
    with pytest.raises(ValueError, match="raw"):
        p.pipeline.resolve_conflict(conflict.id or 0, merged={"raw": {}}, actor="bob")
    p.pipeline.resolve_conflict(conflict.id or 0, merged={"value": "71.5"}, actor="bob")
    rec = p.record("o1")
    assert (rec["value"], rec["unit"]) == ("71.5", "kg")  # unit: the passport's, as not given
    assert rec["sync_state"]["edited_by"] == "bob"
    hospital_changes(p, 73, unit="lb")  # the next hospital change of the same field conflicts
    assert p.sync().conflicts == 1


def test_only_the_newest_conflict_of_a_record_can_be_resolved(make_passport: Any) -> None:
    p = synced(make_passport)
    p.pipeline.edit_record("h1", "Observation", "o1", {"value": "71"}, actor="ann")
    hospital_changes(p, 72)
    p.sync()
    p.hospitals["h1"].put(observation("o1", "p1", 73, updated=LATE, version="3000"))
    p.sync()
    old, new = p.store.list_conflicts()
    with pytest.raises(ValueError, match=f"resolve {new.id}"):
        p.pipeline.resolve_conflict(old.id or 0, take="source", actor="bob")
    p.pipeline.resolve_conflict(new.id or 0, take="source", actor="bob")
    assert p.record("o1")["value"] == "73"
    assert p.store.list_conflicts() == []
    closed = p.store.get_conflict(old.id or 0)
    assert closed is not None and closed.resolution == f"superseded by conflict {new.id}"


def test_resolve_rejects_bad_requests(make_passport: Any) -> None:
    p = synced(make_passport)
    with pytest.raises(LookupError):
        p.pipeline.resolve_conflict(999, take="source")
    with pytest.raises(ValueError, match="exactly one"):
        p.pipeline.resolve_conflict(1, take="source", merged={"value": "1"})
    with pytest.raises(ValueError, match="'source' or 'passport'"):
        p.pipeline.resolve_conflict(1, take="hospital")
    with pytest.raises(LookupError):
        p.pipeline.edit_record("h1", "Observation", "nope", {"value": "1"})
    with pytest.raises(ValueError, match="not editable"):
        p.pipeline.edit_record("h1", "Observation", "o1", {"uuid": "x"})


def test_patient_demographics_follow_the_same_rules(make_passport: Any) -> None:
    p = synced(make_passport, {"per_type": {"Patient": "manual"}})
    p.pipeline.edit_patient("NID1", {"birth_date": "1990-02-01"}, actor="ann")
    assert p.sync().conflicts == 0  # the hospital did not change: the correction stays
    assert p.store.get_patient("NID1")["birth_date"] == "1990-02-01"  # type: ignore[index]
    h = p.hospitals["h1"]
    h.put(patient("p1", "NID-1", "Anne", birth="1990-01-03", version="2000", updated=LATE))
    assert p.sync().conflicts == 1
    shown = p.store.get_patient("NID1")
    assert shown is not None and shown["birth_date"] == "1990-02-01"
    assert shown["sources"]["h1"]["birth_date"] == "1990-01-03"  # the hospital's version kept
    (conflict,) = p.store.list_conflicts()
    assert conflict.resource_type == "Patient" and conflict.uuid == "NID1"
    p.pipeline.resolve_conflict(conflict.id or 0, merged={"birth_date": "1990-01-03"}, actor="bob")
    after = p.store.get_patient("NID1")
    assert after is not None
    assert (after["birth_date"], after["given"]) == ("1990-01-03", ["Ann"])
    assert after["demographics_base"]["fields"]["given"] == ["Anne"]


def test_cli_round_trip(make_passport: Any, tmp_path: Path) -> None:
    p = synced(make_passport)
    config = tmp_path / "sync2.toml"
    config.write_text(
        f'[passport]\nstore = "{p.config.passport.store}"\n'
        '[[sources]]\nid = "h1"\nname = "H1"\nbase_url = "http://127.0.0.1/h1"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    edit = runner.invoke(
        app,
        [
            "passport",
            "edit",
            "record",
            "h1",
            "Observation",
            "o1",
            "--set",
            "value=71",
            "--actor",
            "ann",
            "-c",
            str(config),
        ],
    )
    assert edit.exit_code == 0, edit.output
    hospital_changes(p, 72)
    p.sync()
    listed = runner.invoke(app, ["conflicts", "list", "--json", "-c", str(config)])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    shown = runner.invoke(app, ["conflicts", "show", str(row["id"]), "--json", "-c", str(config)])
    fields = {r["field"]: r for r in json.loads(shown.output)["fields"]}
    assert (fields["value"]["passport"], fields["value"]["incoming"]) == ("71", "72")
    table = runner.invoke(app, ["conflicts", "show", str(row["id"]), "-c", str(config)])
    assert table.exit_code == 0 and "value" in table.output
    merged = tmp_path / "merged.json"
    merged.write_text('{"value": "71.5"}', encoding="utf-8")
    bad = runner.invoke(app, ["conflicts", "resolve", str(row["id"]), "-c", str(config)])
    assert bad.exit_code == 2
    ok = runner.invoke(
        app,
        [
            "conflicts",
            "resolve",
            str(row["id"]),
            "--file",
            str(merged),
            "--actor",
            "bob",
            "-c",
            str(config),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert p.record("o1")["value"] == "71.5"
    patient_edit = runner.invoke(
        app, ["passport", "edit", "patient", "NID-1", "--set", "gender=other", "-c", str(config)]
    )
    assert patient_edit.exit_code == 0, patient_edit.output
    assert p.store.get_patient("NID1")["gender"] == "other"  # type: ignore[index]
