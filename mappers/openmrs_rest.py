"""OpenMRS REST (``/ws/rest/v1``, ``v=full``) objects -> the rows ``openmrs_rows`` builds FHIR from.

A server without fhir2 still answers REST. Rather than a second set of mappers, each REST object
is read into the row shape the MySQL adapter hands to :mod:`mappers.openmrs_rows`, so both kinds
of hospital end as the same fhir2-shaped resources and go through the same mappers after that.

What real REST output holds (fixtures in ``shared/fixtures/openmrs/rest``): dates as
``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` with ``+0530`` offsets (or epoch milliseconds in Bahmni payloads),
localised ``display`` strings (decimal commas) that must never be parsed for values, links with
broken prefixes (never followed here), and ``voided`` on whole objects and on group members.
Pure: JSON dicts in, dicts out; concepts arrive already fetched (an obs carries only a concept ref).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .openmrs_rows import (
    ConceptInfo,
    EncounterContext,
    ObsContext,
    concept_codings,
    encounter_resource,
    location_resource,
    observation_resource,
    patient_resource,
    practitioner_resource,
    source_system,
)

JSON = dict[str, Any]
VISIT_TYPE_SYSTEM = "http://fhir.openmrs.org/code-system/visit-type"
ENCOUNTER_TAG_SYSTEM = "http://fhir.openmrs.org/ext/encounter-tag"
RANGE_ABSOLUTE = "http://fhir.openmrs.org/ext/obs/reference-range"
#: REST datatype display -> the HL7 abbreviation ``openmrs_rows`` keys on.
_DATATYPES = {
    "numeric": "NM",
    "coded": "CWE",
    "text": "ST",
    "boolean": "BIT",
    "date": "DT",
    "time": "TM",
    "datetime": "TS",
    "n/a": "ZZ",
    "complex": "ED",
    "document": "RP",
}
_TRUE = frozenset({"true", "yes"})
_ADDRESS_FIELDS = {
    "cityVillage": "city_village",
    "countyDistrict": "county_district",
    "stateProvince": "state_province",
    "postalCode": "postal_code",
    "country": "country",
    **{f"address{i}": f"address{i}" for i in range(1, 16)},
}


class RestShapeError(ValueError):
    """A REST object lacks what a resource cannot do without (its uuid, its patient)."""


# -- small readers ---------------------------------------------------------------------------
def rest_datetime(value: Any) -> datetime | None:
    """A REST date as a naive UTC datetime (what ``openmrs_rows`` reads), or ``None``.

    >>> rest_datetime("2016-04-17T12:00:19.000+0530")
    datetime.datetime(2016, 4, 17, 6, 30, 19)
    >>> rest_datetime(1714473839000), rest_datetime("016-04-29T06:51:46Z")
    (datetime.datetime(2024, 4, 30, 10, 43, 59), None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):  # Bahmni: epoch milliseconds
        return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0530 -> +05:30
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def rest_date(value: Any) -> date | None:
    """A birthdate: the server's local calendar day (``+0530`` midnight is not the day before).

    >>> rest_date("1983-01-01T00:00:00.000+0530")
    datetime.date(1983, 1, 1)
    """
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    moment = rest_datetime(value)
    return moment.date() if moment else None


def uuid_of(value: Any) -> str | None:
    """The uuid of a ref, default or full representation (``None`` for null refs)."""
    if isinstance(value, dict) and isinstance(value.get("uuid"), str) and value["uuid"]:
        return str(value["uuid"])
    return None


def display_of(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("display"), str):
        return str(value["display"])
    return None


def is_voided(obj: Mapping[str, Any]) -> bool:
    """Voided (patients, encounters, obs, orders) or retired (locations, providers)."""
    return obj.get("voided") is True or obj.get("retired") is True


def _audit(obj: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    info = obj.get("auditInfo")
    if not isinstance(info, dict):
        return None, None
    return rest_datetime(info.get("dateCreated")), rest_datetime(info.get("dateChanged"))


def _need_uuid(obj: Any, what: str) -> str:
    uuid = uuid_of(obj)
    if uuid is None:
        msg = f"REST {what} has no uuid"
        raise RestShapeError(msg)
    return uuid


# -- Patient ----------------------------------------------------------------------------------
def _name_row(name: Mapping[str, Any], preferred_uuid: str | None) -> JSON:
    return {
        "uuid": name.get("uuid") or "",
        "prefix": name.get("prefix"),
        "given_name": name.get("givenName"),
        "middle_name": name.get("middleName"),
        "family_name_prefix": name.get("familyNamePrefix"),
        "family_name": name.get("familyName"),
        "family_name2": name.get("familyName2"),
        "family_name_suffix": name.get("familyNameSuffix"),
        "degree": name.get("degree"),
        "preferred": name.get("preferred") is True or name.get("uuid") == preferred_uuid,
        "voided": name.get("voided") is True,
    }


def _address_row(addr: Mapping[str, Any]) -> JSON:
    row: JSON = {column: addr.get(key) for key, column in _ADDRESS_FIELDS.items()}
    row.update(uuid=addr.get("uuid"), preferred=addr.get("preferred") is True)
    row["voided"] = addr.get("voided") is True
    return row


def _identifier_row(ident: Mapping[str, Any]) -> JSON:
    return {
        "uuid": ident.get("uuid") or "",
        "identifier": ident.get("identifier"),
        "type_uuid": uuid_of(ident.get("identifierType")),
        "type_name": display_of(ident.get("identifierType")),
        "location_uuid": uuid_of(ident.get("location")),
        "location_name": display_of(ident.get("location")),
        "preferred": ident.get("preferred") is True,
        "voided": ident.get("voided") is True,
    }


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def patient_from_rest(obj: Mapping[str, Any], *, today: date) -> JSON:
    """``patient/{uuid}?v=full`` as fhir2's Patient (a ``person`` object is read the same)."""
    uuid = _need_uuid(obj, "patient")
    person = obj.get("person") if isinstance(obj.get("person"), dict) else obj
    assert isinstance(person, dict)
    created, changed = _audit(obj)
    p_created, p_changed = _audit(person)
    born = rest_date(person.get("birthdate"))
    row: JSON = {
        "uuid": uuid,
        "gender": person.get("gender"),
        "birthdate": datetime(born.year, born.month, born.day) if born else None,
        "birthdate_estimated": person.get("birthdateEstimated") is True,
        "dead": person.get("dead") is True,
        "death_date": rest_datetime(person.get("deathDate")),
        "date_created": p_created,
        "date_changed": p_changed,
        "patient_date_created": created,
        "patient_date_changed": changed,
        "patient_voided": is_voided(obj),
    }
    preferred = uuid_of(person.get("preferredName"))
    names = [_name_row(n, preferred) for n in _dicts(person.get("names"))]
    if not names and isinstance(person.get("preferredName"), dict):
        names = [_name_row(person["preferredName"], preferred)]
    addresses = [_address_row(a) for a in _dicts(person.get("addresses"))]
    identifiers = [
        _identifier_row(i) for i in _dicts(obj.get("identifiers")) if i.get("identifier")
    ]  # a ref-rep identifier carries no value: nothing to match on
    out = patient_resource(row, names, identifiers, addresses, today=today)
    shown = display_of(person.get("preferredName")) or display_of(person)
    for name in out.get("name", []):  # a ref-rep name has only its display
        if shown and not name.get("text"):
            name["text"] = shown
    return out


# -- Practitioner, Location -------------------------------------------------------------------
def provider_name(provider: Mapping[str, Any]) -> str | None:
    """A provider's person name: the person's display, else the tail of ``"{id} - {name}"``."""
    name = display_of(provider.get("person")) or provider.get("name")
    if isinstance(name, str) and name:
        return name
    display = display_of(provider) or ""
    return display.split(" - ", 1)[1] if " - " in display else (display or None)


def practitioner_from_rest(obj: Mapping[str, Any]) -> JSON:
    """``provider/{uuid}?v=full`` as fhir2's Practitioner."""
    created, changed = _audit(obj)
    person = obj.get("person") if isinstance(obj.get("person"), dict) else {}
    row = {
        "uuid": _need_uuid(obj, "provider"),
        "identifier": obj.get("identifier"),
        "name": provider_name(obj),
        "retired": obj.get("retired") is True,
        "date_created": created,
        "date_changed": changed,
        "gender": person.get("gender") if isinstance(person, dict) else None,
    }
    return practitioner_resource(row)


def location_from_rest(obj: Mapping[str, Any]) -> JSON:
    """``location/{uuid}?v=full`` as fhir2's Location."""
    created, changed = _audit(obj)
    row: JSON = {column: obj.get(key) for key, column in _ADDRESS_FIELDS.items()}
    row.update(
        uuid=_need_uuid(obj, "location"),
        name=obj.get("name") or display_of(obj),
        description=obj.get("description"),
        retired=obj.get("retired") is True,
        date_created=created,
        date_changed=changed,
    )
    tags = [
        {"name": t.get("name") or t.get("display"), "description": t.get("description")}
        for t in _dicts(obj.get("tags"))
        if t.get("name") or t.get("display")
    ]
    return location_resource(row, parent_uuid=uuid_of(obj.get("parentLocation")), tags=tags)


# -- Encounter, visit -------------------------------------------------------------------------
def _participants(obj: Mapping[str, Any]) -> tuple[tuple[str, str | None, str | None], ...]:
    out = []
    for link in _dicts(obj.get("encounterProviders")):
        provider = link.get("provider")
        uuid = uuid_of(provider)
        if uuid is None or link.get("voided") is True or not isinstance(provider, dict):
            continue
        ident = provider.get("identifier")
        out.append((uuid, ident if isinstance(ident, str) else None, provider_name(provider)))
    return tuple(out)


def encounter_from_rest(obj: Mapping[str, Any]) -> JSON:
    """``encounter/{uuid}?v=full`` as fhir2's Encounter (obs: :func:`observations_from_rest`)."""
    uuid = _need_uuid(obj, "encounter")
    created, changed = _audit(obj)
    ctx = EncounterContext(
        patient_uuid=uuid_of(obj.get("patient")),
        type_uuid=uuid_of(obj.get("encounterType")),
        type_name=display_of(obj.get("encounterType")),
        location_uuid=uuid_of(obj.get("location")),
        location_name=display_of(obj.get("location")),
        visit_uuid=uuid_of(obj.get("visit")),
        participants=_participants(obj),
    )
    row = {
        "uuid": uuid,
        "encounter_datetime": rest_datetime(obj.get("encounterDatetime")),
        "date_created": created,
        "date_changed": changed,
    }
    return encounter_resource(row, ctx)


def visit_from_rest(obj: Mapping[str, Any]) -> JSON:
    """``visit/{uuid}?v=full`` as fhir2's visit Encounter (tagged ``visit``, visit-type coded)."""
    uuid = _need_uuid(obj, "visit")
    created, changed = _audit(obj)
    ctx = EncounterContext(
        patient_uuid=uuid_of(obj.get("patient")),
        location_uuid=uuid_of(obj.get("location")),
        location_name=display_of(obj.get("location")),
    )
    row = {
        "uuid": uuid,
        "encounter_datetime": rest_datetime(obj.get("startDatetime")),
        "date_created": created,
        "date_changed": changed,
    }
    out = encounter_resource(row, ctx)
    out["meta"]["tag"] = [{"system": ENCOUNTER_TAG_SYSTEM, "code": "visit", "display": "Visit"}]
    visit_type = obj.get("visitType")
    if uuid_of(visit_type):
        coding: JSON = {"system": VISIT_TYPE_SYSTEM, "code": uuid_of(visit_type)}
        if display_of(visit_type):
            coding["display"] = display_of(visit_type)
        out["type"] = [{"coding": [coding]}]
    stop = rest_datetime(obj.get("stopDatetime"))
    if stop is not None:
        out.setdefault("period", {})["end"] = stop.replace(tzinfo=UTC).isoformat()
    return out


# -- concepts and obs -------------------------------------------------------------------------
def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mapping_row(mapping: Mapping[str, Any]) -> JSON:
    """One concept mapping; ``display`` is ``"SOURCE: code"`` in every representation."""
    term = mapping.get("conceptReferenceTerm")
    text = display_of(term) or display_of(mapping) or ""
    source, _, code = text.partition(": ")
    return {
        "system": source_system(source, None),
        "code": code.strip() or None,
        "map_type": display_of(mapping.get("conceptMapType")) or "SAME-AS",
    }


@dataclass(frozen=True, slots=True)
class RestConceptInfo(ConceptInfo):
    """A concept as REST gives it: also its absolute range (fhir2 emits it as a range type)."""

    low_absolute: float | None = None
    hi_absolute: float | None = None


def concept_info(obj: Mapping[str, Any]) -> RestConceptInfo:
    """A ``concept/{uuid}?v=full`` (or a bare concept ref) as what an obs needs of it."""
    name = display_of(obj.get("name")) or display_of(obj)
    datatype = (display_of(obj.get("datatype")) or "").strip().lower()
    allow = obj.get("allowDecimal", obj.get("precise"))
    return RestConceptInfo(
        uuid=_need_uuid(obj, "concept"),
        name=name,
        codings=tuple(concept_codings(_mapping_row(m) for m in _dicts(obj.get("mappings")))),
        datatype=_DATATYPES.get(datatype),
        class_name=display_of(obj.get("conceptClass")),
        units=obj.get("units") if isinstance(obj.get("units"), str) else None,
        allow_decimal=allow if isinstance(allow, bool) else None,
        low_normal=_float(obj.get("lowNormal")),
        hi_normal=_float(obj.get("hiNormal")),
        low_critical=_float(obj.get("lowCritical")),
        hi_critical=_float(obj.get("hiCritical")),
        low_absolute=_float(obj.get("lowAbsolute")),
        hi_absolute=_float(obj.get("hiAbsolute")),
    )


def _absolute_range(concept: ConceptInfo) -> JSON | None:
    """fhir2's absolute range (its own range-type system), which the row path does not carry."""
    if not isinstance(concept, RestConceptInfo):
        return None
    if concept.low_absolute is None and concept.hi_absolute is None:
        return None
    unit = {"unit": concept.units} if concept.units else {}
    out: JSON = {}
    if concept.low_absolute is not None:
        out["low"] = {"value": concept.low_absolute, **unit}
    if concept.hi_absolute is not None:
        out["high"] = {"value": concept.hi_absolute, **unit}
    out["type"] = {"coding": [{"system": RANGE_ABSOLUTE, "code": "absolute"}]}
    return out


@dataclass(slots=True)
class RestObs:
    """An obs tree read out: live Observations, and the uuids voided at the source."""

    resources: list[JSON] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)


def _value_row(value: Any, concept: ConceptInfo) -> JSON:
    if isinstance(value, bool):
        return {"value_boolean": value}
    if isinstance(value, int | float):
        return {"value_numeric": value}
    if isinstance(value, dict):
        if concept.datatype == "BIT":  # 1.9+: booleans are the True/False concepts
            return {"value_boolean": (display_of(value) or "").strip().lower() in _TRUE}
        return {"value_coded": uuid_of(value) or ""}
    if isinstance(value, str):
        if concept.datatype in ("DT", "TS", "TM"):
            return {"value_datetime": rest_datetime(value)}
        return {"value_text": value}
    return {}


def _value_concept(value: Any, concepts: Mapping[str, ConceptInfo]) -> ConceptInfo | None:
    uuid = uuid_of(value)
    if uuid is None:
        return None
    return concepts.get(uuid) or concept_info(value)


def _one_obs(obj: Mapping[str, Any], concepts: Mapping[str, ConceptInfo], out: RestObs) -> None:
    uuid = _need_uuid(obj, "obs")
    if is_voided(obj):
        out.voided.append(uuid)
        for member in _dicts(obj.get("groupMembers")):
            _one_obs(member, concepts, out)
        return
    concept_uuid = uuid_of(obj.get("concept"))
    if concept_uuid is None:
        msg = f"REST obs {uuid} has no concept"
        raise RestShapeError(msg)
    concept = concepts.get(concept_uuid) or concept_info(obj["concept"])
    members = _dicts(obj.get("groupMembers"))
    value = obj.get("value")
    created, _changed = _audit(obj)
    row: JSON = {
        "uuid": uuid,
        "obs_datetime": rest_datetime(obj.get("obsDatetime")),
        "date_created": created,
        "status": obj.get("status"),
        "interpretation": obj.get("interpretation"),
        "value_modifier": obj.get("valueModifier"),
        **_value_row(value, concept),
    }
    ctx = ObsContext(
        concept=concept,
        value_concept=_value_concept(value, concepts) if "value_coded" in row else None,
        patient_uuid=uuid_of(obj.get("person")),
        encounter_uuid=uuid_of(obj.get("encounter")),
        members=tuple(u for m in members if not is_voided(m) and (u := uuid_of(m))),
    )
    resource = observation_resource(row, ctx)
    absolute = _absolute_range(concept) if "valueQuantity" in resource else None
    if absolute is not None:
        resource.setdefault("referenceRange", []).append(absolute)
    out.resources.append(resource)
    for member in members:
        _one_obs(member, concepts, out)


def observations_from_rest(
    obs: Sequence[Mapping[str, Any]], concepts: Mapping[str, ConceptInfo]
) -> RestObs:
    """Obs (each with its ``groupMembers`` tree) as fhir2 Observations, members included.

    A voided obs, or a voided member still listed in its group, is reported in ``voided``.
    """
    out = RestObs()
    for item in obs:
        _one_obs(item, concepts, out)
    return out


def concept_uuids(obs: Sequence[Mapping[str, Any]]) -> set[str]:
    """Every concept (question and coded answer) an obs tree refers to: what to fetch first."""
    found: set[str] = set()
    stack = list(obs)
    while stack:
        item = stack.pop()
        for key in ("concept", "value"):
            uuid = uuid_of(item.get(key))
            if uuid:
                found.add(uuid)
        stack.extend(_dicts(item.get("groupMembers")))
    return found
