"""conflicts.links: the link decision and the demographic fallback, as tables of plain data."""

from __future__ import annotations

from typing import Any

import pytest

from conflicts.links import (
    DEMOGRAPHIC_CANDIDATES,
    NATIONAL_ID_CHANGED,
    SHARED_NATIONAL_ID,
    LinkFacts,
    decide_link,
    demographic_candidates,
    normalise_name,
    resolution_target,
)

CHANGED_KEY = "national-id-changed:A->B"

# (id, facts, action, patient_id, park_key, queued case or None)
DECISIONS = [
    ("linked-same-id", LinkFacts("u1", "A", linked_to="A"), "link", "A", None, None),
    ("linked-id-removed", LinkFacts("u1", None, linked_to="A"), "link", "A", None, None),
    ("id-changed", LinkFacts("u1", "B", linked_to="A"), "keep", "A", None, NATIONAL_ID_CHANGED),
    (
        "id-changed-replay",
        LinkFacts("u1", "B", linked_to="A", queued=frozenset({CHANGED_KEY})),
        "keep",
        "A",
        None,
        None,
    ),
    (
        "id-changed-again",
        LinkFacts("u1", "C", linked_to="A", queued=frozenset({CHANGED_KEY})),
        "keep",
        "A",
        None,
        NATIONAL_ID_CHANGED,
    ),
    ("new-by-id", LinkFacts("u1", "A"), "by-national-id", None, None, None),
    ("own-claim", LinkFacts("u1", "A", other_claim="u1"), "by-national-id", None, None, None),
    (
        "second-patient-same-id",
        LinkFacts("u2", "A", other_claim="u1"),
        "hold",
        None,
        "review:A",
        SHARED_NATIONAL_ID,
    ),
    (
        "second-patient-replay",
        LinkFacts("u2", "A", other_claim="u1", queued=frozenset({"shared-national-id:A"})),
        "hold",
        None,
        "review:A",
        None,
    ),
    ("no-id-no-candidate", LinkFacts("u3", None), "unmatched", None, None, None),
    (
        "no-id-candidate",
        LinkFacts("u3", None, candidates=("P1",)),
        "unmatched",
        None,
        None,
        DEMOGRAPHIC_CANDIDATES,
    ),
    (
        "no-id-candidate-replay",
        LinkFacts("u3", None, candidates=("P1",), queued=frozenset({"demographic-candidates:P1"})),
        "unmatched",
        None,
        None,
        None,
    ),
    (
        "no-id-new-candidate",
        LinkFacts(
            "u3",
            None,
            candidates=("P2", "P1"),
            queued=frozenset({"demographic-candidates:P1"}),
        ),
        "unmatched",
        None,
        None,
        DEMOGRAPHIC_CANDIDATES,
    ),
]


@pytest.mark.parametrize(
    ("facts", "action", "patient_id", "park_key", "case"),
    [d[1:] for d in DECISIONS],
    ids=[d[0] for d in DECISIONS],
)
def test_decide_link(
    facts: LinkFacts, action: str, patient_id: str | None, park_key: str | None, case: str | None
) -> None:
    decision = decide_link(facts)
    assert decision.action == action
    assert decision.patient_id == patient_id
    assert decision.park_key == park_key
    assert (decision.review.case if decision.review else None) == case
    if decision.review is not None:
        assert decision.review.key not in facts.queued
        assert decision.review.reason.startswith(decision.review.case)


def test_names_never_link_by_themselves() -> None:
    """Every decision for a patient with no national ID and no link leaves it unlinked."""
    for candidates in ((), ("P1",), ("P1", "P2")):
        decision = decide_link(LinkFacts("u", None, candidates=candidates))
        assert decision.action == "unmatched" and decision.patient_id is None
        assert decision.candidates == tuple(sorted(candidates))


def test_candidates_are_listed_sorted_in_the_key() -> None:
    decision = decide_link(LinkFacts("u", None, candidates=("P2", "P1", "P2")))
    assert decision.review is not None
    assert decision.review.key == "demographic-candidates:P1,P2"


ANN = {"name": "Ann Okello", "birth_date": "1990-02-01", "gender": "female"}
PASSPORT: list[dict[str, Any]] = [
    {"patient_id": "N1", **ANN},
    {"patient_id": "N2", "name": "Ann Okello", "birth_date": "1990-02-01", "gender": "male"},
    {"patient_id": "N3", "name": "Anne Okello", "birth_date": "1990-02-01", "gender": "female"},
    {
        "patient_id": "N4",
        "name": "Someone Else",
        "birth_date": "1990-02-01",
        "gender": "female",
        "sources": {"h2": {"given": ["ANN"], "family": "okello"}},
    },
    {"name": "Ann Okello", "birth_date": "1990-02-01", "gender": "female"},  # no id: ignored
]

CANDIDATES = [
    ("same", ANN, ("N1", "N4")),
    ("word-order-and-case", {**ANN, "name": "OKELLO  ann"}, ("N1", "N4")),
    ("accents", {**ANN, "name": "Ánn Okéllo"}, ("N1", "N4")),
    ("other-gender", {**ANN, "gender": "male"}, ("N2",)),
    ("other-birth-date", {**ANN, "birth_date": "1990-02-02"}, ()),
    ("estimated-birth-year", {**ANN, "birth_date": "1990"}, ()),
    ("no-name", {**ANN, "name": None}, ()),
    (
        "given-family-only",
        {**ANN, "name": None, "given": ["Ann"], "family": "Okello"},
        ("N1", "N4"),
    ),
]


@pytest.mark.parametrize(
    ("person", "expected"), [c[1:] for c in CANDIDATES], ids=[c[0] for c in CANDIDATES]
)
def test_demographic_candidates(person: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert demographic_candidates(person, PASSPORT) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Mary  Okello", "mary okello"), ("okello, MARY", "mary okello"), ("", ""), ("É-e", "ee")],
)
def test_normalise_name(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


RESOLUTIONS = [
    ("changed-source", {"case": NATIONAL_ID_CHANGED, "national_id": "B"}, "source", None, "B"),
    ("changed-passport", {"case": NATIONAL_ID_CHANGED, "national_id": "B"}, "passport", None, None),
    ("shared-source", {"case": SHARED_NATIONAL_ID, "national_id": "A"}, "source", None, "A"),
    (
        "candidate-source",
        {"case": DEMOGRAPHIC_CANDIDATES, "candidates": ["P1"]},
        "source",
        None,
        "P1",
    ),
    (
        "candidate-merged",
        {"case": DEMOGRAPHIC_CANDIDATES, "candidates": ["P1", "P2"]},
        None,
        {"patient_id": "P2"},
        "P2",
    ),
]


@pytest.mark.parametrize(
    ("incoming", "take", "merged", "target"),
    [r[1:] for r in RESOLUTIONS],
    ids=[r[0] for r in RESOLUTIONS],
)
def test_resolution_target(
    incoming: dict[str, Any], take: str | None, merged: dict[str, Any] | None, target: str | None
) -> None:
    assert resolution_target(incoming, take, merged) == target


@pytest.mark.parametrize(
    ("incoming", "take", "merged", "match"),
    [
        ({"case": DEMOGRAPHIC_CANDIDATES, "candidates": ["P1", "P2"]}, "source", None, "2 cand"),
        (
            {"case": DEMOGRAPHIC_CANDIDATES, "candidates": ["P1"]},
            None,
            {"patient_id": "X"},
            "one of",
        ),
        ({"case": NATIONAL_ID_CHANGED, "national_id": "B"}, None, {"patient_id": "C"}, "one of"),
        ({"case": "value"}, "source", None, "not a patient-link"),
    ],
)
def test_resolution_target_refuses(
    incoming: dict[str, Any], take: str | None, merged: dict[str, Any] | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        resolution_target(incoming, take, merged)
