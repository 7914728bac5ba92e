"""The [conflicts] section: strategy names checked at load, the example documents it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync2._errors import ConfigError
from sync2.config import load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    cfg = parse_config({}, env={}).conflicts
    assert cfg.default == "manual" and cfg.merge_fallback == "source-wins"
    assert cfg.demographics == "priority"
    assert cfg.strategy_for("Observation") == "manual"


def test_per_type_overrides_the_default() -> None:
    cfg = parse_config(
        {"conflicts": {"default": "source-wins", "per_type": {"Patient": "merge"}}}, env={}
    ).conflicts
    assert cfg.strategy_for("Patient") == "merge"
    assert cfg.strategy_for("Encounter") == "source-wins"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"default": "newest"}, "conflicts.default"),
        ({"per_type": {"Observation": "latest"}}, "conflicts.per_type.Observation"),
        ({"merge_fallback": "merge"}, "conflicts.merge_fallback"),
        ({"demographics": "oldest"}, "conflicts.demographics"),
        ({"per_type": {"Obs": "manual"}}, "per_type.Obs"),
        ({"strategy": "manual"}, "conflicts.strategy"),
    ],
)
def test_unknown_names_fail_at_load_naming_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config({"conflicts": section}, env={})


def test_the_example_config_has_the_documented_section() -> None:
    cfg = load_config(
        REPO / "config" / "sync2.example.toml", env={"CENTRAL_USER": "u", "CENTRAL_PASSWORD": "p"}
    ).conflicts
    assert cfg.strategy_for("Observation") == "latest-wins"
    assert cfg.strategy_for("Patient") == "merge"
    assert cfg.strategy_for("Encounter") == "manual"
