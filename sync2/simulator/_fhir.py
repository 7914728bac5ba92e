"""Render records as the fhir2 module's R4 JSON (research: openmrs-fhir2-and-schema.md part A).

Functions return plain dicts in FHIR element order; the Hospital caches their compact JSON.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ._concepts import CIEL, DIAGNOSES, SNOMED, Concept, ciel_uuid
from ._records import Encounter, Location, Obs, Patient, Practitioner, Rec
from ._util import fhir_date, fhir_datetime, fhir_instant

OPENMRS_ID_TYPE = ("05a29f94-c0ed-11e2-94be-8c13b969e334", "OpenMRS ID")
NATIONAL_ID_TYPE = ("a5d38e09-efcb-4d91-a526-50ce1ba5011a", "National ID")
PROVIDER_ID_SYSTEM = "http://fhir.openmrs.org/ext/provider/identifier"
USER_ID_SYSTEM = "http://fhir.openmrs.org/ext/user/identifier"
ENCOUNTER_TAG = "http://fhir.openmrs.org/ext/encounter-tag"
LOCATION_TAG = "http://fhir.openmrs.org/ext/location-tag"
ADDRESS_EXT = "http://fhir.openmrs.org/ext/address"
NAME_EXT = "http://fhir.openmrs.org/ext/name"
ID_LOCATION_EXT = "http://fhir.openmrs.org/ext/patient/identifier#location"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERP_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
RANGE_MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
RANGE_ABSOLUTE = "http://fhir.openmrs.org/ext/obs/reference-range"
_INTERP_DISPLAY = {"N": "Normal", "H": "High", "L": "Low"}
_GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown"}
_XHTML = '<div xmlns="http://www.w3.org/1999/xhtml"><table class="hapiPropertyTable"><tbody>'


def _meta(rec: Rec, tag: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"versionId": str(rec.lu * 1000), "lastUpdated": fhir_instant(rec.lu)}
    if tag:
        meta["tag"] = [tag]
    return meta


def _text(rows: list[tuple[str, str]]) -> dict[str, str]:
    """A short HAPI-style narrative (``text.div``); fhir2 always sends one."""
    cells = "".join(f"<tr><td>{k}:</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return {"status": "generated", "div": f"{_XHTML}{cells}</tbody></table></div>"}


def patient_display(p: Patient) -> str:
    return f"{p.full_name} ({OPENMRS_ID_TYPE[1]}: {p.openmrs_id})"


def practitioner_display(pr: Practitioner) -> str:
    return f"{pr.full_name} (Identifier: {pr.identifier})"


def patient_ref(p: Patient) -> dict[str, str]:
    return {"reference": f"Patient/{p.uuid}", "type": "Patient", "display": patient_display(p)}


def practitioner_ref(pr: Practitioner) -> dict[str, Any]:
    """A provider reference as fhir2 prints it (``identifier`` + ``display``)."""
    return {
        "reference": f"Practitioner/{pr.uuid}",
        "type": "Practitioner",
        "identifier": {"value": pr.identifier},
        "display": practitioner_display(pr),
    }


def encounter_ref(e: Encounter) -> dict[str, str]:
    return {"reference": f"Encounter/{e.uuid}", "type": "Encounter"}


def location_ref(loc: Location) -> dict[str, str]:
    return {"reference": f"Location/{loc.uuid}", "type": "Location", "display": loc.name}


def _address(addr: dict[str, str], *, with_district: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lines = [(k, v) for k, v in addr.items() if k.startswith("address") and v]
    if lines:
        out["extension"] = [
            {
                "url": ADDRESS_EXT,
                "extension": [{"url": f"{ADDRESS_EXT}#{k}", "valueString": v} for k, v in lines],
            }
        ]
    for key, fhir_key in (
        ("city", "city"),
        ("county", "district"),
        ("state", "state"),
        ("postal_code", "postalCode"),
        ("country", "country"),
    ):
        if addr.get(key) and (with_district or key != "county"):
            out[fhir_key] = addr[key]
    return out


def patient(p: Patient) -> dict[str, Any]:
    ids = []
    for (type_uuid, type_name), value, uuid, use in (
        (OPENMRS_ID_TYPE, p.openmrs_id, p.oid_uuid, "official"),
        (NATIONAL_ID_TYPE, p.national_id, p.nid_uuid, "usual"),
    ):
        if not value:
            continue
        ident: dict[str, Any] = {"id": uuid}
        if p.id_location is not None:
            ident["extension"] = [
                {"url": ID_LOCATION_EXT, "valueReference": location_ref(p.id_location)}
            ]
        ident.update(
            use=use, type={"coding": [{"code": type_uuid}], "text": type_name}, value=value
        )
        ids.append(ident)
    name: dict[str, Any] = {"id": p.name_uuid}
    if p.prefix:
        name["extension"] = [
            {"url": NAME_EXT, "extension": [{"url": f"{NAME_EXT}#prefix", "valueString": p.prefix}]}
        ]
    name["text"] = p.full_name
    name["family"] = p.family
    name["given"] = [g for g in (p.given, p.middle) if g]
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.uuid,
        "meta": _meta(p),
        "text": _text([("Id", p.uuid), ("Name", p.full_name), ("Gender", p.gender)]),
        "identifier": ids,
        "active": not p.voided,
        "name": [name],
        "gender": _GENDER.get(p.gender, "unknown"),
    }
    if p.birthdate_estimated:
        out["birthDate"] = fhir_date(p.birthdate)[:4]
    else:
        out["birthDate"] = fhir_date(p.birthdate)
    out["deceasedBoolean"] = False
    if p.address:
        out["address"] = [
            {"id": p.address_uuid, **_address(p.address, with_district=True), "use": "home"}
        ]
    return out


def practitioner(pr: Practitioner) -> dict[str, Any]:
    system = USER_ID_SYSTEM if pr.is_user else PROVIDER_ID_SYSTEM
    name: dict[str, Any] = {"id": pr.name_uuid}
    if pr.prefix:
        name["extension"] = [
            {
                "url": NAME_EXT,
                "extension": [{"url": f"{NAME_EXT}#prefix", "valueString": pr.prefix}],
            }
        ]
    name.update(text=pr.full_name, family=pr.family, given=[pr.given])
    return {
        "resourceType": "Practitioner",
        "id": pr.uuid,
        "meta": _meta(pr),
        "text": _text([("Id", pr.uuid), ("Name", pr.full_name)]),
        "identifier": [{"system": system, "value": pr.identifier}],
        "active": not pr.voided,
        "name": [name],
        "gender": _GENDER.get(pr.gender, "unknown"),
    }


def location(loc: Location) -> dict[str, Any]:
    meta = _meta(loc)
    if loc.tags:
        meta["tag"] = [{"system": LOCATION_TAG, "code": n, "display": d} for n, d in loc.tags]
    out: dict[str, Any] = {
        "resourceType": "Location",
        "id": loc.uuid,
        "meta": meta,
        "text": _text([("Id", loc.uuid), ("Name", loc.name)]),
        "status": "inactive" if loc.voided else "active",
        "name": loc.name,
        "description": loc.description,
    }
    if loc.address:
        out["address"] = _address(loc.address, with_district=False)
    if loc.parent is not None and not loc.parent.voided:
        out["partOf"] = location_ref(loc.parent)
    return out


def encounter(e: Encounter) -> dict[str, Any]:
    kind = "visit" if e.is_visit else "encounter"
    out: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": e.uuid,
        "meta": _meta(e, {"system": ENCOUNTER_TAG, "code": kind, "display": kind.capitalize()}),
        "text": _text([("Id", e.uuid), ("Type", e.type[1])]),
        "status": "unknown",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [
            {
                "coding": [
                    {
                        "system": f"http://fhir.openmrs.org/code-system/{'visit-type' if e.is_visit else 'encounter-type'}",  # noqa: E501
                        "code": e.type[0],
                        "display": e.type[1],
                    }
                ]
            }
        ],
        "subject": patient_ref(e.patient),
    }
    if e.providers:
        out["participant"] = [{"individual": practitioner_ref(pr)} for pr in e.providers]
    period = {"start": fhir_datetime(e.start)}
    if e.end is not None:
        period["end"] = fhir_datetime(e.end)
    out["period"] = period
    if not e.location.voided:
        out["location"] = [{"location": location_ref(e.location)}]
    if e.visit is not None:
        out["partOf"] = {"reference": f"Encounter/{e.visit.uuid}", "type": "Encounter"}
    return out


def concept_codeable(c: Concept) -> dict[str, Any]:
    coding: list[dict[str, str]] = [{"code": c.uuid, "display": c.name}]
    coding.extend({"system": s, "code": code} for s, code in c.maps)
    return {"coding": coding, "text": c.name}


def _diagnosis_codeable(name: str) -> dict[str, Any]:
    ciel, snomed = DIAGNOSES[name]
    return {
        "coding": [
            {"code": ciel_uuid(ciel), "display": name},
            {"system": CIEL, "code": str(ciel)},
            {"system": SNOMED, "code": snomed},
        ],
        "text": name,
    }


def format_value(o: Obs) -> str:
    """``obs.getValueAsString``: what fhir2 puts in valueString for groups (members joined)."""
    dt = o.concept.datatype
    if dt == "group":
        return ", ".join(format_value(m) for m in o.members or () if not m.voided)
    if dt == "numeric":
        return f"{float(o.value)}"
    if dt == "datetime":
        return fhir_date(o.value)
    if dt == "boolean":
        return "Yes" if o.value else "No"
    return str(o.value)


def observation(o: Obs) -> dict[str, Any]:
    c = o.concept
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": o.uuid,
        "meta": _meta(o),
        "text": _text(
            [
                ("Id", o.uuid),
                ("Status", o.status.upper()),
                ("Code", c.name),
                ("Value", format_value(o)),
            ]
        ),
        "status": o.status,
    }
    if c.category:
        out["category"] = [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": c.category,
                        "display": c.category.capitalize(),
                    }
                ]
            }
        ]
    out["code"] = concept_codeable(c)
    out["subject"] = patient_ref(o.patient)
    out["encounter"] = encounter_ref(o.encounter)
    out["effectiveDateTime"] = fhir_datetime(o.obs_datetime)
    out["issued"] = fhir_instant(o.date_created)
    dt = c.datatype
    if dt == "boolean":
        out["valueBoolean"] = bool(o.value)
    elif dt == "coded":
        out["valueCodeableConcept"] = _diagnosis_codeable(o.value)
    elif dt == "datetime":
        out["valueDateTime"] = fhir_datetime(o.value)
    elif dt == "numeric":
        q: dict[str, Any] = {"value": o.value if c.allow_decimal else int(o.value), "unit": c.units}
        if c.ucum:
            q.update(system="http://unitsofmeasure.org", code=c.ucum)
        out["valueQuantity"] = q
    else:
        out["valueString"] = format_value(o)
    if o.interp:
        out["interpretation"] = [
            {
                "coding": [
                    {
                        "system": INTERP_SYSTEM,
                        "code": o.interp,
                        "display": _INTERP_DISPLAY[o.interp],
                    }
                ]
            }
        ]
    if dt == "numeric":
        ranges = []
        for rng, system, code in (
            (c.normal, RANGE_MEANING, "normal"),
            (c.absolute, RANGE_ABSOLUTE, "absolute"),
        ):
            if rng:
                ranges.append(
                    {
                        "low": {"value": rng[0], "unit": c.units},
                        "high": {"value": rng[1], "unit": c.units},
                        "type": {"coding": [{"system": system, "code": code}]},
                    }
                )
        out["referenceRange"] = ranges
    if o.members:
        out["hasMember"] = [
            {"reference": f"Observation/{m.uuid}", "type": "Observation"}
            for m in o.members
            if not m.voided
        ]
    return out


RENDERERS = {
    "Patient": patient,
    "Practitioner": practitioner,
    "Location": location,
    "Encounter": encounter,
    "Observation": observation,
}
