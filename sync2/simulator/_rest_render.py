"""Records as OpenMRS REST ``/ws/rest/v1`` JSON (``v=full``), shaped like the real payloads.

The shapes follow ``shared/fixtures/openmrs/rest``: refs are ``{uuid, display, links}``, dates are
``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` with a ``+0000`` offset, links carry the wrong host a server behind
a proxy prints, numeric ``display`` strings use a decimal comma (a localised server) while
``value`` is a number, boolean answers are the True/False concepts, and a voided object read by
uuid is still returned, with ``voided: true``.
"""

from __future__ import annotations

import time
from typing import Any

from ._concepts import CIEL, DIAGNOSES, FALSE_CONCEPT, KINDS, LOINC, SNOMED, Concept, ciel_uuid
from ._fhir import NATIONAL_ID_TYPE, OPENMRS_ID_TYPE
from ._records import Encounter, Location, Obs, Patient, Practitioner, Rec

#: the prefix a misconfigured ``webservices.rest.uriPrefix`` prints (clients must not follow it)
LINK_PREFIX = "http://localhost:8090/openmrslocalhost:8080/openmrs/ws/rest/v1"
ENCOUNTER_ROLE = ("a0b03050-c99b-11e0-9572-0800200c9a66", "Unknown")
_DATATYPES = {
    "numeric": "Numeric",
    "coded": "Coded",
    "text": "Text",
    "datetime": "Datetime",
    "boolean": "Boolean",
    "group": "N/A",
}
_CLASSES = {"laboratory": "Test", "exam": "Finding"}
_SOURCES = {CIEL: "CIEL", LOINC: "LOINC", SNOMED: "SNOMED CT"}
TRUE_FALSE = {True: (ciel_uuid(1065), "True"), False: (FALSE_CONCEPT, "False")}
JSON = dict[str, Any]


def rest_time(epoch: int | None) -> str | None:
    """``2016-04-17T12:00:19.000+0000`` (Jackson's OpenMRS date format)."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(epoch))


def ref(kind: str, uuid: str, display: str | None) -> JSON:
    return {
        "uuid": uuid,
        "display": display,
        "links": [{"rel": "self", "uri": f"{LINK_PREFIX}/{kind}/{uuid}"}],
    }


def _audit(rec: Rec) -> JSON:
    return {
        "creator": {"uuid": "A4F30A1B-5EB9-11DF-A648-37A07F9C90FB", "display": "daemon"},
        "dateCreated": rest_time(rec.date_created),
        "changedBy": None,
        "dateChanged": rest_time(rec.date_changed),
    }


def _tail(kind: str, rec: Rec, version: str = "1.8") -> JSON:
    return {
        "auditInfo": _audit(rec),
        "links": [
            {"rel": "self", "uri": f"{LINK_PREFIX}/{kind}/{rec.uuid}"},
            {"rel": "full", "uri": f"{LINK_PREFIX}/{kind}/{rec.uuid}?v=full"},
        ],
        "resourceVersion": version,
    }


def patient_display(p: Patient) -> str:
    return f"{p.openmrs_id} - {p.full_name}"


def provider_display(pr: Practitioner) -> str:
    return f"{pr.identifier} - {pr.full_name}"


def _identifiers(p: Patient) -> list[JSON]:
    out = []
    for (type_uuid, type_name), value, uuid, preferred in (
        (OPENMRS_ID_TYPE, p.openmrs_id, p.oid_uuid, True),
        (NATIONAL_ID_TYPE, p.national_id, p.nid_uuid, False),
    ):
        if not value:
            continue
        loc = p.id_location
        out.append(
            {
                "display": f"{type_name} = {value}",
                "uuid": uuid,
                "identifier": value,
                "identifierType": ref("patientidentifiertype", type_uuid, type_name),
                "location": ref("location", loc.uuid, loc.name) if loc is not None else None,
                "preferred": preferred,
                "voided": False,
            }
        )
    return out


def _name(p: Patient) -> JSON:
    return {
        "display": p.full_name,
        "uuid": p.name_uuid,
        "givenName": p.given,
        "middleName": p.middle or None,
        "familyName": p.family,
        "familyName2": None,
        "prefix": p.prefix or None,
        "voided": False,
    }


def _address(p: Patient) -> JSON:
    a = p.address
    return {
        "display": a.get("address1") or a.get("city"),
        "uuid": p.address_uuid,
        "preferred": True,
        "address1": a.get("address1"),
        "cityVillage": a.get("city"),
        "countyDistrict": a.get("county"),
        "stateProvince": a.get("state"),
        "country": a.get("country"),
        "postalCode": a.get("postal_code"),
        "voided": False,
    }


def patient(p: Patient) -> JSON:
    born = time.gmtime(p.birthdate)
    now = time.gmtime()
    age = now.tm_year - born.tm_year - ((now.tm_mon, now.tm_mday) < (born.tm_mon, born.tm_mday))
    person: JSON = {
        "uuid": p.uuid,
        "display": p.full_name,
        "gender": p.gender,
        "age": age,
        "birthdate": rest_time(p.birthdate),
        "birthdateEstimated": p.birthdate_estimated,
        "dead": False,
        "deathDate": None,
        "causeOfDeath": None,
        "preferredName": _name(p),
        "preferredAddress": _address(p) if p.address else None,
        "names": [_name(p)],
        "addresses": [_address(p)] if p.address else [],
        "attributes": [],
        "voided": p.voided,
        **_tail("person", p, "1.11"),
    }
    return {
        "uuid": p.uuid,
        "display": patient_display(p),
        "identifiers": _identifiers(p),
        "person": person,
        "voided": p.voided,
        **_tail("patient", p),
    }


def provider(pr: Practitioner) -> JSON:
    return {
        "uuid": pr.uuid,
        "display": provider_display(pr),
        "person": {**ref("person", pr.name_uuid, pr.full_name), "gender": pr.gender},
        "identifier": pr.identifier,
        "attributes": [],
        "retired": pr.voided,
        **_tail("provider", pr, "1.9"),
    }


def location(loc: Location) -> JSON:
    a = loc.address
    parent = loc.parent
    return {
        "uuid": loc.uuid,
        "display": loc.name,
        "name": loc.name,
        "description": loc.description,
        "address1": a.get("address1"),
        "cityVillage": a.get("city"),
        "stateProvince": a.get("state"),
        "country": a.get("country"),
        "postalCode": a.get("postal_code"),
        "countyDistrict": a.get("county"),
        "tags": [
            {**ref("locationtag", f"tag-{name}", name), "name": name, "description": description}
            for name, description in loc.tags
        ],
        "parentLocation": ref("location", parent.uuid, parent.name) if parent else None,
        "childLocations": [],
        "retired": loc.voided,
        "attributes": [],
        **_tail("location", loc, "2.0"),
    }


def encounter(e: Encounter) -> JSON:
    """An encounter (with its top-level, non-voided obs trees) or a visit."""
    if e.is_visit:
        return _visit(e)
    top = [o for o in e.obs if o.group is None and not o.voided]
    return {
        "uuid": e.uuid,
        "display": f"{e.type[1]} {time.strftime('%d/%m/%Y', time.gmtime(e.start))}",
        "encounterDatetime": rest_time(e.start),
        "patient": ref("patient", e.patient.uuid, patient_display(e.patient)),
        "location": None
        if e.location.voided
        else ref("location", e.location.uuid, e.location.name),
        "form": None,
        "encounterType": ref("encountertype", e.type[0], e.type[1]),
        "obs": [observation(o) for o in top],
        "orders": [],
        "voided": e.voided,
        "visit": ref("visit", e.visit.uuid, e.visit.type[1]) if e.visit else None,
        "encounterProviders": [
            {
                "uuid": f"ep-{e.uuid[3:]}-{i}",
                "provider": ref("provider", pr.uuid, provider_display(pr)),
                "encounterRole": ref("encounterrole", *ENCOUNTER_ROLE),
                "voided": False,
            }
            for i, pr in enumerate(e.providers)
        ],
        "diagnoses": [],
        **_tail("encounter", e, "2.2"),
    }


def _visit(v: Encounter) -> JSON:
    return {
        "uuid": v.uuid,
        "display": f"{v.type[1]} @ {v.location.name}",
        "patient": ref("patient", v.patient.uuid, patient_display(v.patient)),
        "visitType": ref("visittype", v.type[0], v.type[1]),
        "indication": None,
        "location": None
        if v.location.voided
        else ref("location", v.location.uuid, v.location.name),
        "startDatetime": rest_time(v.start),
        "stopDatetime": rest_time(v.end),
        "encounters": [],
        "attributes": [],
        "voided": v.voided,
        **_tail("visit", v, "1.9"),
    }


def _value(o: Obs) -> Any:
    dt = o.concept.datatype
    if dt == "numeric":
        return float(o.value)
    if dt == "coded":
        return concept_ref(ciel_uuid(DIAGNOSES[o.value][0]), o.value)
    if dt == "boolean":
        return concept_ref(*TRUE_FALSE[bool(o.value)])
    if dt == "datetime":
        return rest_time(o.value)
    if dt == "group":
        return None
    return str(o.value)


def _display_value(o: Obs) -> str:
    """A French-locale display (decimal comma): what a client must never parse."""
    if o.concept.datatype == "numeric":
        return f"{float(o.value)}".replace(".", ",")
    if o.concept.datatype == "group":
        return ", ".join(_display_value(m) for m in o.members or () if not m.voided)
    value = _value(o)
    return str(value["display"] if isinstance(value, dict) else value)


def concept_ref(uuid: str, name: str) -> JSON:
    return {**ref("concept", uuid, name), "name": {"display": name, "name": name}}


def observation(o: Obs) -> JSON:
    c = o.concept
    members = None
    if o.members is not None:
        members = [observation(m) for m in o.members]
    return {
        "uuid": o.uuid,
        "display": f"{c.name}: {_display_value(o)}",
        "concept": ref("concept", c.uuid, c.name),
        "person": ref("patient", o.patient.uuid, patient_display(o.patient)),
        "obsDatetime": rest_time(o.obs_datetime),
        "accessionNumber": None,
        "obsGroup": ref("obs", o.group.uuid, o.group.concept.name) if o.group else None,
        "valueCodedName": None,
        "groupMembers": members,
        "comment": None,
        "location": ref("location", o.encounter.location.uuid, o.encounter.location.name),
        "order": None,
        "encounter": ref("encounter", o.encounter.uuid, o.encounter.type[1]),
        "voided": o.voided,
        "value": _value(o),
        "valueModifier": None,
        "status": o.status.upper(),
        "interpretation": {"N": "NORMAL", "H": "HIGH", "L": "LOW"}.get(o.interp or ""),
        **_tail("obs", o, "1.11"),
    }


def _mapping(system: str, code: str) -> JSON:
    text = f"{_SOURCES.get(system, system)}: {code}"
    return {
        "display": text,
        "conceptReferenceTerm": {"display": text},
        "conceptMapType": {"display": "SAME-AS"},
    }


def concept(uuid: str) -> JSON | None:
    """``concept/{uuid}?v=full`` for the simulator's dictionary, or None when unknown."""
    for c in KINDS.values():
        if c.uuid == uuid:
            return concept_json(c)
    for name, (ciel, snomed) in DIAGNOSES.items():
        if ciel_uuid(ciel) == uuid:
            maps = ((CIEL, str(ciel)), (SNOMED, snomed))
            return concept_json(Concept(str(ciel), name, "coded", maps=maps))
    for value, (tf_uuid, name) in TRUE_FALSE.items():
        if tf_uuid == uuid:
            return concept_json(Concept(str(1065 if value else 1066), name, "group"))
    return None


def concept_json(c: Concept) -> JSON:
    """A concept in its full (or default) representation: datatype, class, mappings."""
    out: JSON = {
        **concept_ref(c.uuid, c.name),
        "datatype": {"display": _DATATYPES[c.datatype]},
        "conceptClass": {"display": _CLASSES.get(c.category or "", "Misc")},
        "set": c.datatype == "group",
        "mappings": [_mapping(system, code) for system, code in c.maps],
        "retired": False,
    }
    if c.datatype == "numeric":
        out.update(units=c.units, allowDecimal=c.allow_decimal)
        if c.normal:
            out.update(lowNormal=c.normal[0], hiNormal=c.normal[1])
        if c.absolute:
            out.update(lowAbsolute=c.absolute[0], hiAbsolute=c.absolute[1])
    return out
