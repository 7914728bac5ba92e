"""AllergyIntolerance -> an ``allergy`` record: allergen, reactions, severity, statuses."""

from __future__ import annotations

from ._clinical import (
    category_codes,
    clinical_record,
    compact,
    concept_name,
    concept_texts,
    note_text,
    people,
    record_status,
    status_code,
    when,
)
from ._context import MappingContext
from ._fhir import JSON, codes_of, dicts, str_or_none
from .documents import RecordDoc

#: Reaction severities, mildest first: the allergy's severity is its worst reaction's.
_SEVERITIES = ("mild", "moderate", "severe")


def reactions_of(resource: JSON) -> list[JSON]:
    """Each reaction as ``{manifestations, severity, substance, description}`` (empty parts
    left out).

    >>> reactions_of({"reaction": [{"manifestation": [{"text": "Hives"}], "severity": "mild"}]})
    [{'manifestations': ['Hives'], 'severity': 'mild'}]
    """
    out = []
    for reaction in dicts(resource.get("reaction")):
        substance = reaction.get("substance")
        substance_name = concept_name(substance, "") if isinstance(substance, dict) else ""
        item = compact(
            {
                "manifestations": concept_texts(reaction.get("manifestation")),
                "severity": str_or_none(reaction.get("severity")),
                "substance": substance_name or None,
                "description": str_or_none(reaction.get("description")),
                "onset": str_or_none(reaction.get("onset")),
            }
        )
        if item:
            out.append(item)
    return out


def worst_severity(reactions: list[JSON]) -> str | None:
    """The most severe reaction's severity.

    >>> worst_severity([{"severity": "mild"}, {"severity": "severe"}, {}])
    'severe'
    >>> worst_severity([{}]) is None
    True
    """
    found = [r["severity"] for r in reactions if r.get("severity") in _SEVERITIES]
    return max(found, key=_SEVERITIES.index) if found else None


def map_allergy(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """An allergy as the passport's ``allergy`` record; its name is the allergen."""
    allergen = concept_name(resource.get("code"), "Unknown allergen")
    reactions = reactions_of(resource)
    clinical = status_code(resource.get("clinicalStatus"))
    verification = status_code(resource.get("verificationStatus"))
    recorded = when(resource, "onsetDateTime", "onsetPeriod", "recordedDate", "assertedDate")
    who = people(ctx, None, resource.get("recorder") or resource.get("asserter"))
    severity = worst_severity(reactions)
    comment = note_text(resource)
    data: JSON = {
        "allergen": allergen,
        "reactions": reactions,
        "severity": severity,
        "criticality": str_or_none(resource.get("criticality")),
        "clinicalStatus": clinical,
        "verificationStatus": verification,
        "comment": comment,
        **compact(
            {
                "category": category_codes(resource),
                "allergyType": str_or_none(resource.get("type")),
                "onset": when(resource, "onsetDateTime", "onsetPeriod"),
                "recordedDate": str_or_none(resource.get("recordedDate")),
                "lastOccurrence": str_or_none(resource.get("lastOccurrence")),
            }
        ),
    }
    return clinical_record(
        resource,
        ctx,
        uuid,
        who,
        None,
        type="allergy",
        name=allergen,
        value=", ".join(m for r in reactions for m in r.get("manifestations", [])) or None,
        effective=recorded,
        status=record_status(clinical, verification),
        codes=codes_of(resource.get("code")),
        data=data,
    )
