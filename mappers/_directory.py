"""Practitioner -> DoctorDoc (providers only) and Location -> LocationDoc."""

from __future__ import annotations

from ._context import MappingContext
from ._fhir import JSON, dicts, extension_values, ref_id, str_or_none
from .documents import DoctorDoc, LocationDoc

PROVIDER_IDENTIFIER = "http://fhir.openmrs.org/ext/provider/identifier"
USER_IDENTIFIER = "http://fhir.openmrs.org/ext/user/identifier"
LOCATION_TAG = "http://fhir.openmrs.org/ext/location-tag"
ADDRESS_EXT = "http://fhir.openmrs.org/ext/address"


def is_bare_user(resource: JSON) -> bool:
    """A fhir2 Practitioner search also returns every user; those are not doctors.

    A Practitioner is a bare user when it carries the user identifier system and no provider
    identifier. One with neither (another FHIR server, a hand-made resource) is kept.

    >>> is_bare_user({"identifier": [{"system": USER_IDENTIFIER, "value": "admin"}]})
    True
    >>> is_bare_user({"identifier": {"system": PROVIDER_IDENTIFIER, "value": "P1"}})
    False
    """
    systems = {i.get("system") for i in dicts(resource.get("identifier"))}
    return PROVIDER_IDENTIFIER not in systems and USER_IDENTIFIER in systems


def person_name(resource: JSON) -> str | None:
    """The first name as one string: its text, else prefix, given and family names.

    >>> person_name({"name": [{"given": ["Adam"], "family": "John", "prefix": ["Dr"]}]})
    'Dr Adam John'
    """
    for name in dicts(resource.get("name")):
        if str_or_none(name.get("text")):
            return str(name["text"])
        parts = [
            *(p for p in name.get("prefix", []) if isinstance(p, str)),
            *(g for g in name.get("given", []) if isinstance(g, str)),
            name.get("family"),
        ]
        joined = " ".join(p for p in parts if isinstance(p, str) and p)
        if joined:
            return joined
    return None


def map_practitioner(resource: JSON, ctx: MappingContext, uuid: str) -> DoctorDoc | None:
    """A provider as a doctor; ``None`` for a bare user."""
    if is_bare_user(resource):
        return None
    identifiers = list(dicts(resource.get("identifier")))
    chosen = next((i for i in identifiers if i.get("system") == PROVIDER_IDENTIFIER), None)
    if chosen is None and identifiers:
        chosen = identifiers[0]
    return DoctorDoc(
        source=ctx.source,
        uuid=uuid,
        name=person_name(resource),
        identifier=str_or_none(chosen.get("value")) if chosen else None,
    )


def location_tags(resource: JSON) -> list[str]:
    """Location tag names (``meta.tag`` in the location-tag system, or with no system).

    >>> subsetted = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    ...     "code": "SUBSETTED"}
    >>> location_tags({"meta": {"tag": [{"system": LOCATION_TAG, "code": "Login Location"},
    ...     subsetted]}})
    ['Login Location']
    """
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return [
        str(t["code"])
        for t in dicts(tags)
        if t.get("code") and t.get("system") in (LOCATION_TAG, None)
    ]


def map_location(resource: JSON, ctx: MappingContext, uuid: str) -> LocationDoc:
    """A location with its parent (``partOf``) and tags, for catchment to walk."""
    address: JSON = {}
    for item in dicts(resource.get("address")):  # one Address; tolerate a list
        address = {
            k: item[k]
            for k in ("text", "line", "city", "district", "state", "postalCode", "country")
            if item.get(k) not in (None, "", [])
        }
        address.update(extension_values(item, ADDRESS_EXT))
        break
    return LocationDoc(
        source=ctx.source,
        uuid=uuid,
        name=str_or_none(resource.get("name")),
        part_of=ref_id(resource.get("partOf"), "Location"),
        tags=location_tags(resource),
        address=address,
    )
