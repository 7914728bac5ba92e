"""The shared pieces of every row -> FHIR builder: column readers, ``meta``, references.

OpenMRS databases store naive server-local DATETIMEs, TINYINT/BIT booleans and MySQL zero
dates; these readers turn them into what FHIR needs, in one place, so that every resource
family reads a column the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

Row = Mapping[str, Any]
JSON = dict[str, Any]

CIEL_URL = "https://openconceptlab.org/orgs/CIEL/sources/CIEL"
LOINC_URL = "http://loinc.org"
SNOMED_URL = "http://snomed.info/sct"
SAME_AS_UUID = "35543629-7d8c-11e1-909d-c80aa9edcf4e"
PROVIDER_IDENTIFIER_SYSTEM = "http://fhir.openmrs.org/ext/provider/identifier"
ENCOUNTER_TYPE_SYSTEM = "http://fhir.openmrs.org/code-system/encounter-type"
ENCOUNTER_TAG_SYSTEM = "http://fhir.openmrs.org/ext/encounter-tag"
LOCATION_TAG_SYSTEM = "http://fhir.openmrs.org/ext/location-tag"
ADDRESS_EXT = "http://fhir.openmrs.org/ext/address"
NAME_EXT = "http://fhir.openmrs.org/ext/name"
IDENTIFIER_LOCATION_EXT = "http://fhir.openmrs.org/ext/patient/identifier#location"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
_EPOCH = datetime(1970, 1, 1)


def as_datetime(value: Any) -> datetime | None:
    """A DATETIME column value, or ``None`` for NULL and MySQL zero dates (read as strings).

    >>> as_datetime("0000-00-00 00:00:00") is None, as_datetime(date(2020, 1, 2))
    (True, datetime.datetime(2020, 1, 2, 0, 0))
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def iso(value: Any) -> str | None:
    """ISO 8601 with an explicit UTC offset, as FHIR instants need.

    >>> iso(datetime(2024, 6, 25, 10, 56, 16))
    '2024-06-25T10:56:16+00:00'
    """
    dt = as_datetime(value)
    if dt is None:
        return None
    if dt.tzinfo is None and not dt.microsecond:  # the usual DATETIME: same text, no copy
        return dt.isoformat() + "+00:00"
    return dt.replace(tzinfo=UTC, microsecond=0).isoformat()


def epoch_seconds(value: Any) -> int | None:
    """Whole seconds since the epoch, reading a naive DATETIME as UTC."""
    dt = as_datetime(value)
    return None if dt is None else int(dt.replace(tzinfo=UTC).timestamp())


def flag(value: Any) -> bool:
    """A TINYINT(1), SMALLINT or BIT(1) column as a bool (``b'\\x01'`` included).

    >>> flag(1), flag(b"\\x00"), flag(None), flag("true")
    (True, False, False, True)
    """
    if isinstance(value, bytes | bytearray):
        return any(value)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return bool(value)


def meta(*times: Any) -> JSON:
    """``meta`` from the latest of the given times: versionId in epoch ms, as fhir2 >= 1.11.

    fhir2 uses ``date_changed ?? date_created`` of one row; callers pass every time that
    changes what the resource shows (a name edit must change a Patient's version).

    >>> meta(datetime(2024, 6, 25, 10, 56, 16), None)
    {'versionId': '1719312976000', 'lastUpdated': '2024-06-25T10:56:16+00:00'}
    """
    if len(times) == 1:  # most rows: one time, no list to build
        latest = as_datetime(times[0])
        if latest is None:
            return {}
    else:
        found = [dt for dt in (as_datetime(t) for t in times) if dt is not None]
        if not found:
            return {}
        latest = max(found)
    if latest.tzinfo is None:  # seconds since the epoch without an aware copy
        seconds = int((latest - _EPOCH).total_seconds())
    else:
        seconds = int(latest.replace(tzinfo=UTC).timestamp())
    return {"versionId": str(seconds * 1000), "lastUpdated": iso(latest)}


def ref(resource_type: str, uuid: str | None, display: str | None = None) -> JSON | None:
    """A fhir2-style reference, or ``None`` when there is nothing to point at."""
    if not uuid:
        return None
    out: JSON = {"reference": f"{resource_type}/{uuid}", "type": resource_type}
    if display:
        out["display"] = display
    return out


#: A referenced actor or thing already resolved by the source: ``(uuid, display)``.
Party = tuple[str, str | None]


def party_ref(resource_type: str, party: Party | None) -> JSON | None:
    """A reference to a resolved :data:`Party`, with its display when there is one."""
    return None if party is None else ref(resource_type, party[0], party[1])


def text(value: Any) -> str | None:
    """A free-text column, or ``None`` when NULL or blank (DBUnit writes empty strings).

    >>> text("  "), text(None), text(" Peanut oil ")
    (None, None, 'Peanut oil')
    """
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def number(value: Any) -> int | float | None:
    """A DOUBLE column as JSON: whole numbers as int (``325.0`` -> 325), else float.

    >>> number(325.0), number(0.5), number(None)
    (325, 0.5, None)
    """
    if value is None:
        return None
    out = float(value)
    return int(out) if out.is_integer() else out
