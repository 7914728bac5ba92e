"""Patient links: which passport patient a hospital's patient belongs to, and when a human decides.

Linking is by national ID only. Three situations are not safe to settle by rule, so they go to
the review queue (the conflict queue, ``resource_type = "PatientLink"``) and nothing moves until
an admin resolves them:

* ``national-id-changed``: a source patient linked to passport patient A now carries national
  ID B. The link stays on A (its records keep going to A) until resolved.
* ``shared-national-id``: a second source patient of the *same* hospital carries a national ID
  another of its patients is already linked to (a duplicate registration, or two people sharing
  an ID). The first link stands; the second patient's records wait, parked under a
  ``review:<nid>`` key that never attaches by itself.
* ``demographic-candidates``: a source patient with no national ID whose normalised name, birth
  date and gender equal those of passport patients. They are proposed, never linked.

Every queued review carries a ``key`` naming the situation exactly; a situation whose key was
queued before (open or resolved) is not queued again, so a replay, or a later sync after an
admin said "keep the passport's link", adds nothing.

Pure: plain data in, a decision out. The engine (``sync2.pipeline``) gathers the facts and
writes what the decision says; ``sync2.admin.passport_admin`` carries out a resolution.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

RESOURCE_TYPE = "PatientLink"

NATIONAL_ID_CHANGED = "national-id-changed"
SHARED_NATIONAL_ID = "shared-national-id"
DEMOGRAPHIC_CANDIDATES = "demographic-candidates"
CASES = (NATIONAL_ID_CHANGED, SHARED_NATIONAL_ID, DEMOGRAPHIC_CANDIDATES)

#: ``link``: records go to ``patient_id`` and its demographics merge there as usual;
#: ``keep``: records go to ``patient_id`` (the old link) but nothing else changes while in review;
#: ``hold``: no link, records parked under ``park_key`` until a resolution;
#: ``by-national-id``: no link yet, match by national ID as usual (create, park or skip);
#: ``unmatched``: no national ID, no link: records parked under ``""`` as before.
Action = Literal["link", "keep", "hold", "by-national-id", "unmatched"]

_SPACES = re.compile(r"\s+")
_NOT_LETTER = re.compile(r"[^\w\s]")


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What the engine knows about one source patient when it arrives."""

    uuid: str
    #: the normalised national ID the source sends now (None: it sends none)
    national_id: str | None
    #: the passport patient this source patient is linked to now (None: not linked)
    linked_to: str | None = None
    #: another patient of the same hospital already linked to (or claiming) ``national_id``
    other_claim: str | None = None
    #: passport patient ids with the same normalised name, birth date and gender (only looked
    #: up for a patient with no national ID and no link)
    candidates: tuple[str, ...] = ()
    #: review keys already queued for this source patient, open or resolved
    queued: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Review:
    """One entry for the review queue."""

    case: str
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """Where the source patient's records go, and what (if anything) to queue."""

    action: Action
    patient_id: str | None = None
    park_key: str | None = None
    review: Review | None = None
    candidates: tuple[str, ...] = field(default_factory=tuple)
    #: the other source patient of the same hospital (``hold`` only)
    other_claim: str | None = None


def review_key(case: str, *parts: str) -> str:
    """The exact situation, so the same one is never queued twice.

    >>> review_key(NATIONAL_ID_CHANGED, "A1", "B2")
    'national-id-changed:A1->B2'
    >>> review_key(DEMOGRAPHIC_CANDIDATES, "P2", "P1")
    'demographic-candidates:P1,P2'
    """
    if case == NATIONAL_ID_CHANGED:
        return f"{case}:{parts[0]}->{parts[1]}"
    return f"{case}:{','.join(sorted(parts))}"


def park_key_for_review(national_id: str) -> str:
    """The parked-queue key of a held patient: never equal to a passport patient id.

    >>> park_key_for_review("NID1")
    'review:NID1'
    """
    return f"review:{national_id}"


def decide_link(facts: LinkFacts) -> LinkDecision:
    """The link decision for one source patient (table-tested in ``tests/matching``).

    >>> decide_link(LinkFacts("u1", "B", linked_to="A")).action
    'keep'
    >>> d = decide_link(LinkFacts("u1", "A", linked_to="A"))
    >>> d.action, d.patient_id, d.review
    ('link', 'A', None)
    >>> decide_link(LinkFacts("u2", "A", other_claim="u1")).park_key
    'review:A'
    """
    nid, linked = facts.national_id, facts.linked_to
    if linked is not None:
        if nid is None or nid == linked:
            # a missing ID does not undo a link a human or an ID made
            return LinkDecision("link", patient_id=linked)
        key = review_key(NATIONAL_ID_CHANGED, linked, nid)
        reason = (
            f"{NATIONAL_ID_CHANGED}: linked to passport patient {linked}, the hospital now "
            f"sends national ID {nid}; the link stays until resolved"
        )
        return LinkDecision("keep", patient_id=linked, review=_unless(facts, key, reason))
    if nid is not None:
        if facts.other_claim is None or facts.other_claim == facts.uuid:
            return LinkDecision("by-national-id")
        key = review_key(SHARED_NATIONAL_ID, nid)
        reason = (
            f"{SHARED_NATIONAL_ID}: patient {facts.other_claim} of the same hospital is already "
            f"linked to national ID {nid}; records parked until resolved"
        )
        return LinkDecision(
            "hold",
            park_key=park_key_for_review(nid),
            review=_unless(facts, key, reason),
            other_claim=facts.other_claim,
        )
    if not facts.candidates:
        return LinkDecision("unmatched")
    candidates = tuple(sorted(set(facts.candidates)))
    key = review_key(DEMOGRAPHIC_CANDIDATES, *candidates)
    reason = (
        f"{DEMOGRAPHIC_CANDIDATES}: no national ID; same name, birth date and gender as "
        f"passport patient{'s' if len(candidates) > 1 else ''} {', '.join(candidates)} "
        "(proposed, not linked)"
    )
    return LinkDecision("unmatched", review=_unless(facts, key, reason), candidates=candidates)


def _unless(facts: LinkFacts, key: str, reason: str) -> Review | None:
    if key in facts.queued:
        return None
    return Review(case=key.split(":", 1)[0], key=key, reason=reason)


def normalise_name(name: str | None) -> str:
    """A name in comparable form: accents and punctuation gone, case folded, words sorted.

    Word order is ignored because hospitals write "family given" and "given family".

    >>> normalise_name("  José  O'Neil-Okello ")
    'jose oneilokello'
    >>> normalise_name("Okello, Mary") == normalise_name("mary okello")
    True
    >>> normalise_name(None)
    ''
    """
    if not name:
        return ""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("-", "").replace("'", "")
    words = _SPACES.split(_NOT_LETTER.sub(" ", plain).casefold().strip())
    return " ".join(sorted(w for w in words if w))


def demographic_key(person: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(normalised name, birth date, gender), or None when any part is missing.

    A year-only (estimated) birth date is too weak to propose anyone.

    >>> demographic_key({"name": "Mary Okello", "birth_date": "1990-02-01", "gender": "female"})
    ('mary okello', '1990-02-01', 'female')
    >>> demographic_key({"name": "Mary Okello", "birth_date": "1990", "gender": "female"})
    """
    name = _person_name(person)
    birth = person.get("birth_date")
    gender = person.get("gender")
    if not name or not isinstance(birth, str) or len(birth) < 10 or not gender:
        return None
    return name, birth[:10], str(gender).casefold()


def demographic_candidates(
    person: Mapping[str, Any], passport_patients: Iterable[Mapping[str, Any]]
) -> tuple[str, ...]:
    """Passport patient ids whose shown or any hospital's name, birth date and gender equal the
    person's (normalised). Proposals only: the caller queues them, never links.

    >>> p = {"patient_id": "N1", "name": "Mary Okello", "birth_date": "1990-02-01",
    ...      "gender": "female", "sources": {"h2": {"name": "Okello Mary"}}}
    >>> demographic_candidates({"name": "MARY OKELLO", "birth_date": "1990-02-01",
    ...                         "gender": "female"}, [p])
    ('N1',)
    >>> demographic_candidates({"name": "Mary Okello", "birth_date": "1990-02-02",
    ...                         "gender": "female"}, [p])
    ()
    """
    wanted = demographic_key(person)
    if wanted is None:
        return ()
    found = set()
    for doc in passport_patients:
        patient_id = doc.get("patient_id")
        if not isinstance(patient_id, str):
            continue
        versions = [doc, *(v for v in (doc.get("sources") or {}).values() if isinstance(v, dict))]
        for version in versions:
            merged = {
                "name": version.get("name"),
                "given": version.get("given"),
                "family": version.get("family"),
                "birth_date": version.get("birth_date") or doc.get("birth_date"),
                "gender": version.get("gender") or doc.get("gender"),
            }
            if demographic_key(merged) == wanted:
                found.add(patient_id)
                break
    return tuple(sorted(found))


def _person_name(person: Mapping[str, Any]) -> str:
    name = person.get("name")
    if isinstance(name, str) and name.strip():
        return normalise_name(name)
    given = person.get("given")
    parts = [g for g in given if isinstance(g, str)] if isinstance(given, list) else []
    family = person.get("family")
    if isinstance(family, str):
        parts.append(family)
    return normalise_name(" ".join(parts))


def link_summary(person: Mapping[str, Any]) -> dict[str, Any]:
    """What the review queue shows of a source patient: name, gender and birth date only (no
    identifiers beyond the national IDs the review is about, which the caller adds).

    >>> link_summary({"name": "Ann", "gender": "female", "birth_date": "1990", "identifiers": [1]})
    {'name': 'Ann', 'gender': 'female', 'birth_date': '1990'}
    """
    return {k: person.get(k) for k in ("name", "gender", "birth_date")}


def resolution_target(
    incoming: Mapping[str, Any], take: str | None, merged: Mapping[str, Any] | None
) -> str | None:
    """The passport patient a resolution links the source patient to; None keeps things as
    they are (``take = "passport"``).

    Raises:
        ValueError: ``merged`` names no candidate, or ``take = "source"`` is ambiguous (several
            candidates: name one with ``merged = {"patient_id": ...}``).

    >>> resolution_target({"case": NATIONAL_ID_CHANGED, "national_id": "B"}, "source", None)
    'B'
    >>> resolution_target({"case": DEMOGRAPHIC_CANDIDATES, "candidates": ["P1"]}, "source", None)
    'P1'
    >>> resolution_target({"case": SHARED_NATIONAL_ID, "national_id": "A"}, "passport", None)
    """
    case = incoming.get("case")
    if case not in CASES:
        msg = f"not a patient-link review (case {case!r})"
        raise ValueError(msg)
    candidates = [str(c) for c in incoming.get("candidates") or []]
    if merged is not None:
        chosen = merged.get("patient_id")
        allowed = candidates if case == DEMOGRAPHIC_CANDIDATES else [incoming.get("national_id")]
        if set(merged) != {"patient_id"} or chosen not in allowed:
            msg = f"merged must be {{'patient_id': one of {allowed}}} for a {case} review"
            raise ValueError(msg)
        return str(chosen)
    if take == "passport":
        return None
    if case == DEMOGRAPHIC_CANDIDATES:
        if len(candidates) != 1:
            msg = (
                f"{len(candidates)} candidates: name one with merged = {{'patient_id': ...}} "
                f"(one of {candidates})"
            )
            raise ValueError(msg)
        return candidates[0]
    return str(incoming["national_id"])
