"""The doctests of the conflicts package are its helpers' tables; run them in the suite."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "conflicts.demographics",
    "conflicts.diff",
    "conflicts.hashing",
    "conflicts.records",
    "conflicts.strategies",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no doctest"
    assert result.failed == 0
