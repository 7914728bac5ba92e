"""Problem-list and diagnosis rows -> fhir2's Condition.

The problem list lives in 2.2+ ``conditions`` or in 1.9-1.12 ``active_list`` +
``active_list_problem``; the source reads either into the same row keys (``clinical_status``,
``verification_status``, ``condition_non_coded``, ``onset_date``, ``end_date``,
``additional_detail``). Encounter diagnoses (2.2+ ``encounter_diagnosis``) are Conditions too,
categorised ``encounter-diagnosis``, with their certainty and rank, as fhir2's
DiagnosisTranslator shapes them.

One deliberate difference from fhir2: fhir2 folds every clinical status other than ACTIVE and
INACTIVE into ``inactive``; FHIR has codes for resolved, remission, recurrence and relapse, so
they are kept (a doctor reading the passport should see "resolved", not "inactive").
"""

from __future__ import annotations

from dataclasses import dataclass

from ._common import JSON, Party, Row, iso, meta, party_ref, ref, text
from ._concepts import ConceptInfo, codeable_concept

CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
NON_CODED_EXT = "http://fhir.openmrs.org/ext/non-coded-condition"
RANK_EXT = "http://fhir.openmrs.org/R4/StructureDefinition/diagnosis-rank"

_CLINICAL = {
    "ACTIVE": "active",
    "INACTIVE": "inactive",
    "HISTORY_OF": "inactive",
    "RECURRENCE": "recurrence",
    "RELAPSE": "relapse",
    "REMISSION": "remission",
    "RESOLVED": "resolved",
}
_CERTAINTY = {"CONFIRMED": "confirmed", "PROVISIONAL": "provisional"}


@dataclass(frozen=True, slots=True)
class ConditionContext:
    """What the source resolved for one problem or diagnosis row."""

    patient_uuid: str | None
    concept: ConceptInfo | None = None
    recorder: Party | None = None
    encounter_uuid: str | None = None
    encounter_datetime: object = None  # a diagnosis is recorded at its encounter's time


def legacy_problem_status(modifier: object, end_date: object) -> tuple[str, str | None]:
    """1.9 ``active_list_problem``: (clinical status, verification status) in 2.x terms.

    1.9 kept no clinical status: a problem with an ``end_date`` was resolved; its ``status``
    column held the modifier RULE_OUT or HISTORY_OF.

    >>> legacy_problem_status(None, None), legacy_problem_status("RULE_OUT", "2010-01-01")
    (('ACTIVE', None), ('RESOLVED', 'REFUTED'))
    >>> legacy_problem_status("HISTORY_OF", None)
    ('HISTORY_OF', None)
    """
    kind = str(modifier or "").strip().upper()
    verification = "REFUTED" if kind == "RULE_OUT" else None
    if end_date is not None:
        return "RESOLVED", verification
    return ("HISTORY_OF" if kind == "HISTORY_OF" else "ACTIVE"), verification


def _code(concept: ConceptInfo | None, non_coded: object) -> tuple[JSON, list[JSON]]:
    """The code, and the non-coded extension fhir2 adds; free text is the code's text too."""
    free = text(non_coded)
    out: JSON = codeable_concept(concept) if concept is not None else {}
    extensions = []
    if free:
        extensions.append({"url": NON_CODED_EXT, "valueString": free})
        if "text" not in out:
            out["text"] = free
    return out, extensions


def _category(code: str, display: str) -> list[JSON]:
    return [{"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": display}]}]


def _common(row: Row, ctx: ConditionContext, non_coded: object) -> JSON:
    out: JSON = {
        "resourceType": "Condition",
        "id": str(row["uuid"]),
        "meta": meta(row.get("date_created"), row.get("date_changed"), row.get("date_voided")),
    }
    code, extensions = _code(ctx.concept, non_coded)
    if extensions:
        out["extension"] = extensions
    if code:
        out["code"] = code
    subject = ref("Patient", ctx.patient_uuid)
    if subject:
        out["subject"] = subject
    encounter = ref("Encounter", ctx.encounter_uuid)
    if encounter:
        out["encounter"] = encounter
    recorder = party_ref("Practitioner", ctx.recorder)
    if recorder:
        out["recorder"] = recorder
    return out


def condition_resource(row: Row, ctx: ConditionContext) -> JSON:
    """A problem-list row (2.x ``conditions`` or 1.9 active list) as fhir2's Condition."""
    out = _common(row, ctx, row.get("condition_non_coded"))
    out["category"] = _category("problem-list-item", "Problem List Item")
    clinical = _CLINICAL.get(str(row.get("clinical_status") or "").upper())
    if clinical:
        out["clinicalStatus"] = {"coding": [{"system": CLINICAL_SYSTEM, "code": clinical}]}
    verification = str(row.get("verification_status") or "").strip()
    if verification:
        coding = {
            "system": VERIFICATION_SYSTEM,
            "code": verification.lower(),
            "display": verification.replace("_", "-").upper(),
        }
        out["verificationStatus"] = {"coding": [coding]}
    for column, key in (("onset_date", "onsetDateTime"), ("end_date", "abatementDateTime")):
        value = iso(row.get(column))
        if value:
            out[key] = value
    detail = text(row.get("additional_detail"))
    if detail:
        out["note"] = [{"text": detail}]
    recorded = iso(row.get("date_created"))
    if recorded:
        out["recordedDate"] = recorded
    return out


def diagnosis_resource(row: Row, ctx: ConditionContext) -> JSON:
    """An ``encounter_diagnosis`` row as fhir2's encounter-diagnosis Condition."""
    out = _common(row, ctx, row.get("diagnosis_non_coded"))
    out["category"] = _category("encounter-diagnosis", "Encounter Diagnosis")
    out["clinicalStatus"] = {
        "coding": [{"system": CLINICAL_SYSTEM, "code": "unknown", "display": "Unknown"}]
    }
    certainty = _CERTAINTY.get(str(row.get("certainty") or "").upper(), "unconfirmed")
    out["verificationStatus"] = {
        "coding": [{"system": VERIFICATION_SYSTEM, "code": certainty, "display": certainty.title()}]
    }
    if row.get("dx_rank") is not None:
        out.setdefault("extension", []).append(
            {"url": RANK_EXT, "valueInteger": int(row["dx_rank"])}
        )
    recorded = iso(ctx.encounter_datetime)
    if recorded:
        out["recordedDate"] = recorded
    return out
