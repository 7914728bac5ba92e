"""The public surface: a short, sorted ``__all__`` whose every name is really there."""

from __future__ import annotations

import sync2


def test_all_is_sorted_and_complete() -> None:
    names = [n for n in sync2.__all__ if n != "__version__"]
    assert names == sorted(names, key=lambda n: (n[0].islower(), n))
    for name in sync2.__all__:
        assert hasattr(sync2, name), name
    public = {n for n in vars(sync2) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(sync2.__all__), public - set(sync2.__all__)
