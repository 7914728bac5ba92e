"""Allergy rows -> fhir2's AllergyIntolerance.

Two schemas hold allergies: 2.x ``allergy`` + ``allergy_reaction``, and 1.9-1.12 ``active_list``
+ ``active_list_allergy``. The source reads either into the same row keys (``allergen_type``,
``non_coded_allergen``, ``comments``, ``onset_date``, ``end_date`` and the row times), so one
builder serves both. fhir2's translator is the model: category from the allergen type,
criticality from the severity, clinical status from the void flag, verification always
confirmed. Where fhir2 drops what a doctor needs (a reaction recorded as text only), we keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._common import JSON, Party, Row, as_datetime, flag, iso, meta, party_ref, ref, text
from ._concepts import ConceptInfo, codeable_concept

CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

#: OpenMRS allergen types (2.x AllergenType; 1.9 AllergyType adds plant, pollen, animal...).
_CATEGORIES = {
    "DRUG": "medication",
    "FOOD": "food",
    "ENVIRONMENT": "environment",
    "ANIMAL": "environment",
    "PLANT": "environment",
    "POLLEN": "environment",
}
_CRITICALITY = {"severe": "high", "mild": "low", "moderate": "unable-to-assess"}
SEVERITIES = ("mild", "moderate", "severe")


@dataclass(frozen=True, slots=True)
class AllergyContext:
    """What the source resolved for one allergy row."""

    patient_uuid: str | None
    allergen: ConceptInfo | None = None
    severity: str | None = None  # mild | moderate | severe, already matched by the source
    reactions: tuple[tuple[ConceptInfo | None, str | None], ...] = ()  # (concept, free text)
    recorder: Party | None = None


def severity_from_text(value: object) -> str | None:
    """The 1.9 ``active_list_allergy.severity`` string as a FHIR severity (UNKNOWN -> None).

    >>> severity_from_text("MILD"), severity_from_text("UNKNOWN"), severity_from_text(None)
    ('mild', None, None)
    """
    out = str(value or "").strip().lower()
    return out if out in SEVERITIES else None


def allergy_code(allergen: ConceptInfo | None, non_coded: object) -> JSON:
    """The allergen as a CodeableConcept; the free-text allergen is its text (fhir2 does so)."""
    out: JSON = codeable_concept(allergen) if allergen is not None else {}
    free = text(non_coded)
    if free:
        out["text"] = free
    return out


def _reactions(ctx: AllergyContext, substance: JSON) -> list[JSON]:
    manifestations = []
    for concept, free in ctx.reactions:
        item: JSON = codeable_concept(concept) if concept is not None else {}
        if text(free):
            item["text"] = text(free)
        if item:
            manifestations.append(item)
    if not manifestations:
        return []
    reaction: JSON = {"manifestation": manifestations}
    if substance:
        reaction["substance"] = substance
    if ctx.severity:
        reaction["severity"] = ctx.severity
    return [reaction]


def _clinical_status(row: Row, now: datetime) -> str:
    ended = as_datetime(row.get("end_date"))
    if flag(row.get("voided")) or (ended is not None and ended <= now):
        return "inactive"
    return "active"


def allergy_resource(row: Row, ctx: AllergyContext, *, now: datetime) -> JSON:
    """One allergy (2.x) or active-list allergy (1.9) as fhir2's AllergyIntolerance.

    ``now`` (naive, the database's clock) decides whether a 1.9 ``end_date`` has passed.
    """
    status = _clinical_status(row, now)
    code = allergy_code(ctx.allergen, row.get("non_coded_allergen"))
    out: JSON = {
        "resourceType": "AllergyIntolerance",
        "id": str(row["uuid"]),
        "meta": meta(row.get("date_created"), row.get("date_changed"), row.get("date_voided")),
        "clinicalStatus": {
            "coding": [{"system": CLINICAL_SYSTEM, "code": status, "display": status.title()}],
            "text": status.title(),
        },
        "verificationStatus": {
            "coding": [
                {"system": VERIFICATION_SYSTEM, "code": "confirmed", "display": "Confirmed"}
            ],
            "text": "Confirmed",
        },
        "type": "allergy",
    }
    category = _CATEGORIES.get(str(row.get("allergen_type") or "").upper())
    if category:
        out["category"] = [category]
    if code:
        out["code"] = code
    patient = ref("Patient", ctx.patient_uuid)
    if patient:
        out["patient"] = patient
    onset = iso(row.get("onset_date"))
    if onset:
        out["onsetDateTime"] = onset
    recorded = iso(row.get("date_created"))
    if recorded:
        out["recordedDate"] = recorded
    recorder = party_ref("Practitioner", ctx.recorder)
    if recorder:
        out["recorder"] = recorder
    if ctx.severity:
        out["criticality"] = _CRITICALITY[ctx.severity]
    reactions = _reactions(ctx, code)
    if reactions:
        out["reaction"] = reactions
    comment = text(row.get("comments"))
    if comment:
        out["note"] = [{"text": comment}]
    return out
