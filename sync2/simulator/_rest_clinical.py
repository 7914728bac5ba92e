"""The whole-history rows through REST: ``patient/{p}/allergy``, ``condition``,
``patientdiagnoses``, ``order``, ``medicationdispense``, plus ``user`` and ``caresetting``,
shaped as webservices.rest 2.2-2.6 answers ``v=full``.

What the real resources do and this reproduces: a condition's ``condition`` and a diagnosis's
``diagnosis`` are CodedOrFreeText objects (``coded`` = the concept in default rep, with its
mappings); statuses are Java enum names (``ACTIVE``, ``CONFIRMED``); nobody but the creating
*user* is named on a condition (its ref shows a username; ``user/{uuid}`` names the person);
``condition?patientUuid=`` lists active conditions unless ``includeInactive=true``;
``order?patient=`` lists active orders unless ``status=any``, which needs a ``careSetting``;
a dispense's status is a concept mapped to the HL7 medicationdispense-status codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _rest_render as render
from ._concepts import (
    ALLERGENS,
    CIEL,
    DIAGNOSES,
    DRUGS,
    FREQUENCIES,
    LOINC,
    ORAL,
    REACTIONS,
    SNOMED,
    TESTS,
    Concept,
    ciel_uuid,
)
from ._hospital import Hospital
from ._records import (
    Allergy,
    Condition,
    Dispense,
    DrugOrder,
    Encounter,
    Order,
    Practitioner,
    Rec,
    TestOrder,
)
from ._util import hashed_uuid

JSON = dict[str, Any]
OUTPATIENT = "6f0c9a92-6f24-11e3-af88-005056821db0"
INPATIENT = "c365e560-c3ec-11e3-9c1a-0800200c9a66"
CARE_SETTINGS = (("Outpatient", OUTPATIENT), ("Inpatient", INPATIENT))
DAYS = (1072, "Days")
DISPENSE_STATUS_SOURCE = "HL7 Medication Dispense Status"


def user_uuid(pr: Practitioner) -> str:
    """The login behind a provider (the simulator keeps one per provider)."""
    return hashed_uuid("user", pr.uuid)


def username(pr: Practitioner) -> str:
    return f"u{pr.identifier}".lower()


def _audit(rec: Rec, pr: Practitioner | None) -> JSON:
    creator = render.ref("user", user_uuid(pr), username(pr)) if pr is not None else None
    return {
        "creator": creator,
        "dateCreated": render.rest_time(rec.date_created),
        "changedBy": None,
        "dateChanged": render.rest_time(rec.date_changed),
    }


def _tail(kind: str, rec: Rec, pr: Practitioner | None, version: str) -> JSON:
    return {
        "auditInfo": _audit(rec, pr),
        "links": [{"rel": "self", "uri": f"{render.LINK_PREFIX}/{kind}/{rec.uuid}"}],
        "resourceVersion": version,
    }


def _patient(rec: Any) -> JSON:
    return render.ref("patient", rec.patient.uuid, render.patient_display(rec.patient))


def _coded(name: str, ciel: int, *maps: tuple[str, str]) -> JSON:
    return render.concept_json(Concept(str(ciel), name, "coded", maps=((CIEL, str(ciel)), *maps)))


def _encounter(e: Encounter | None) -> JSON | None:
    """An encounter in default rep (what a diagnosis and a dispense carry)."""
    if e is None:
        return None
    return {
        **render.ref("encounter", e.uuid, e.type[1]),
        "encounterDatetime": render.rest_time(e.start),
        "patient": render.ref("patient", e.patient.uuid, render.patient_display(e.patient)),
        "location": render.ref("location", e.location.uuid, e.location.name),
        "voided": e.voided,
    }


def user(pr: Practitioner) -> JSON:
    return {
        "uuid": user_uuid(pr),
        "display": username(pr),
        "username": username(pr),
        "systemId": pr.identifier,
        "person": render.ref("person", pr.name_uuid, pr.full_name),
        "retired": False,
    }


def condition(c: Condition) -> JSON:
    ciel, snomed = DIAGNOSES[c.diagnosis]
    return {
        "uuid": c.uuid,
        "display": c.diagnosis,
        "condition": {"coded": _coded(c.diagnosis, ciel, (SNOMED, snomed))},
        "patient": _patient(c),
        "clinicalStatus": c.status.upper(),
        "verificationStatus": c.certainty.upper(),
        "previousVersion": None,
        "onsetDate": render.rest_time(c.onset),
        "endDate": render.rest_time(c.end),
        "additionalDetail": None,
        "voided": c.voided,
        **_tail("condition", c, c.provider, "2.2"),
    }


def diagnosis(c: Condition) -> JSON:
    ciel, snomed = DIAGNOSES[c.diagnosis]
    return {
        "uuid": c.uuid,
        "display": c.diagnosis,
        "diagnosis": {"coded": _coded(c.diagnosis, ciel, (SNOMED, snomed))},
        "patient": _patient(c),
        "condition": None,
        "encounter": _encounter(c.encounter),
        "certainty": c.certainty.upper(),
        "rank": c.rank,
        "formFieldNamespace": None,
        "formFieldPath": None,
        "voided": c.voided,
        **_tail("patientdiagnoses", c, c.provider, "2.5"),
    }


_ALLERGEN_TYPES = {"medication": "DRUG", "food": "FOOD", "environment": "ENVIRONMENT"}
_SEVERITIES = {"mild": (1498, "Mild"), "moderate": (1499, "Moderate"), "severe": (1500, "Severe")}


def allergy(a: Allergy) -> JSON:
    """``patient/{p}/allergy/{uuid}``: allergen, severity and reactions as concept refs."""
    ciel, category = ALLERGENS[a.allergen]
    severity, severity_name = _SEVERITIES[a.severity]
    return {
        "uuid": a.uuid,
        "display": a.allergen,
        "allergen": {
            "allergenType": _ALLERGEN_TYPES[category],
            "codedAllergen": render.concept_ref(ciel_uuid(ciel), a.allergen),
            "nonCodedAllergen": None,
        },
        "severity": render.concept_ref(ciel_uuid(severity), severity_name),
        "comment": a.comment or None,
        "reactions": [
            {"reaction": render.concept_ref(ciel_uuid(REACTIONS[r]), r), "reactionNonCoded": None}
            for r in a.reactions
        ],
        "patient": _patient(a),
        "voided": a.voided,
        **_tail(f"patient/{a.patient.uuid}/allergy", a, a.provider, "1.8"),
    }


def patient_allergies(h: Hospital, patient: str, uuid: str | None) -> tuple[int, JSON]:
    """``patient/{p}/allergy`` (its live allergies) or ``patient/{p}/allergy/{uuid}``."""
    p = h.patients.get(patient)
    if p is None:
        return 404, {"error": {"message": f"Object with given uuid doesn't exist [{patient}]"}}
    rows = [r for r in p.clinical if isinstance(r, Allergy)]  # type: ignore[attr-defined]
    if uuid is None:
        return 200, {"results": [allergy(r) for r in rows if not r.voided]}
    found = [r for r in rows if r.uuid == uuid]
    if not found:
        return 404, {"error": {"message": f"Object with given uuid doesn't exist [{uuid}]"}}
    return 200, allergy(found[0])


def _unit(name: str) -> JSON:
    return render.concept_ref(hashed_uuid("unit", name), name)


def _drug(name: str) -> JSON:
    return render.ref("drug", ciel_uuid(DRUGS[name][0]), name)


def _frequency(name: str) -> JSON:
    concept = render.concept_ref(ciel_uuid(FREQUENCIES[name]), name)
    return {**render.ref("orderfrequency", hashed_uuid("freq", name), name), "concept": concept}


def _dosing(o: DrugOrder) -> JSON:
    return {
        "dosingType": "org.openmrs.SimpleDosingInstructions",
        "dose": o.dose,
        "doseUnits": _unit(DRUGS[o.drug][1]),
        "frequency": _frequency(o.frequency),
        "route": render.concept_ref(ciel_uuid(ORAL[0]), ORAL[1]),
        "asNeeded": False,
    }


def order(o: Order) -> JSON:
    drug = isinstance(o, DrugOrder)
    java = "org.openmrs.DrugOrder" if drug else "org.openmrs.TestOrder"
    out: JSON = {
        "uuid": o.uuid,
        "orderNumber": f"ORD-{o.seq}",
        "patient": _patient(o),
        "action": o.action,
        "careSetting": {
            **render.ref("caresetting", OUTPATIENT, "Outpatient"),
            "name": "Outpatient",
        },
        "previousOrder": render.ref("order", o.previous.uuid, None) if o.previous else None,
        "dateActivated": render.rest_time(o.activated),
        "scheduledDate": None,
        "dateStopped": render.rest_time(o.stopped),
        "autoExpireDate": render.rest_time(o.auto_expire),
        "encounter": render.ref("encounter", o.encounter.uuid, None) if o.encounter else None,
        "orderer": render.ref("provider", o.provider.uuid, render.provider_display(o.provider))
        if o.provider
        else None,
        "orderType": {"uuid": hashed_uuid("ordertype", java), "javaClassName": java},
        "urgency": "ROUTINE",
        "voided": o.voided,
        "type": "drugorder" if drug else "testorder",
        **_tail("order", o, o.provider, "1.10"),
    }
    if isinstance(o, DrugOrder):
        ciel = DRUGS[o.drug][0]
        out["display"] = f"({o.action}) {o.drug}"
        out["concept"] = render.concept_ref(ciel_uuid(ciel), o.drug)
        out["drug"] = _drug(o.drug)
        out.update(_dosing(o), duration=o.duration)
        out["durationUnits"] = render.concept_ref(ciel_uuid(DAYS[0]), DAYS[1])
    else:
        ciel, loinc, _kind = TESTS[o.test]  # type: ignore[attr-defined]
        out["display"] = o.test  # type: ignore[attr-defined]
        out["concept"] = _coded(o.test, ciel, (LOINC, loinc))  # type: ignore[attr-defined]
    return out


def _status(code: str) -> JSON:
    text = f"{DISPENSE_STATUS_SOURCE}: {code}"
    mapping = {"display": text, "conceptMapType": {"display": "SAME-AS"}}
    return {
        **render.concept_ref(hashed_uuid("dispense-status", code), code.title()),
        "mappings": [mapping],
    }


def dispense(d: Dispense) -> JSON:
    o = d.order
    location = d.encounter.location if d.encounter is not None else None
    return {
        "uuid": d.uuid,
        "display": f"(Completed) {o.drug}: {d.quantity} {DRUGS[o.drug][1]}",
        "patient": _patient(d),
        "encounter": _encounter(d.encounter),
        "concept": render.concept_ref(ciel_uuid(DRUGS[o.drug][0]), o.drug),
        "drug": _drug(o.drug),
        "location": render.ref("location", location.uuid, location.name) if location else None,
        "dispenser": render.ref("provider", d.provider.uuid, render.provider_display(d.provider))
        if d.provider
        else None,
        "drugOrder": render.ref("order", o.uuid, f"({o.action}) {o.drug}"),
        "status": _status("completed"),
        "quantity": d.quantity,
        "quantityUnits": _unit(DRUGS[o.drug][1]),
        **_dosing(o),
        "dosingInstructions": None,
        "datePrepared": None,
        "dateHandedOver": render.rest_time(d.date_created),
        "wasSubstituted": False,
        "voided": d.voided,
        **_tail("medicationdispense", d, d.provider, "2.6"),
    }


def readers(h: Hospital) -> dict[str, Callable[[str], JSON | None]]:
    """REST kind -> read by uuid (voided rows too), for the whole-history kinds."""

    def conditions(want_diagnosis: bool) -> Callable[[str], JSON | None]:
        def read(uuid: str) -> JSON | None:
            rec = h.tables["Condition"].get(uuid)
            if not isinstance(rec, Condition) or (rec.rank is not None) != want_diagnosis:
                return None
            return diagnosis(rec) if want_diagnosis else condition(rec)

        return read

    def read_order(uuid: str) -> JSON | None:
        rec = h.tables["MedicationRequest"].get(uuid) or h.tables["ServiceRequest"].get(uuid)
        return order(rec) if isinstance(rec, Order) else None

    def read_dispense(uuid: str) -> JSON | None:
        rec = h.tables["MedicationDispense"].get(uuid)
        return dispense(rec) if isinstance(rec, Dispense) else None

    def read_user(uuid: str) -> JSON | None:
        found = [pr for pr in h.practitioners.rows if user_uuid(pr) == uuid]  # type: ignore[arg-type]
        return user(found[0]) if found else None  # type: ignore[arg-type]

    return {
        "condition": conditions(False),
        "patientdiagnoses": conditions(True),
        "order": read_order,
        "medicationdispense": read_dispense,
        "user": read_user,
    }


def care_settings() -> JSON:
    return {
        "results": [
            {**render.ref("caresetting", uuid, name), "name": name, "careSettingType": name.upper()}
            for name, uuid in CARE_SETTINGS
        ]
    }


def _active(o: Order) -> bool:
    return o.action != "DISCONTINUE" and o.stopped is None and o.auto_expire is None


def matches(h: Hospital, kind: str, params: dict[str, str]) -> list[Rec] | None:
    """Live rows a whole-history search finds; None when ``kind`` is not one of them or the
    search lacks what the real resource needs."""
    uuid = params.get("patientUuid") if kind in ("condition", "patientdiagnoses") else None
    uuid = uuid or params.get("patient")
    patient = h.patients.get(uuid) if uuid else None
    rows: list[Any] = list(patient.clinical) if patient is not None else []  # type: ignore[attr-defined]
    live = [r for r in rows if not r.voided]
    if kind == "condition" and uuid:
        every = params.get("includeInactive", "").lower() == "true"
        found = [r for r in live if isinstance(r, Condition) and r.rank is None]
        return [r for r in found if every or r.status == "active"]
    if kind == "patientdiagnoses" and uuid:
        return [r for r in live if isinstance(r, Condition) and r.rank is not None]
    if kind == "medicationdispense" and uuid:
        return [r for r in live if isinstance(r, Dispense)]
    if kind == "order" and uuid:
        return _orders(live, params)
    return None


def _orders(live: list[Any], params: dict[str, str]) -> list[Rec] | None:
    orders = [r for r in live if isinstance(r, Order)]
    subtype = params.get("t")
    if subtype:
        wanted = DrugOrder if subtype == "drugorder" else TestOrder
        return [o for o in orders if isinstance(o, wanted) and _active(o)]
    if params.get("status") != "any":
        return [o for o in orders if _active(o)]
    if params.get("careSetting") not in (OUTPATIENT, INPATIENT):
        return None  # OrderService.getOrders: "CareSetting is required"
    return orders if params["careSetting"] == OUTPATIENT else []
