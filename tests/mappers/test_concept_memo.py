"""The per-source concept memo changes no mapped record: every observation maps to the same
document with a memo shared across thousands of observations as with a fresh context each time
(the definition: nothing remembered)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mappers import MappingContext, bundle_resources, map_resource
from sync2.simulator import generate_hospitals


def _fresh(ctx: MappingContext) -> MappingContext:
    return MappingContext(source=ctx.source, hospital=ctx.hospital, encounters=ctx.encounters)


def _same_with_and_without_memo(observations: list[dict[str, Any]]) -> int:
    shared = MappingContext(source="s", hospital="Hospital")
    for obs in observations:
        remembered = map_resource(obs, shared)
        alone = map_resource(copy.deepcopy(obs), _fresh(shared))
        assert remembered is not None and alone is not None
        assert remembered.to_dict() == alone.to_dict(), obs.get("id")
    return len(shared.memo)


def test_simulated_hospital_observations_map_the_same_with_the_memo() -> None:
    hospital = generate_hospitals(n=1, patients=30, obs_per_patient=30, seed=5)[0]
    observations = hospital.valid_observations()
    assert len(observations) > 500
    concepts = _same_with_and_without_memo(observations)
    assert 1 < concepts < len(observations)  # the memo was shared, not one entry per obs


def test_fixture_observations_map_the_same_with_the_memo(fixtures_dir: Path) -> None:
    observations = []
    for path in sorted((fixtures_dir / "fhir").glob("*.json")):
        data = json.loads(path.read_text())
        items = list(bundle_resources(data)) if data.get("resourceType") == "Bundle" else [data]
        observations += [
            {"id": f"{path.stem}-{i}", **item}
            for i, item in enumerate(items)
            if item.get("resourceType") == "Observation"
        ]
    assert observations
    _same_with_and_without_memo(observations + observations)  # the second pass hits the memo


def test_one_concept_in_two_categories_is_two_entries() -> None:
    """The record type depends on the category as well as the code: a memo keyed on the code
    alone would give the second observation the first one's type."""
    code = {"coding": [{"code": "1234AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}], "text": "Civil status"}
    plain = {"resourceType": "Observation", "id": "o1", "code": code, "valueQuantity": {"value": 1}}
    vital = {
        **plain,
        "id": "o2",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "referenceRange": [{"low": {"value": 40}}],
    }
    ctx = MappingContext(source="s")
    first, second = map_resource(plain, ctx), map_resource(vital, ctx)
    assert first is not None and second is not None
    assert (first.type, second.type) == ("other", "vital")
    assert second.data["referenceRange"] == [{"low": 40}] and "referenceRange" not in first.data
    assert len(ctx.memo) == 2
