"""``medication_dispense`` rows (OpenMRS 2.6+) -> fhir2's MedicationDispense.

fhir2 builds the medication, dosage and quantity of a dispense through its drug-order
translator (a dispense has the same columns), so this reuses :mod:`._orders`' pieces. The status
is a concept mapped SAME-AS to the HL7 medicationdispense-status code system.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._common import JSON, SAME_AS_UUID, Party, Row, flag, iso, meta, party_ref, ref
from ._concepts import ConceptInfo, codeable_concept
from ._orders import OrderContext, dosage, medication, unit_quantity

STATUS_URL = "http://terminology.hl7.org/CodeSystem/medicationdispense-status"
RECORDED_EXT = "http://fhir.openmrs.org/ext/medicationdispense/recorded"
STATUSES = frozenset(
    {
        "preparation",
        "in-progress",
        "cancelled",
        "on-hold",
        "completed",
        "entered-in-error",
        "stopped",
        "declined",
        "unknown",
    }
)


@dataclass(frozen=True, slots=True)
class DispenseContext:
    """What the source resolved for one dispense row."""

    order: OrderContext  # patient, encounter, drug/concept, units, route, frequency
    status: str | None = None
    status_reason: ConceptInfo | None = None
    dispense_type: ConceptInfo | None = None
    location: Party | None = None
    dispenser: Party | None = None
    prescription_uuid: str | None = None
    substitution_type: ConceptInfo | None = None
    substitution_reason: ConceptInfo | None = None


def dispense_status(maps: Iterable[Row]) -> str | None:
    """The status code of a status concept's mappings (``url``, ``source_name``, ``code``).

    fhir2 reads the SAME-AS term in the source registered with the HL7 URL; a database without
    fhir2's source table is matched on the source's name instead.

    >>> dispense_status([{"url": None, "source_name": "HL7 Medication Dispense Status",
    ...                   "code": "completed", "map_type": "SAME-AS"}])
    'completed'
    >>> dispense_status([{"url": None, "source_name": "CIEL", "code": "completed"}]) is None
    True
    """
    for row in maps:
        kind = str(row.get("map_type") or "SAME-AS")
        if kind.upper() != "SAME-AS" and kind != SAME_AS_UUID:
            continue
        by_url = row.get("url") == STATUS_URL
        by_name = "dispense status" in str(row.get("source_name") or "").lower()
        code = str(row.get("code") or "").strip().lower()
        if (by_url or by_name) and code in STATUSES:
            return code
    return None


def _substitution(row: Row, ctx: DispenseContext) -> JSON | None:
    if (
        row.get("was_substituted") is None
        and ctx.substitution_type is None
        and ctx.substitution_reason is None
    ):
        return None
    out: JSON = {"wasSubstituted": flag(row.get("was_substituted"))}
    if ctx.substitution_type is not None:
        out["type"] = codeable_concept(ctx.substitution_type)
    if ctx.substitution_reason is not None:
        out["reason"] = [codeable_concept(ctx.substitution_reason)]
    return out


def medication_dispense_resource(row: Row, ctx: DispenseContext) -> JSON:
    """A ``medication_dispense`` row as fhir2's MedicationDispense."""
    out: JSON = {
        "resourceType": "MedicationDispense",
        "id": str(row["uuid"]),
        "meta": meta(row.get("date_created"), row.get("date_changed"), row.get("date_voided")),
        "status": ctx.status or "unknown",
        **medication(row, ctx.order),
    }
    for key, value in (
        ("subject", ref("Patient", ctx.order.patient_uuid)),
        ("context", ref("Encounter", ctx.order.encounter_uuid)),
        ("location", party_ref("Location", ctx.location)),
    ):
        if value:
            out[key] = value
    prescription = ref("MedicationRequest", ctx.prescription_uuid)
    if prescription:
        out["authorizingPrescription"] = [prescription]
    for key, concept in (
        ("statusReasonCodeableConcept", ctx.status_reason),
        ("type", ctx.dispense_type),
    ):
        if concept is not None:
            out[key] = codeable_concept(concept)
    for column, key in (("date_prepared", "whenPrepared"), ("date_handed_over", "whenHandedOver")):
        value = iso(row.get(column))
        if value:
            out[key] = value
    recorded = iso(row.get("date_created"))
    if recorded:
        out["extension"] = [{"url": RECORDED_EXT, "valueDateTime": recorded}]
    out["dosageInstruction"] = [dosage(row, ctx.order)]
    if row.get("quantity") is not None:
        out["quantity"] = unit_quantity(row["quantity"], ctx.order.quantity_units)
    dispenser = party_ref("Practitioner", ctx.dispenser)
    if dispenser:
        out["performer"] = [{"actor": dispenser}]
    substitution = _substitution(row, ctx)
    if substitution:
        out["substitution"] = substitution
    return out
