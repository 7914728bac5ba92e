"""Places and visits: location rows -> Location, encounter rows -> Encounter (research A8)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._common import (
    ENCOUNTER_TAG_SYSTEM,
    ENCOUNTER_TYPE_SYSTEM,
    JSON,
    LOCATION_TAG_SYSTEM,
    Row,
    flag,
    iso,
    meta,
    ref,
)
from ._people import address


def location_resource(
    row: Row, *, parent_uuid: str | None = None, tags: Sequence[Row] = ()
) -> JSON:
    """A location row as fhir2's Location (A8); tags are ``name``/``description`` rows."""
    out: JSON = {
        "resourceType": "Location",
        "id": str(row["uuid"]),
        "meta": meta(row.get("date_created"), row.get("date_changed"), row.get("date_retired")),
        "name": str(row.get("name") or ""),
        "status": "inactive" if flag(row.get("retired")) else "active",
    }
    if tags:
        out["meta"]["tag"] = [
            {"system": LOCATION_TAG_SYSTEM, "code": str(t["name"]), "display": t.get("description")}
            for t in tags
        ]
    if row.get("description"):
        out["description"] = str(row["description"])
    addr = address(row, with_district=False)
    addr.pop("id", None)
    if addr:
        out["address"] = addr
    parent = ref("Location", parent_uuid)
    if parent:
        out["partOf"] = parent
    return out


@dataclass(frozen=True, slots=True)
class EncounterContext:
    """Per-encounter lookups, resolved by the source in batches."""

    patient_uuid: str | None
    type_uuid: str | None = None
    type_name: str | None = None
    location_uuid: str | None = None
    location_name: str | None = None
    visit_uuid: str | None = None
    participants: tuple[tuple[str, str | None, str | None], ...] = ()  # (uuid, identifier, name)
    times: tuple[Any, ...] = field(default_factory=tuple)


def encounter_resource(row: Row, ctx: EncounterContext) -> JSON:
    """An encounter row as fhir2's Encounter (A8), tagged ``encounter`` (not a visit)."""
    out: JSON = {
        "resourceType": "Encounter",
        "id": str(row["uuid"]),
        "meta": {
            **meta(row.get("date_created"), row.get("date_changed"), *ctx.times),
            "tag": [{"system": ENCOUNTER_TAG_SYSTEM, "code": "encounter", "display": "Encounter"}],
        },
        "status": "unknown",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    }
    if ctx.type_uuid:
        coding: JSON = {"system": ENCOUNTER_TYPE_SYSTEM, "code": ctx.type_uuid}
        if ctx.type_name:
            coding["display"] = ctx.type_name
        out["type"] = [{"coding": [coding]}]
    subject = ref("Patient", ctx.patient_uuid)
    if subject:
        out["subject"] = subject
    if ctx.participants:
        people = []
        for uuid, identifier, name in ctx.participants:
            individual = ref("Practitioner", uuid, name)
            if individual is None:
                continue
            if identifier:
                individual["identifier"] = {"value": identifier}
            people.append({"individual": individual})
        out["participant"] = people
    start = iso(row.get("encounter_datetime"))
    if start:
        out["period"] = {"start": start}
    location = ref("Location", ctx.location_uuid, ctx.location_name)
    if location:
        out["location"] = [{"location": location}]
    visit = ref("Encounter", ctx.visit_uuid)
    if visit:
        out["partOf"] = visit
    return out
