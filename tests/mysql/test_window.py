"""The closed-window watermark, as a table of cases (pure: no database)."""

from __future__ import annotations

import pytest

from sync2.sources._window import close_window

CASES = [
    # id, rows, watermark, boundary, overlap, kept keys, new watermark, boundary keys
    ("first read", [("a", 1), ("b", 2)], None, {}, 0, ["a", "b"], 2, ["b"]),
    ("nothing new", [], 5, {"x": 5}, 0, [], 5, ["x"]),
    ("re-read at watermark dropped", [("x", 5), ("y", 6)], 5, {"x": 5}, 0, ["y"], 6, ["y"]),
    (
        "late commit inside overlap",
        [("a", 3), ("b", 4), ("c", 5)],
        5,
        {"a": 3, "c": 5},
        3,
        ["b"],
        5,
        ["a", "b", "c"],
    ),
    ("overlap prunes old keys", [("a", 3), ("d", 9)], 5, {"a": 3}, 2, ["d"], 9, ["d"]),
    ("duplicates in one read", [("a", 1), ("a", 1)], None, {}, 5, ["a"], 1, ["a"]),
    (
        "new version of a key is new",
        [("p@5", 5), ("p@7", 7)],
        5,
        {"p@5": 5},
        0,
        ["p@7"],
        7,
        ["p@7"],
    ),
]


@pytest.mark.parametrize(
    ("rows", "watermark", "boundary", "overlap", "kept", "new_wm", "new_boundary"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_close_window(rows, watermark, boundary, overlap, kept, new_wm, new_boundary):
    result = close_window(rows, watermark, boundary, overlap)
    assert [k for k, _ in result.kept] == kept
    assert result.watermark == new_wm
    assert sorted(result.boundary) == new_boundary


def test_negative_overlap_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        close_window([], None, {}, -1)
