"""Run the doctests of every mappers module this suite owns (they are the helpers' tables)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mappers",
    "mappers._categorise",
    "mappers._directory",
    "mappers._encounter",
    "mappers._fhir",
    "mappers._map",
    "mappers._observation",
    "mappers._passport",
    "mappers._patient",
    "mappers._rules",
    "mappers._validate",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no doctest"
    assert result.failed == 0
