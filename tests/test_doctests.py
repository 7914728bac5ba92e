"""Every doctest in the project's packages runs (they are the pure helpers' tables of cases)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("mappers", "catchment", "conflicts", "sync2")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _examples(name: str) -> int:
    finder = doctest.DocTestFinder()
    return sum(len(t.examples) for t in finder.find(importlib.import_module(name)))


#: only modules that carry examples are tests; one without any would pass whatever it did
WITH_EXAMPLES = [name for name in MODULES if _examples(name) > 0]


def test_the_pure_packages_carry_doctests() -> None:
    counted = {
        package: sum(_examples(name) for name in MODULES if name.split(".")[0] == package)
        for package in ("mappers", "catchment", "conflicts")
    }
    assert all(n >= 5 for n in counted.values()), counted


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted == _examples(name) > 0
    assert result.failed == 0
