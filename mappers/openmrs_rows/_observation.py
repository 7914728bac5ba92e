"""``obs`` rows -> fhir2's Observation (research A7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._common import (
    CATEGORY_SYSTEM,
    INTERPRETATION_SYSTEM,
    JSON,
    Row,
    as_datetime,
    flag,
    iso,
    meta,
    ref,
)
from ._concepts import ConceptInfo, codeable_concept

_INTERPRETATIONS = {
    "NORMAL": "N",
    "ABNORMAL": "A",
    "CRITICALLY_ABNORMAL": "AA",
    "CRITICALLY_HIGH": "HH",
    "CRITICALLY_LOW": "LL",
    "HIGH": "H",
    "LOW": "L",
    "OFF_SCALE_LOW": "<",
    "OFF_SCALE_HIGH": ">",
    "SIGNIFICANT_CHANGE_DOWN": "D",
    "SIGNIFICANT_CHANGE_UP": "U",
    "RESISTANT": "R",
    "SUSCEPTIBLE": "S",
    "INTERMEDIATE": "I",
    "POSITIVE": "POS",
    "NEGATIVE": "NEG",
}
#: fhir2's default observation categories, by OpenMRS concept class name.
_CATEGORIES = {"Test": "laboratory", "LabSet": "laboratory", "Procedure": "procedure"}
_CATEGORIES["Finding"] = "exam"


@dataclass(frozen=True, slots=True)
class ObsContext:
    """Per-obs lookups, resolved by the source in batches."""

    concept: ConceptInfo
    value_concept: ConceptInfo | None = None
    patient_uuid: str | None = None  # None when the person is not a patient
    encounter_uuid: str | None = None
    members: tuple[str, ...] = ()
    true_concept_id: int | None = None
    false_concept_id: int | None = None
    amended: bool = False  # a 1.9-2.0 edit row (previous_version set, no status column)


def _number(value: Any, allow_decimal: bool | None) -> int | float:
    number = float(value)
    if allow_decimal is False and number.is_integer():
        return int(number)
    return number


def _obs_value(row: Row, ctx: ObsContext) -> JSON:
    concept = ctx.concept
    coded = row.get("value_coded")
    if concept.datatype == "BIT":
        if row.get("value_boolean") is not None:
            return {"valueBoolean": flag(row["value_boolean"])}
        if coded is not None and coded in (ctx.true_concept_id, ctx.false_concept_id):
            return {"valueBoolean": coded == ctx.true_concept_id}
        if row.get("value_numeric") is not None:  # before 1.7: 1/0 in value_numeric
            return {"valueBoolean": float(row["value_numeric"]) != 0}
    if coded is not None and ctx.value_concept is not None:
        return {"valueCodeableConcept": codeable_concept(ctx.value_concept)}
    if row.get("value_datetime") is not None:
        dt = as_datetime(row["value_datetime"])
        if dt is not None:
            return {"valueDateTime": iso(dt)}
    if row.get("value_numeric") is not None:
        quantity: JSON = {"value": _number(row["value_numeric"], concept.allow_decimal)}
        if concept.units:
            quantity["unit"] = concept.units
        modifier = row.get("value_modifier")
        if modifier in ("<", "<=", ">=", ">"):
            quantity["comparator"] = modifier
        return {"valueQuantity": quantity}
    if row.get("value_text") is not None:
        return {"valueString": str(row["value_text"])}
    if row.get("value_complex"):
        return {"valueString": str(row["value_complex"]).split("|", 1)[0]}
    return {}


def _reference_ranges(concept: ConceptInfo) -> list[JSON]:
    system = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
    out = []
    for low, high, code in (
        (concept.low_normal, concept.hi_normal, "normal"),
        (concept.low_critical, concept.hi_critical, "treatment"),
    ):
        if low is None and high is None:
            continue
        item: JSON = {"type": {"coding": [{"system": system, "code": code}]}}
        if low is not None:
            item["low"] = {"value": low, **({"unit": concept.units} if concept.units else {})}
        if high is not None:
            item["high"] = {"value": high, **({"unit": concept.units} if concept.units else {})}
        out.append(item)
    return out


def observation_resource(row: Row, ctx: ObsContext) -> JSON:
    """An ``obs`` row as fhir2's Observation (A7); voids are the source's business, not ours.

    Rows: ``uuid``, ``obs_datetime``, ``date_created``, the ``value_*`` columns, and when the
    schema has them ``status``, ``interpretation``, ``value_boolean``.
    """
    status = str(row.get("status") or "").lower()
    if status not in ("preliminary", "final", "amended"):
        status = "amended" if ctx.amended else "final"
    out: JSON = {
        "resourceType": "Observation",
        "id": str(row["uuid"]),
        "meta": meta(row.get("date_created")),
        "status": status,
        "code": codeable_concept(ctx.concept),
    }
    category = _CATEGORIES.get(ctx.concept.class_name or "")
    if category:
        out["category"] = [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": category, "display": category.title()}]}
        ]
    subject = ref("Patient", ctx.patient_uuid)
    if subject:
        out["subject"] = subject
    encounter = ref("Encounter", ctx.encounter_uuid)
    if encounter:
        out["encounter"] = encounter
    effective = iso(row.get("obs_datetime"))
    if effective:
        out["effectiveDateTime"] = effective
    issued = iso(row.get("date_created"))
    if issued:
        out["issued"] = issued
    if ctx.members:
        out["hasMember"] = [
            {"reference": f"Observation/{u}", "type": "Observation"} for u in ctx.members
        ]
    else:
        out.update(_obs_value(row, ctx))
    code = _INTERPRETATIONS.get(str(row.get("interpretation") or ""))
    if code:
        out["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": code}]}]
    if "valueQuantity" in out:
        ranges = _reference_ranges(ctx.concept)
        if ranges:
            out["referenceRange"] = ranges
    return out
