"""People: person/patient rows -> Patient, provider rows -> Practitioner (research A6, A8)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ._common import (
    ADDRESS_EXT,
    IDENTIFIER_LOCATION_EXT,
    JSON,
    NAME_EXT,
    PROVIDER_IDENTIFIER_SYSTEM,
    Row,
    as_datetime,
    epoch_seconds,
    flag,
    iso,
    meta,
    ref,
)

_GENDERS = {"M": "male", "F": "female", "O": "other", "U": "unknown"}


def _full_name(row: Row) -> str:
    parts = (
        row.get("prefix"),
        row.get("given_name"),
        row.get("middle_name"),
        row.get("family_name_prefix"),
        row.get("family_name"),
        row.get("family_name2"),
        row.get("family_name_suffix"),
        row.get("degree"),
    )
    return " ".join(str(p) for p in parts if p)


def name_sort_key(row: Row) -> tuple[bool, bool, float]:
    """Hibernate's person-name order: non-voided, preferred first, newest first."""
    created = epoch_seconds(row.get("date_created")) or 0
    return (flag(row.get("voided")), not flag(row.get("preferred")), -created)


def human_name(row: Row) -> JSON:
    """A person_name row as fhir2's HumanName (extras in the OpenMRS name extension)."""
    out: JSON = {"id": str(row["uuid"])}
    if row.get("family_name"):
        out["family"] = str(row["family_name"])
    given = [str(row[k]) for k in ("given_name", "middle_name") if row.get(k)]
    if given:
        out["given"] = given
    text = _full_name(row)
    if text:
        out["text"] = text
    extras = [
        {"url": f"{NAME_EXT}#{fhir_key}", "valueString": str(row[column])}
        for column, fhir_key in (
            ("prefix", "prefix"),
            ("family_name_prefix", "familyNamePrefix"),
            ("family_name2", "familyName2"),
            ("family_name_suffix", "familyNameSuffix"),
            ("degree", "degree"),
        )
        if row.get(column)
    ]
    if extras:
        out["extension"] = [{"url": NAME_EXT, "extension": extras}]
    return out


def _address_extension(row: Row) -> list[JSON]:
    extras = [
        {"url": f"{ADDRESS_EXT}#address{i}", "valueString": str(row[f"address{i}"])}
        for i in range(1, 16)
        if row.get(f"address{i}")
    ]
    return [{"url": ADDRESS_EXT, "extension": extras}] if extras else []


def address(row: Row, *, with_district: bool = True) -> JSON:
    """A person_address / location row as fhir2's Address (address1..15 as extensions)."""
    out: JSON = {}
    if row.get("uuid"):
        out["id"] = str(row["uuid"])
    for column, key in (
        ("city_village", "city"),
        ("county_district", "district"),
        ("state_province", "state"),
        ("postal_code", "postalCode"),
        ("country", "country"),
    ):
        if row.get(column) and (with_district or key != "district"):
            out[key] = str(row[column])
    ext = _address_extension(row)
    if ext:
        out["extension"] = ext
    return out


def _birth_date(person: Row, today: date) -> str | None:
    born = as_datetime(person.get("birthdate"))
    if born is None:
        return None
    if not flag(person.get("birthdate_estimated")):
        return born.date().isoformat()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return f"{born.year:04d}" if age > 5 else f"{born.year:04d}-{born.month:02d}"


def patient_resource(
    person: Row,
    names: Sequence[Row],
    identifiers: Sequence[Row],
    addresses: Sequence[Row],
    *,
    today: date,
) -> JSON:
    """person + patient rows (and their names, identifiers, addresses) as fhir2's Patient (A6).

    ``person`` carries the person columns plus ``patient_voided`` and the patient's times;
    identifier rows carry ``type_uuid``, ``type_name`` and ``location_uuid``. Voided child rows
    are dropped here. ``meta`` covers every row, so an edit of a name alone changes the version.
    """
    live_names = sorted((n for n in names if not flag(n.get("voided"))), key=name_sort_key)
    live_ids = sorted(
        (i for i in identifiers if not flag(i.get("voided"))),
        key=lambda i: not flag(i.get("preferred")),
    )
    live_addresses = [a for a in addresses if not flag(a.get("voided"))]
    times: list[Any] = [
        person.get(k)
        for k in ("date_created", "date_changed", "patient_date_created", "patient_date_changed")
    ]
    for child in (*names, *identifiers, *addresses):
        times.extend(child.get(k) for k in ("date_created", "date_changed", "date_voided"))
    out: JSON = {
        "resourceType": "Patient",
        "id": str(person["uuid"]),
        "meta": meta(*times),
        "active": not flag(person.get("patient_voided")),
    }
    if live_ids:
        out["identifier"] = [_identifier(i) for i in live_ids]
    if live_names:
        out["name"] = [human_name(n) for n in live_names]
    gender = _GENDERS.get(str(person.get("gender") or "").upper())
    if gender:
        out["gender"] = gender
    birth = _birth_date(person, today)
    if birth:
        out["birthDate"] = birth
    if flag(person.get("dead")):
        death = iso(person.get("death_date"))
        if death:
            out["deceasedDateTime"] = death
        else:
            out["deceasedBoolean"] = True
    else:
        out["deceasedBoolean"] = False
    if live_addresses:
        out["address"] = [
            {**address(a), "use": "home" if flag(a.get("preferred")) else "old"}
            for a in live_addresses
        ]
    return out


def _identifier(row: Row) -> JSON:
    out: JSON = {
        "id": str(row["uuid"]),
        "use": "official" if flag(row.get("preferred")) else "usual",
        "type": {
            "coding": [{"code": str(row.get("type_uuid") or "")}],
            "text": row.get("type_name"),
        },
        "value": str(row.get("identifier") or ""),
    }
    location = ref("Location", row.get("location_uuid"), row.get("location_name"))
    if location:
        out["extension"] = [{"url": IDENTIFIER_LOCATION_EXT, "valueReference": location}]
    return out


def practitioner_resource(provider: Row, names: Sequence[Row] = ()) -> JSON:
    """A provider row (or, before 1.9, an encounter-provider person) as fhir2's Practitioner.

    ``provider``: ``uuid``, ``identifier``, ``name``, ``retired``, times, and the person's
    ``gender``/``birthdate`` when there is a person.
    """
    out: JSON = {
        "resourceType": "Practitioner",
        "id": str(provider["uuid"]),
        "meta": meta(provider.get("date_created"), provider.get("date_changed")),
        "active": not flag(provider.get("retired")),
    }
    if provider.get("identifier"):
        out["identifier"] = [
            {"system": PROVIDER_IDENTIFIER_SYSTEM, "value": str(provider["identifier"])}
        ]
    live = sorted((n for n in names if not flag(n.get("voided"))), key=name_sort_key)
    if live:
        out["name"] = [human_name(n) for n in live]
    elif provider.get("name"):
        out["name"] = [{"text": str(provider["name"])}]
    gender = _GENDERS.get(str(provider.get("gender") or "").upper())
    if gender:
        out["gender"] = gender
    return out


def provider_display(provider: Row, names: Sequence[Row] = ()) -> str | None:
    """The display of a Practitioner reference: the person's preferred name, or the provider's."""
    live = sorted((n for n in names if not flag(n.get("voided"))), key=name_sort_key)
    if live:
        return _full_name(live[0]) or None
    name = provider.get("name")
    return str(name) if name else None


def legacy_provider_uuid(person_uuid: str) -> str:
    """The provider uuid the 1.9 upgrade gives an encounter provider of a 1.8 database.

    So a hospital that later upgrades keeps the same Practitioner ids (B4, changeSet
    20110825-1000-migrating-providers: ``CONCAT('prov', SUBSTRING(person.uuid, 5))``).

    >>> legacy_provider_uuid("ba1b19c2-3ed6-4f63-b8c0-f762dc8d7562")
    'prov19c2-3ed6-4f63-b8c0-f762dc8d7562'
    """
    return "prov" + person_uuid[4:]
