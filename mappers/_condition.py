"""Condition -> a ``condition`` record: the problem list and encounter diagnoses alike.

fhir2 serves both as Condition and tells them apart by ``category`` (``problem-list-item`` or
``encounter-diagnosis``); a diagnosis also carries its encounter, its certainty (as the
verification status) and its rank (an OpenMRS extension).
"""

from __future__ import annotations

from ._clinical import (
    category_codes,
    clinical_record,
    compact,
    concept_name,
    encounter_of,
    extension_value,
    note_text,
    people,
    record_status,
    status_code,
    when,
)
from ._context import MappingContext
from ._fhir import JSON, codes_of, str_or_none
from .documents import RecordDoc

NON_CODED_EXT = "http://fhir.openmrs.org/ext/non-coded-condition"
RANK_EXT = "http://fhir.openmrs.org/R4/StructureDefinition/diagnosis-rank"
DIAGNOSIS = "encounter-diagnosis"
PROBLEM = "problem-list-item"


def condition_name(resource: JSON) -> str:
    """What the condition is: the coded concept, else OpenMRS's non-coded text.

    >>> condition_name({"extension": [{"url": NON_CODED_EXT, "valueString": "Fever"}]})
    'Fever'
    >>> condition_name({"code": {"coding": [{"code": "116128" + "A" * 30}]}})
    'CIEL 116128'
    """
    non_coded = extension_value(resource, NON_CODED_EXT)
    code = resource.get("code")
    if isinstance(code, dict) and (code.get("text") or code.get("coding")):
        return concept_name(code, "Condition")
    return non_coded if isinstance(non_coded, str) and non_coded else "Condition"


def condition_kind(resource: JSON) -> str:
    """``diagnosis`` or ``problem``: by category, else a diagnosis when it names an encounter.

    >>> condition_kind({"category": [{"coding": [{"code": DIAGNOSIS}]}]})
    'diagnosis'
    >>> condition_kind({}), condition_kind({"context": {"reference": "Encounter/e"}})
    ('problem', 'diagnosis')
    """
    categories = category_codes(resource)
    if DIAGNOSIS in categories:
        return "diagnosis"
    if PROBLEM in categories:
        return "problem"
    return "diagnosis" if encounter_of(resource) else "problem"


def map_condition(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """A problem or an encounter diagnosis as the passport's ``condition`` record."""
    name = condition_name(resource)
    kind = condition_kind(resource)
    clinical = status_code(resource.get("clinicalStatus"))
    verification = status_code(resource.get("verificationStatus"))
    onset = when(resource, "onsetDateTime", "onsetPeriod")
    diagnosed = onset or str_or_none(resource.get("recordedDate"))
    encounter_uuid = encounter_of(resource)
    who = people(ctx, encounter_uuid, resource.get("recorder") or resource.get("asserter"))
    rank = extension_value(resource, RANK_EXT)
    data: JSON = {
        "name": name,
        "details": note_text(resource),
        "diagnosed": diagnosed,
        "clinicalStatus": clinical,
        "verificationStatus": verification,
        "kind": kind,
        **compact(
            {
                "onset": onset,
                "abatement": when(resource, "abatementDateTime", "abatementPeriod"),
                "recordedDate": str_or_none(resource.get("recordedDate")),
                "certainty": verification if kind == "diagnosis" else None,
                "rank": rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
                "category": category_codes(resource),
            }
        ),
    }
    return clinical_record(
        resource,
        ctx,
        uuid,
        who,
        encounter_uuid,
        type="condition",
        name=name,
        effective=diagnosed,
        status=record_status(clinical, verification),
        codes=codes_of(resource.get("code")),
        data=data,
    )
