"""Order rows -> fhir2's MedicationRequest (drug orders) and ServiceRequest (test orders).

A drug order is an ``orders`` row with a ``drug_order`` row, a test order one with a
``test_order`` row (Hibernate's joined subclasses: the order type does not decide). 1.10+
orders carry ``date_activated`` / ``date_stopped`` / ``order_action`` / ``previous_order_id``
and coded dose units, route and frequency; 1.9 orders carry ``start_date`` / ``discontinued``
and free-text ``units`` / ``frequency``: the source reads 1.9 rows into the 1.10 keys and passes
the free text as ``units_text`` / ``frequency_text``.

Statuses depend on the clock (an order expires without any row changing), so the builders take
``now`` (naive, the database's clock), as fhir2 reads ``new Date()``. DISCONTINUE orders are not
resources (fhir2 never serves them): they show as the ``date_stopped`` of the order they stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._common import JSON, Party, Row, as_datetime, flag, iso, meta, number, party_ref, ref, text
from ._concepts import ConceptInfo, codeable_concept

FULFILLER_EXT = "http://fhir.openmrs.org/ext/medicationrequest/fulfillerstatus"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
RXNORM_URL = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED_URL = "http://snomed.info/sct"
_PRIORITIES = {"ROUTINE": "routine", "ON_SCHEDULED_DATE": "routine", "STAT": "stat"}
#: Duration units by their SNOMED CT code (core's Duration) or UCUM code, as fhir2 reads them.
_DURATION_UNITS = {
    "257997001": "s",
    "258701004": "min",
    "1156209001": "min",
    "258702006": "h",
    "258703001": "d",
    "258705008": "wk",
    "258706009": "mo",
    "258707000": "a",
    **{code: code for code in ("s", "min", "h", "d", "wk", "mo", "a")},
}


@dataclass(frozen=True, slots=True)
class OrderContext:
    """What the source resolved for one order row (concepts by role, references by uuid)."""

    patient_uuid: str | None
    concept: ConceptInfo | None = None
    encounter_uuid: str | None = None
    requester: Party | None = None
    drug: Party | None = None  # (drug uuid, drug name)
    previous: tuple[str, str | None] | None = None  # (order uuid, order number)
    reason: ConceptInfo | None = None
    dose_units: ConceptInfo | None = None
    quantity_units: ConceptInfo | None = None
    route: ConceptInfo | None = None
    frequency: ConceptInfo | None = None
    duration_units: ConceptInfo | None = None


# -- states ----------------------------------------------------------------------------------
def _passed(value: object, now: datetime) -> bool:
    when = as_datetime(value)
    return when is not None and when <= now


def is_active(row: Row, now: datetime) -> bool:
    """OpenMRS's ``Order.isActive``: activated, not stopped, not expired, not voided."""
    if flag(row.get("voided")) or str(row.get("order_action") or "") == "DISCONTINUE":
        return False
    activated = as_datetime(row.get("date_activated"))
    if activated is None or activated > now:
        return False
    return not _passed(row.get("date_stopped"), now) and not _passed(
        row.get("auto_expire_date"), now
    )


def medication_request_status(row: Row, now: datetime) -> str:
    """fhir2's MedicationRequest status: completed, active, cancelled, stopped or unknown.

    >>> now = datetime(2024, 1, 1)
    >>> medication_request_status({"date_activated": datetime(2023, 1, 1)}, now)
    'active'
    >>> medication_request_status(
    ...     {"date_activated": datetime(2023, 1, 1), "date_stopped": datetime(2023, 2, 1)}, now)
    'cancelled'
    >>> medication_request_status(
    ...     {"date_activated": datetime(2023, 1, 1), "auto_expire_date": datetime(2023, 2, 1)}, now)
    'stopped'
    """
    if str(row.get("fulfiller_status") or "").upper() == "COMPLETED":
        return "completed"
    if is_active(row, now):
        return "active"
    if _passed(row.get("date_stopped"), now) or flag(row.get("voided")):
        return "cancelled"
    if _passed(row.get("auto_expire_date"), now):
        return "stopped"
    return "unknown"


def service_request_status(row: Row, now: datetime) -> str:
    """fhir2's ServiceRequest status: revoked (discontinued), completed (ended) or active."""
    activated = _passed(row.get("date_activated"), now)
    ended = activated and (
        _passed(row.get("date_stopped"), now) or _passed(row.get("auto_expire_date"), now)
    )
    discontinued = activated and str(row.get("order_action") or "") == "DISCONTINUE"
    if ended and discontinued:
        return "unknown"
    if discontinued:
        return "revoked"
    return "completed" if ended else "active"


# -- pieces ----------------------------------------------------------------------------------
def unit_quantity(value: object, units: ConceptInfo | None, free_units: object = None) -> JSON:
    """A Quantity; the unit coding is the concept's RxNorm, then SNOMED, then uuid code."""
    out: JSON = {"value": number(value)}
    if units is not None:
        codings = {c.get("system"): c.get("code") for c in units.codings}
        system = next((s for s in (RXNORM_URL, SNOMED_URL) if codings.get(s)), None)
        if system:
            out["system"] = system
        out["code"] = codings[system] if system else units.uuid
        if units.name:
            out["unit"] = units.name
    elif text(free_units):
        out["unit"] = text(free_units)
    return out


def duration_unit(units: ConceptInfo | None) -> str | None:
    """The FHIR unit of time of a duration-units concept, from its SNOMED CT or UCUM code."""
    if units is None:
        return None
    for coding in units.codings:
        found = _DURATION_UNITS.get(str(coding.get("code") or ""))
        if found:
            return found
    return None


def _timing(row: Row, ctx: OrderContext) -> JSON:
    out: JSON = {}
    scheduled = iso(row.get("scheduled_date"))
    if scheduled:
        out["event"] = [scheduled]
    if ctx.frequency is not None:
        out["code"] = codeable_concept(ctx.frequency)
    elif text(row.get("frequency_text")):
        out["code"] = {"text": text(row.get("frequency_text"))}
    repeat: JSON = {}
    if row.get("duration") is not None:
        repeat["duration"] = number(row["duration"])
    unit = duration_unit(ctx.duration_units)
    if unit:
        repeat["durationUnit"] = unit
    if repeat:
        out["repeat"] = repeat
    return out


def dosage(row: Row, ctx: OrderContext) -> JSON:
    """fhir2's Dosage of a drug order (or of a dispense, which has the same columns)."""
    out: JSON = {"asNeededBoolean": flag(row.get("as_needed"))}
    instructions = text(row.get("dosing_instructions"))
    if instructions:
        out["text"] = instructions
    if ctx.route is not None:
        out["route"] = codeable_concept(ctx.route)
    timing = _timing(row, ctx)
    if timing:
        out["timing"] = timing
    extra = text(row.get("instructions"))
    if extra:
        out["additionalInstruction"] = [{"text": extra}]
    if row.get("dose") is not None:
        dose = unit_quantity(row["dose"], ctx.dose_units, row.get("units_text"))
        out["doseAndRate"] = [{"doseQuantity": dose}]
    return out


def medication(row: Row, ctx: OrderContext) -> JSON:
    """``medicationReference`` to the drug, else the concept (free-text drug as its text)."""
    if ctx.drug is not None:
        reference = party_ref("Medication", ctx.drug)
        if reference:
            return {"medicationReference": reference}
    concept: JSON = codeable_concept(ctx.concept) if ctx.concept is not None else {}
    free = text(row.get("drug_non_coded"))
    if free:
        concept["text"] = free
    return {"medicationCodeableConcept": concept}


def order_reference(resource_type: str, previous: tuple[str, str | None]) -> JSON:
    """A reference to an earlier order, with its order number as a placer identifier."""
    out: JSON = {"reference": f"{resource_type}/{previous[0]}", "type": resource_type}
    if previous[1]:
        out["identifier"] = {
            "use": "usual",
            "type": {
                "coding": [
                    {
                        "system": IDENTIFIER_TYPE_SYSTEM,
                        "code": "PLAC",
                        "display": "Placer Identifier",
                    }
                ]
            },
            "value": previous[1],
        }
    return out


def _references(out: JSON, ctx: OrderContext) -> None:
    for key, value in (
        ("subject", ref("Patient", ctx.patient_uuid)),
        ("encounter", ref("Encounter", ctx.encounter_uuid)),
        ("requester", party_ref("Practitioner", ctx.requester)),
    ):
        if value:
            out[key] = value


def _order_meta(row: Row) -> JSON:
    """Orders never change in place but for a stop or a void: the version covers both."""
    return meta(
        row.get("date_created"),
        row.get("date_voided"),
        row.get("stopped_at"),  # when the stopping order (or 1.9 discontinue) was written
    )


# -- resources -------------------------------------------------------------------------------
def medication_request_resource(row: Row, ctx: OrderContext, *, now: datetime) -> JSON:
    """A drug order (``orders`` + ``drug_order``) as fhir2's MedicationRequest."""
    out: JSON = {
        "resourceType": "MedicationRequest",
        "id": str(row["uuid"]),
        "meta": _order_meta(row),
        "status": medication_request_status(row, now),
        "intent": "order",
        **medication(row, ctx),
    }
    authored = iso(row.get("date_created"))
    if authored:
        out["authoredOn"] = authored
    priority = _PRIORITIES.get(str(row.get("urgency") or ""))
    if priority:
        out["priority"] = priority
    _references(out, ctx)
    note = text(row.get("comment_to_fulfiller"))
    if note:
        out["note"] = [{"text": note}]
    if ctx.reason is not None:
        out["reasonCode"] = [codeable_concept(ctx.reason)]
    elif text(row.get("order_reason_non_coded")):
        out["reasonCode"] = [{"text": text(row.get("order_reason_non_coded"))}]
    out["dosageInstruction"] = [dosage(row, ctx)]
    dispense: JSON = {}
    if row.get("quantity") is not None:
        dispense["quantity"] = unit_quantity(row["quantity"], ctx.quantity_units)
    if row.get("num_refills") is not None:
        dispense["numberOfRepeatsAllowed"] = int(row["num_refills"])
    activated = iso(row.get("date_activated"))
    if activated:
        dispense["validityPeriod"] = {"start": activated}
    if dispense:
        out["dispenseRequest"] = dispense
    if ctx.previous is not None:
        out["priorPrescription"] = order_reference("MedicationRequest", ctx.previous)
    fulfiller = text(row.get("fulfiller_status"))
    if fulfiller:
        out["extension"] = [{"url": FULFILLER_EXT, "valueCode": fulfiller}]
    return out


def service_request_resource(row: Row, ctx: OrderContext, *, now: datetime) -> JSON:
    """A test order (``orders`` + ``test_order``) as fhir2's ServiceRequest."""
    out: JSON = {
        "resourceType": "ServiceRequest",
        "id": str(row["uuid"]),
        "meta": _order_meta(row),
        "status": service_request_status(row, now),
        "intent": "order",
    }
    if ctx.concept is not None:
        out["code"] = codeable_concept(ctx.concept)
    _references(out, ctx)
    start = row.get("scheduled_date") if row.get("urgency") == "ON_SCHEDULED_DATE" else None
    period = {
        k: v
        for k, v in (
            ("start", iso(start or row.get("date_activated"))),
            ("end", iso(row.get("date_stopped") or row.get("auto_expire_date"))),
        )
        if v
    }
    if period:
        out["occurrencePeriod"] = period
    if ctx.previous is not None:
        action = str(row.get("order_action") or "")
        key = "basedOn" if action == "RENEW" else "replaces"
        if action in ("RENEW", "REVISE", "DISCONTINUE"):
            out[key] = [order_reference("ServiceRequest", ctx.previous)]
    return out
