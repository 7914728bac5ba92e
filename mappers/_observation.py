"""Observation -> RecordDoc: value, unit, codes, group members, and the portal projection."""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from ._categorise import categorise
from ._clinical import concept_name
from ._context import MappingContext
from ._fhir import JSON, codes_of, dicts, ref_id, str_or_none, text_of
from ._rules import default_rules
from .documents import (
    STATUS_AMENDED,
    STATUS_ENTERED_IN_ERROR,
    STATUS_FINAL,
    STATUS_PRELIMINARY,
    RecordDoc,
)

#: FHIR Observation.status -> passport status. fhir2 1.x sends ``unknown`` for every obs (its
#: base translator never read obs.status), so ``unknown`` and a missing status count as final.
_STATUS = {
    "final": STATUS_FINAL,
    "amended": STATUS_AMENDED,
    "corrected": STATUS_AMENDED,
    "preliminary": STATUS_PRELIMINARY,
    "partial": STATUS_PRELIMINARY,
    "registered": STATUS_PRELIMINARY,
    "entered-in-error": STATUS_ENTERED_IN_ERROR,
    "cancelled": STATUS_ENTERED_IN_ERROR,
    "unknown": STATUS_FINAL,
}


def status_of(value: Any) -> str:
    """The passport status of a FHIR status code.

    >>> status_of("amended"), status_of("unknown"), status_of(None), status_of("cancelled")
    ('amended', 'final', 'final', 'entered-in-error')
    """
    if not isinstance(value, str):
        return STATUS_FINAL
    return _STATUS.get(value.lower(), value.lower())


def number_text(value: Any) -> str | None:
    """A quantity as the portal shows it: no trailing ``.0`` when integral.

    >>> number_text(75.0), number_text(75), number_text(36.6), number_text(None), number_text("7")
    ('75', '75', '36.6', None, '7')
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def value_of(resource: JSON) -> tuple[str | None, str | None, str]:
    """``(display value, unit, value kind)`` of an observation's ``value[x]``.

    >>> value_of({"valueQuantity": {"value": 75.0, "unit": "kg"}})
    ('75', 'kg', 'quantity')
    >>> value_of({"valueCodeableConcept": {"coding": [{"code": "u", "display": "Malaria"}]}})
    ('Malaria', None, 'coded')
    >>> value_of({"valueBoolean": False}), value_of({"valueString": "ok"})
    (('no', None, 'boolean'), ('ok', None, 'string'))
    >>> value_of({"valueDateTime": "2020-12-08T05:31:59+00:00"})
    ('2020-12-08T05:31:59+00:00', None, 'datetime')
    """
    if "valueQuantity" in resource:
        qty = resource["valueQuantity"] if isinstance(resource["valueQuantity"], dict) else {}
        unit = str_or_none(qty.get("unit")) or str_or_none(qty.get("code"))
        comparator = str_or_none(qty.get("comparator")) or ""
        number = number_text(qty.get("value"))
        return (comparator + number if number is not None else None), unit, "quantity"
    if "valueCodeableConcept" in resource:
        return text_of(resource["valueCodeableConcept"]), None, "coded"
    if "valueBoolean" in resource:
        flag = resource["valueBoolean"]
        return ("yes" if flag else "no") if isinstance(flag, bool) else None, None, "boolean"
    for key, kind in (
        ("valueDateTime", "datetime"),
        ("valueString", "string"),
        ("valueInteger", "quantity"),
        ("valueTime", "datetime"),
    ):
        if key in resource:
            raw = resource[key]
            return (raw if isinstance(raw, str) else number_text(raw)), None, kind
    return None, None, "none"


def _range(item: JSON) -> JSON:
    out: JSON = {}
    for bound in ("low", "high"):
        qty = item.get(bound)
        if isinstance(qty, dict) and qty.get("value") is not None:
            out[bound] = qty["value"]
    kind = item.get("type")
    if isinstance(kind, dict):
        codes = codes_of(kind)
        if codes:
            out["type"] = codes[0]["code"]
    if item.get("text"):
        out["text"] = item["text"]
    return out


def interpretation_of(resource: JSON) -> list[str]:
    """Interpretation codes (``H``, ``L``, ``N``, ``POS``, ...).

    >>> interpretation_of({"interpretation": [{"coding": [{"code": "H", "display": "High"}]}]})
    ['H']
    """
    out = []
    for concept in dicts(resource.get("interpretation")):
        codes = codes_of(concept)
        label = codes[0]["code"] if codes else text_of(concept)
        if label:
            out.append(label)
    return out


def _projection(
    kind: str,
    name: str,
    value: str | None,
    unit: str | None,
    value_kind: str,
    effective: str | None,
    ctx: MappingContext,
    facility: str | None,
) -> JSON:
    """The ``data`` block the Patient Passport portal shows for each record type."""
    if kind == "condition":
        # "Problem added: Malaria" -> the condition is the answer; a Diagnosis-class question
        # concept ("Malaria", valued yes/no or free text) is itself the condition.
        if value_kind == "coded" and value:
            return {"name": value, "details": name, "diagnosed": effective}
        return {"name": name, "details": value, "diagnosed": effective}
    if kind == "medication":
        if value_kind == "coded" and value:
            return {"medicationName": value, "dosage": None}
        dosage = " ".join(p for p in (value, unit) if p) or None
        return {"medicationName": name, "dosage": dosage}
    if kind in ("test", "vital"):
        return {"testName": name, "result": value, "unit": unit}
    if kind == "visit":
        return {
            "hospital": ctx.hospital,
            "reason": value or name,
            "visitDate": effective,
            "facility": facility,
        }
    return {"name": name, "details": " ".join(p for p in (value, unit) if p) or None}


class _Concept(NamedTuple):
    """What an observation's concept says, the same for every observation of that concept."""

    codes: list[dict[str, str]]
    name: str
    categories: list[str]
    kind: str
    ranges: list[JSON]


#: concepts one memo keeps before it starts over (a hospital's dictionary uses a few hundred)
_MEMO_LIMIT = 4096


def _concept_facts(code: Any, category: Any, reference_range: Any, ctx: MappingContext) -> _Concept:
    codes = codes_of(code)
    name = concept_name(code, "Observation")
    categories = [
        str(c["code"])
        for concept in dicts(category)
        for c in dicts(concept.get("coding"))
        if c.get("code")
    ]
    concept_uuid = next((c["code"] for c in codes if not c["system"]), None)
    concept_class = ctx.concept_classes.get(concept_uuid) if concept_uuid else None
    kind = categorise(
        name,
        categories=categories,
        concept_class=concept_class,
        codes=codes,
        rules=ctx.concept_rules or default_rules(),
    )
    ranges = [r for r in (_range(i) for i in dicts(reference_range)) if r]
    return _Concept(codes, name, categories, kind, ranges)


def _concept(resource: JSON, ctx: MappingContext) -> _Concept:
    """The concept facts of ``resource``, worked out once per distinct concept content.

    A backfill maps thousands of observations of each concept; categorising one (codes, rules,
    keyword patterns) cost more than the rest of the mapping. The memo key is the content of
    every element the facts are read from, so two observations share an entry only when the
    facts could not differ. The caller copies the lists before putting them on a record.
    """
    parts = (resource.get("code"), resource.get("category"), resource.get("referenceRange"))
    try:
        key = ("Observation", orjson.dumps(parts))
    except TypeError:  # not JSON-shaped (cannot come from a parsed response): no memo
        return _concept_facts(*parts, ctx)
    facts = ctx.memo.get(key)
    if facts is None:
        facts = _concept_facts(*parts, ctx)
        if len(ctx.memo) >= _MEMO_LIMIT:
            ctx.memo.clear()
        ctx.memo[key] = facts
    return facts


def map_observation(resource: JSON, ctx: MappingContext, uuid: str) -> RecordDoc:
    """An Observation as a passport record; doctor and facility come from its encounter.

    >>> ctx = MappingContext(source="s")
    >>> obs = {"code": {"text": "Weight (kg)"}, "valueQuantity": {"value": 70.0, "unit": "kg"},
    ...     "referenceRange": [{"low": {"value": 2}}]}
    >>> a, b = map_observation(obs, ctx, "o1"), map_observation(obs, ctx, "o2")
    >>> a.type, a.value, b.data["referenceRange"], len(ctx.memo)
    ('vital', '70', [{'low': 2}], 1)
    >>> a.codes is not b.codes and a.data["referenceRange"] is not b.data["referenceRange"]
    True
    """
    concept = _concept(resource, ctx)
    name, kind, categories = concept.name, concept.kind, concept.categories
    members = [m for m in (ref_id(r, "Observation") for r in dicts(resource.get("hasMember"))) if m]
    if members:
        # fhir2 puts the members' values, concatenated, in a group's valueString: not a value.
        value, unit, value_kind = None, None, "group"
    else:
        value, unit, value_kind = value_of(resource)
    effective = str_or_none(resource.get("effectiveDateTime"))
    if effective is None and isinstance(resource.get("effectivePeriod"), dict):
        effective = str_or_none(resource["effectivePeriod"].get("start"))
    encounter_uuid = ref_id(resource.get("encounter"), "Encounter")
    info = ctx.encounters.get(encounter_uuid) if encounter_uuid else None
    facility = info.facility if info else None
    data = _projection(kind, name, value, unit, value_kind, effective, ctx, facility)
    interpretation = interpretation_of(resource)
    if interpretation:
        data["interpretation"] = interpretation
    if concept.ranges:
        data["referenceRange"] = [dict(r) for r in concept.ranges]
    if categories:
        data["category"] = list(categories)
    return RecordDoc(
        source=ctx.source,
        resource_type="Observation",
        uuid=uuid,
        patient_uuid=ref_id(resource.get("subject"), "Patient"),
        type=kind,
        name=name,
        value=value,
        unit=unit,
        effective=effective,
        status=status_of(resource.get("status")),
        hospital=ctx.hospital,
        doctor=info.doctor if info else None,
        facility=facility,
        encounter_uuid=encounter_uuid,
        members=members,
        codes=[dict(c) for c in concept.codes],
        data=data,
    )
