"""Patient -> PatientDoc, and the national ID that links one person across hospitals."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._context import MappingContext
from ._fhir import JSON, dicts, extension_values, ref_id, str_or_none
from .documents import PatientDoc

IDENTIFIER_LOCATION_EXT = "http://fhir.openmrs.org/ext/patient/identifier#location"
NAME_EXT = "http://fhir.openmrs.org/ext/name"
ADDRESS_EXT = "http://fhir.openmrs.org/ext/address"

_ID_NOISE = re.compile(r"[\s\-.]+")


def normalise_national_id(value: str) -> str:
    """A national ID in comparable form: spaces, dashes and dots removed, upper case.

    >>> normalise_national_id(" nid-1234 5678 ")
    'NID12345678'
    >>> normalise_national_id("1199.8800-7")
    '119988007'
    """
    return _ID_NOISE.sub("", value).upper()


def _identifier(item: JSON) -> JSON:
    """One identifier in passport form (type text and uuid, system, use, location)."""
    raw_type = item.get("type")
    id_type: JSON = raw_type if isinstance(raw_type, dict) else {}
    type_uuid = next(
        (str(c["code"]) for c in dicts(id_type.get("coding")) if c.get("code")),
        None,
    )
    location = None
    for ext in dicts(item.get("extension")):
        if ext.get("url") == IDENTIFIER_LOCATION_EXT:
            location = ref_id(ext.get("valueReference"), "Location")
    return {
        "id": str_or_none(item.get("id")),
        "value": str_or_none(item.get("value")),
        "type": str_or_none(id_type.get("text")),
        "type_uuid": type_uuid,
        "system": str_or_none(item.get("system")),
        "use": str_or_none(item.get("use")),
        "location_uuid": location,
    }


def identifiers_of(resource: JSON) -> list[JSON]:
    """The identifiers, preferred (``use: official``) first, as fhir2 orders them.

    A single identifier object (what some clients POST) counts as a list of one.

    >>> [i["value"] for i in identifiers_of({"identifier": [
    ...     {"use": "usual", "value": "B"}, {"use": "official", "value": "A"}]})]
    ['A', 'B']
    """
    items = [_identifier(i) for i in dicts(resource.get("identifier"))]
    return sorted(items, key=lambda i: i["use"] != "official")


def national_id_of(identifiers: Iterable[JSON], identifier_types: Iterable[str]) -> str | None:
    """The normalised value of the first identifier whose type name, system or type uuid is one
    of ``identifier_types`` (case-insensitive), trying the configured types in order.

    >>> ids = [{"value": "x-1", "type": "OpenMRS ID"}, {"value": "nid 9", "type": "National ID"}]
    >>> national_id_of(ids, ["national id"])
    'NID9'
    >>> national_id_of(ids, ["Passport"]) is None
    True
    """
    items = list(identifiers)
    for wanted in identifier_types:
        key = wanted.casefold()
        for item in items:
            labels = (item.get("type"), item.get("system"), item.get("type_uuid"))
            if item.get("value") and any(
                isinstance(x, str) and x.casefold() == key for x in labels
            ):
                value = normalise_national_id(str(item["value"]))
                if value:
                    return value
    return None


def _name(item: JSON) -> JSON:
    given = (
        [g for g in item.get("given", []) if isinstance(g, str)]
        if isinstance(item.get("given"), list)
        else []
    )
    out: JSON = {
        "id": str_or_none(item.get("id")),
        "text": str_or_none(item.get("text")),
        "given": given[0] if given else None,
        "middle": " ".join(given[1:]) or None,
        "family": str_or_none(item.get("family")),
    }
    prefix = item.get("prefix")
    if isinstance(prefix, list) and prefix:
        out["prefix"] = " ".join(str(p) for p in prefix)
    out.update(extension_values(item, NAME_EXT))
    return out


def _full_name(name: JSON, given: list[str]) -> str | None:
    if name.get("text"):
        return str(name["text"])
    parts = [*given, name.get("family")]
    joined = " ".join(p for p in parts if p)
    return joined or None


def _address(item: JSON) -> JSON:
    out: JSON = {
        key: item[key]
        for key in (
            "id",
            "use",
            "text",
            "line",
            "city",
            "district",
            "state",
            "postalCode",
            "country",
        )
        if item.get(key) not in (None, "", [])
    }
    out.update(extension_values(item, ADDRESS_EXT))
    return out


def birth_precision(birth_date: str | None) -> str | None:
    """``year``, ``month`` or ``day``: fhir2 sends ``"1975"`` for an estimated birth date.

    >>> birth_precision("1975"), birth_precision("1975-03"), birth_precision("1975-03-02")
    ('year', 'month', 'day')
    """
    if not birth_date:
        return None
    return {4: "year", 7: "month"}.get(len(birth_date), "day")


def map_patient(resource: JSON, ctx: MappingContext, uuid: str) -> PatientDoc:
    """A Patient resource as one hospital's view of a person."""
    identifiers = identifiers_of(resource)
    names = [_name(n) for n in dicts(resource.get("name"))]
    first = names[0] if names else {}
    given = [g for g in (first.get("given"), first.get("middle")) if g]
    deceased: bool | str | None = None
    if "deceasedDateTime" in resource:
        deceased = str_or_none(resource.get("deceasedDateTime"))
    elif isinstance(resource.get("deceasedBoolean"), bool):
        deceased = bool(resource["deceasedBoolean"])
    birth_date = str_or_none(resource.get("birthDate"))
    return PatientDoc(
        source=ctx.source,
        uuid=uuid,
        national_id=national_id_of(identifiers, ctx.identifier_types),
        name=_full_name(first, given) if first else None,
        given=given,
        family=first.get("family"),
        gender=str_or_none(resource.get("gender")),
        birth_date=birth_date,
        birth_date_precision=birth_precision(birth_date),
        deceased=deceased,
        identifiers=identifiers,
        names=names,
        addresses=[_address(a) for a in dicts(resource.get("address"))],
    )
