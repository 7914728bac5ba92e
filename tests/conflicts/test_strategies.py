"""decide() over plain dicts: one row per rule and per strategy."""

from __future__ import annotations

from typing import Any

import pytest

from conflicts import decide, merge_fields

BASE = {"value": "70", "unit": "kg", "name": "Weight"}
EDITED = {**BASE, "value": "71"}  # the passport's correction
NEWER = {**BASE, "value": "72"}  # the hospital's change of the same field
UNIT = {**BASE, "unit": "lb"}  # the hospital's change of another field
EARLY, LATE = "2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"

CASES: list[
    tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], str, Any]
] = [
    # id, passport, incoming, strategy kwargs, expected action, expected fields
    ("echo", BASE, BASE, {"strategy": "manual"}, "echo", None),
    ("only-passport", EDITED, BASE, {"strategy": "source-wins"}, "keep", None),
    ("only-source", BASE, NEWER, {"strategy": "passport-wins"}, "apply", NEWER),
    ("same-change", NEWER, NEWER, {"strategy": "manual"}, "apply", NEWER),
    ("source-wins", EDITED, NEWER, {"strategy": "source-wins"}, "resolved", NEWER),
    ("passport-wins", EDITED, NEWER, {"strategy": "passport-wins"}, "resolved", EDITED),
    ("manual", EDITED, NEWER, {"strategy": "manual"}, "conflict", None),
    (
        "latest-source-later",
        EDITED,
        NEWER,
        {"strategy": "latest-wins", "source_time": LATE, "passport_time": EARLY},
        "resolved",
        NEWER,
    ),
    (
        "latest-passport-later",
        EDITED,
        NEWER,
        {"strategy": "latest-wins", "source_time": EARLY, "passport_time": LATE},
        "resolved",
        EDITED,
    ),
    (
        "latest-tie-to-source",
        EDITED,
        NEWER,
        {"strategy": "latest-wins", "source_time": LATE, "passport_time": LATE},
        "resolved",
        NEWER,
    ),
    (
        "latest-other-app-edit-loses",
        EDITED,
        NEWER,
        {"strategy": "latest-wins", "source_time": EARLY, "passport_time": None},
        "resolved",
        NEWER,
    ),
    (
        "latest-source-without-time",
        EDITED,
        NEWER,
        {"strategy": "latest-wins", "source_time": None, "passport_time": EARLY},
        "conflict",
        None,
    ),
    ("merge-disjoint", EDITED, UNIT, {"strategy": "merge"}, "resolved", {**EDITED, "unit": "lb"}),
    (
        "merge-overlap-source",
        EDITED,
        {**NEWER, "unit": "lb"},
        {"strategy": "merge", "fallback": "source-wins"},
        "resolved",
        {**NEWER, "unit": "lb"},
    ),
    (
        "merge-overlap-passport",
        EDITED,
        {**NEWER, "unit": "lb"},
        {"strategy": "merge", "fallback": "passport-wins"},
        "resolved",
        {**EDITED, "unit": "lb"},
    ),
    (
        "merge-overlap-latest",
        EDITED,
        {**NEWER, "unit": "lb"},
        {
            "strategy": "merge",
            "fallback": "latest-wins",
            "source_time": EARLY,
            "passport_time": LATE,
        },
        "resolved",
        {**EDITED, "unit": "lb"},
    ),
    (
        "merge-overlap-manual",
        EDITED,
        {**NEWER, "unit": "lb"},
        {"strategy": "merge", "fallback": "manual"},
        "conflict",
        None,
    ),
]


@pytest.mark.parametrize(
    ("passport", "incoming", "kwargs", "action", "fields"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    passport: dict[str, Any],
    incoming: dict[str, Any],
    kwargs: dict[str, Any],
    action: str,
    fields: Any,
) -> None:
    decision = decide(BASE, passport, incoming, **kwargs)
    assert decision.action == action
    assert decision.fields == fields
    assert decision.reason


def test_merge_reports_overlapping_paths_inside_data() -> None:
    base = {"data": {"result": "70", "unit": "kg"}, "name": "Weight"}
    passport = {"data": {"result": "71", "unit": "kg"}, "name": "Body weight"}
    incoming = {"data": {"result": "72", "unit": "lb"}, "name": "Weight"}
    merged, overlapping = merge_fields(base, passport, incoming)
    assert overlapping == ("data.result",)
    assert merged == {"data": {"result": "71", "unit": "lb"}, "name": "Body weight"}
    decision = decide(base, passport, incoming, strategy="merge", fallback="source-wins")
    assert decision.fields == {"data": {"result": "72", "unit": "lb"}, "name": "Body weight"}
    assert decision.overlapping == ("data.result",)


def test_merge_keeps_a_field_only_one_side_added() -> None:
    merged, overlapping = merge_fields({}, {"doctor": "Dr A"}, {"facility": "Ward 3"})
    assert merged == {"doctor": "Dr A", "facility": "Ward 3"} and overlapping == ()
