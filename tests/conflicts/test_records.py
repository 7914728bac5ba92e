"""Record bookkeeping: base hash, passport hash, edits by the CLI and by other apps."""

from __future__ import annotations

from typing import Any

import pytest

from conflicts import (
    canonical_hash,
    check_record,
    edit_changes,
    record_state,
    synced_record,
    visible_fields,
)


def incoming(value: str, *, raw_note: str = "", updated: str | None = None) -> dict[str, Any]:
    raw = {"resourceType": "Observation", "id": "o1", "valueString": value, "note": raw_note}
    return {
        "uuid": "o1",
        "name": "Weight",
        "value": value,
        "unit": "kg",
        "status": "final",
        "data": {"result": value},
        "raw": raw,
        "content_hash": canonical_hash(raw),
        "last_updated": updated,
    }


def stored_after_sync(value: str) -> dict[str, Any]:
    rec = incoming(value)
    return synced_record(rec, visible_fields(rec))


def test_a_synced_record_is_unchanged_on_both_sides() -> None:
    state = record_state(stored_after_sync("70"))
    assert not state.passport_changed
    assert state.base_hash == incoming("70")["content_hash"]


def test_an_edit_by_another_app_is_found_by_the_hash() -> None:
    stored = stored_after_sync("70")
    stored["value"] = "71"  # written straight into the collection, no edit mark
    state = record_state(stored)
    assert state.passport_changed and state.edited_at is None
    assert check_record(stored, incoming("70"), strategy="source-wins").action == "keep"
    assert check_record(stored, incoming("72"), strategy="manual").action == "conflict"


def test_a_status_the_source_set_is_not_a_passport_edit() -> None:
    stored = stored_after_sync("70")
    stored["status"] = "entered-in-error"  # the engine's void handling
    assert not record_state(stored).passport_changed
    assert check_record(stored, incoming("72"), strategy="manual").action == "apply"


@pytest.mark.parametrize(
    ("value", "note", "action"),
    [("70", "", "echo"), ("72", "", "apply"), ("70", "re-rendered", "apply")],
    ids=["same-content", "source-changed", "invisible-source-change"],
)
def test_unedited_record(value: str, note: str, action: str) -> None:
    decision = check_record(
        stored_after_sync("70"), incoming(value, raw_note=note), strategy="manual"
    )
    assert decision.action == action


def test_invisible_source_change_keeps_the_edit_and_moves_the_base() -> None:
    stored = {
        **stored_after_sync("70"),
        **edit_changes(stored_after_sync("70"), {"value": "71"}, actor="a", at="t"),
    }
    change = incoming("70", raw_note="a note the passport does not show")
    decision = check_record(stored, change, strategy="source-wins")
    assert decision.action == "resolved" and decision.fields is not None
    assert decision.fields["value"] == "71"
    out = synced_record(change, decision.fields, stored)
    assert out["sync_state"]["base_hash"] == change["content_hash"]
    assert out["sync_state"]["edited_fields"] == ["value"]
    assert record_state(out).passport_changed  # still a correction the hospital lacks


def test_edit_marks_and_keeps_the_base() -> None:
    stored = stored_after_sync("70")
    changes = edit_changes(
        stored, {"value": "71", "unit": "g"}, actor="ann", at="2024-06-01T00:00:00+00:00"
    )
    edited = {**stored, **changes}
    state = record_state(edited)
    assert state.passport_changed
    assert state.edited_by == "ann" and state.edited_fields == ("value", "unit")
    assert state.base_fields["value"] == "70"
    again = {**edited, **edit_changes(edited, {"name": "Body weight"}, actor="bob", at="later")}
    assert record_state(again).edited_fields == ("name", "value", "unit")
    assert record_state(again).base_fields["value"] == "70"


def test_edit_of_a_record_from_before_the_bookkeeping_takes_its_content_as_base() -> None:
    legacy = incoming("70")  # no sync_state at all
    changes = edit_changes(legacy, {"value": "71"}, actor="ann", at="t")
    assert changes["sync_state"]["base_hash"] == legacy["content_hash"]
    assert changes["sync_state"]["base_fields"]["value"] == "70"


def test_edit_refuses_fields_that_are_not_visible() -> None:
    with pytest.raises(ValueError, match="content_hash"):
        edit_changes(stored_after_sync("70"), {"content_hash": "x"}, actor="a", at="t")


def test_source_wins_clears_the_edit_mark() -> None:
    stored = {
        **stored_after_sync("70"),
        **edit_changes(stored_after_sync("70"), {"value": "71"}, actor="a", at="t"),
    }
    out = synced_record(incoming("72"), visible_fields(incoming("72")), stored)
    assert "edited_by" not in out["sync_state"]
    assert not record_state(out).passport_changed
