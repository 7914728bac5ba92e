"""Conflicts on the clinical types: their passport fields live in ``data``, which merges key by
key, and each type can have its own strategy in ``[conflicts] per_type``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conflicts import check_record, edit_changes, synced_record, visible_fields
from mappers import RECORD_RESOURCE_TYPES, MappingContext, RecordDoc, map_resource
from sync2.config import parse_config

CTX = MappingContext(source="central", hospital="Central Hospital")


def _allergy(fixtures_dir: Path) -> dict[str, Any]:
    path = fixtures_dir / "fhir" / "fhir2_AllergyIntoleranceWebTest_update.json"
    resource: dict[str, Any] = json.loads(path.read_text())
    return resource


def _incoming(resource: dict[str, Any]) -> dict[str, Any]:
    doc = map_resource(resource, CTX)
    assert isinstance(doc, RecordDoc)
    return doc.to_dict()


def test_allergy_edits_on_both_sides_merge_field_by_field(fixtures_dir: Path) -> None:
    raw = _allergy(fixtures_dir)
    first = _incoming(raw)
    stored = synced_record(first, visible_fields(first))
    data = {**stored["data"], "severity": "moderate"}  # a doctor corrects the passport
    stored.update(edit_changes(stored, {"data": data}, actor="dr", at="2026-01-01T00:00:00Z"))
    changed = copy.deepcopy(raw)
    changed["note"] = [{"text": "seen again in 2026"}]  # the hospital edits the comment
    decision = check_record(stored, _incoming(changed), strategy="merge")
    assert decision.action == "resolved"
    assert decision.fields["data"]["severity"] == "moderate"
    assert decision.fields["data"]["comment"] == "seen again in 2026"
    assert decision.fields["data"]["allergen"] == raw["code"]["text"]


def test_a_changed_reaction_against_a_corrected_one_is_a_conflict(fixtures_dir: Path) -> None:
    raw = _allergy(fixtures_dir)
    first = _incoming(raw)
    stored = synced_record(first, visible_fields(first))
    data = {**stored["data"], "reactions": [{"manifestations": ["Hives"], "severity": "mild"}]}
    stored.update(edit_changes(stored, {"data": data}, actor="dr", at="2026-01-01T00:00:00Z"))
    changed = copy.deepcopy(raw)
    changed["reaction"][0]["severity"] = "mild"
    decision = check_record(stored, _incoming(changed), strategy="manual")
    assert decision.action == "conflict"


@pytest.mark.parametrize("rtype", RECORD_RESOURCE_TYPES)
def test_every_record_type_takes_its_own_strategy(rtype: str) -> None:
    cfg = parse_config({"conflicts": {"per_type": {rtype: "source-wins"}}}, env={}).conflicts
    assert cfg.strategy_for(rtype) == "source-wins"
    assert cfg.default == "manual"
