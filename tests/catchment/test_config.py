"""The [catchment] config model: rules validate at load, bad ones fail with a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync2._errors import ConfigError
from sync2.config import CatchmentAny, CatchmentCohort, parse_config

SOURCE = {"id": "north", "name": "North", "base_url": "http://127.0.0.1:1/openmrs"}


def _load(catchment: Any = None, source_catchment: Any = None) -> Any:
    data: dict[str, Any] = {"sources": [{**SOURCE}]}
    if catchment is not None:
        data["catchment"] = catchment
    if source_catchment is not None:
        data["sources"][0]["catchment"] = source_catchment
    return parse_config(data, env={})


def test_no_rule_by_default_and_empty_table_is_none():
    assert _load().catchment is None
    assert _load({}).catchment is None
    assert _load(source_catchment={}).sources[0].catchment is None


def test_combination_loads_with_on_leave():
    config = _load(
        {
            "strategy": "any",
            "on_leave": "remove",
            "rules": [
                {"strategy": "address", "patterns": ["Kenya%Nairobi%*%*%*"]},
                {"strategy": "all", "rules": [{"strategy": "registered"}]},
            ],
        }
    )
    assert isinstance(config.catchment, CatchmentAny)
    assert config.catchment.on_leave == "remove"
    assert [r.strategy for r in config.catchment.rules] == ["address", "all"]


def test_cohort_file_is_read_at_load(tmp_path: Path):
    path = tmp_path / "cohort.txt"
    path.write_text("# district cohort\nNID-1111-2222\n\nNID-3333-4444  # moved in\n")
    config = _load(
        source_catchment={"strategy": "cohort", "file": str(path), "national_ids": ["X"]}
    )
    rule = config.sources[0].catchment
    assert isinstance(rule, CatchmentCohort)
    assert rule.national_ids == ["X", "NID-1111-2222", "NID-3333-4444"]


BAD = [
    ({"strategy": "nearby"}, "catchment: Input tag 'nearby'"),
    ({"strategy": "address", "patterns": ["Kenya%*%*%*"]}, "has 4 parts"),
    ({"strategy": "address", "patterns": []}, "catchment.address.patterns"),
    ({"strategy": "identifier", "identifier_type": "NID", "pattern": "(("}, "regular expression"),
    ({"strategy": "cohort", "file": "/nonexistent/cohort.txt"}, "cannot read cohort file"),
    ({"strategy": "any", "rules": [{"strategy": "cohort", "on_leave": "keep"}]}, "top catchment"),
    ({"strategy": "any", "rules": []}, "catchment.any.rules"),
    ({"strategy": "all", "rules": [{"strategy": "bogus"}]}, "Input tag 'bogus'"),
    ({"strategy": "address", "patterns": ["*%*%*%*%*"], "bogus": 1}, "bogus"),
    ({"strategy": "registered", "on_leave": "forget"}, "on_leave"),
]


@pytest.mark.parametrize(("spec", "message"), BAD)
def test_bad_catchment_fails_at_load(spec: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as info:
        _load(source_catchment=spec)
    assert message in str(info.value)
    assert "sources[0](id=north).catchment" in str(info.value)
