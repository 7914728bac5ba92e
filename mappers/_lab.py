"""ServiceRequest (test orders) and DiagnosticReport -> ``test`` records.

A report names its orders (``basedOn``) and its result observations (``result``); the record
exposes both uuid lists (``based_on``, ``members``) so the engine can attach the result to its
order. A test order that revises or discontinues another names it in ``replaces``.
"""

from __future__ import annotations

from ._clinical import (
    category_codes,
    clinical_record,
    compact,
    concept_name,
    concept_texts,
    encounter_of,
    first_ref,
    label,
    note_text,
    people,
    record_status,
    ref_ids,
    status_code,
    when,
)
from ._context import MappingContext
from ._fhir import JSON, codes_of, dicts, ref_id, str_or_none
from ._observation import status_of
from .documents import RecordDoc


def _reasons(resource: JSON) -> str | None:
    """R4 ``reasonCode``; also R5's ``reason[].concept``, which some clients post to fhir2.

    >>> _reasons({"reason": [{"concept": {"text": "early detection"}}]})
    'early detection'
    """
    found = concept_texts(resource.get("reasonCode"))
    found += [t for t in (label(r.get("concept")) for r in dicts(resource.get("reason"))) if t]
    return "; ".join(found) or None


def _order_number(resource: JSON) -> str | None:
    return next(
        (str(i["value"]) for i in dicts(resource.get("identifier")) if str_or_none(i.get("value"))),
        None,
    )


def _performer(resource: JSON) -> str | None:
    """Who is to carry out the order, as the hospital named it.

    >>> _performer({"performer": [{"display": "Pamela Educator, RN"}]})
    'Pamela Educator, RN'
    """
    return next((str(p["display"]) for p in dicts(resource.get("performer"))
                 if str_or_none(p.get("display"))), None)  # fmt: skip


def map_service_request(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """A test order as a ``test`` record without a result yet (the report brings it)."""
    name = concept_name(resource.get("code"), "Test order")
    status = status_code(resource.get("status"))
    encounter_uuid = encounter_of(resource)
    who = people(ctx, encounter_uuid, resource.get("requester"))
    occurrence = resource.get("occurrencePeriod")
    data: JSON = {
        "testName": name,
        "result": None,
        "unit": None,
        "status": status,
        "kind": "order",
        **compact(
            {
                "intent": str_or_none(resource.get("intent")),
                "priority": str_or_none(resource.get("priority")),
                "category": category_codes(resource),
                "reason": _reasons(resource),
                "orderNumber": _order_number(resource),
                "authoredOn": str_or_none(resource.get("authoredOn")),
                "occurrence": when(resource, "occurrenceDateTime", "occurrencePeriod"),
                "occurrenceEnd": str_or_none(occurrence.get("end"))
                if isinstance(occurrence, dict)
                else None,
                "performer": _performer(resource),
                "note": note_text(resource),
            }
        ),
    }
    return clinical_record(
        resource,
        ctx,
        uuid,
        who,
        encounter_uuid,
        type="test",
        name=name,
        effective=when(resource, "occurrenceDateTime", "occurrencePeriod", "authoredOn"),
        status=record_status(status),
        codes=codes_of(resource.get("code")),
        data=data,
        supersedes=ref_id(first_ref(resource.get("replaces")), "ServiceRequest"),
    )


def map_diagnostic_report(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """A lab report as a ``test`` record naming its orders and result observations."""
    name = concept_name(resource.get("code"), "Report")
    status = status_code(resource.get("status"))
    encounter_uuid = encounter_of(resource)
    who = people(
        ctx,
        encounter_uuid,
        first_ref(resource.get("resultsInterpreter")) or first_ref(resource.get("performer")),
    )
    conclusion = str_or_none(resource.get("conclusion"))
    issued = str_or_none(resource.get("issued"))
    data: JSON = {
        "testName": name,
        "result": conclusion,
        "unit": None,
        "status": status,
        "kind": "report",
        **compact(
            {
                "category": category_codes(resource),
                "issued": issued,
                "conclusion": conclusion,
                "conclusionCodes": concept_texts(resource.get("conclusionCode")),
            }
        ),
    }
    return clinical_record(
        resource,
        ctx,
        uuid,
        who,
        encounter_uuid,
        type="test",
        name=name,
        value=conclusion,
        effective=when(resource, "effectiveDateTime", "effectivePeriod") or issued,
        status=status_of(status),
        members=ref_ids(resource.get("result"), "Observation"),
        codes=codes_of(resource.get("code")),
        data=data,
        based_on=ref_ids(resource.get("basedOn"), "ServiceRequest"),
    )
