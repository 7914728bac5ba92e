"""OpenMRS 1.x database rows -> FHIR R4 resources shaped as the fhir2 module shapes them.

Hospitals on OpenMRS 1.x cannot run fhir2, so the MySQL source reads rows and builds here the
JSON that fhir2 would have served (ids = uuids, the concept-uuid coding first, the same
extension URLs), so that every mapper after the source treats both kinds of hospital alike.
The facts behind each shape are in research/openmrs-fhir2-and-schema.md (A5-A8, B4).

Everything here is pure: rows in (plain mappings, already joined and batched by the source),
dicts out. Datetimes from the database are naive server-local times; they are written as UTC,
because OpenMRS stores no zone (the caller may shift them first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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

_INTERPRETATIONS = {
    "NORMAL": "N",
    "ABNORMAL": "A",
    "CRITICALLY_ABNORMAL": "AA",
    "CRITICALLY_HIGH": "HH",
    "CRITICALLY_LOW": "LL",
    "HIGH": "H",
    "LOW": "L",
    "OFF_SCALE_LOW": "<",
    "OFF_SCALE_HIGH": ">",
    "SIGNIFICANT_CHANGE_DOWN": "D",
    "SIGNIFICANT_CHANGE_UP": "U",
    "RESISTANT": "R",
    "SUSCEPTIBLE": "S",
    "INTERMEDIATE": "I",
    "POSITIVE": "POS",
    "NEGATIVE": "NEG",
}
_GENDERS = {"M": "male", "F": "female", "O": "other", "U": "unknown"}
#: fhir2's default observation categories, by OpenMRS concept class name.
_CATEGORIES = {"Test": "laboratory", "LabSet": "laboratory", "Procedure": "procedure"}
_CATEGORIES["Finding"] = "exam"
_DATE_TYPES = {"DT": "date", "TM": "time", "TS": "datetime"}


# -- small readers ---------------------------------------------------------------------------
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
    return None if dt is None else dt.replace(tzinfo=UTC, microsecond=0).isoformat()


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
    found = [dt for dt in (as_datetime(t) for t in times) if dt is not None]
    if not found:
        return {}
    latest = max(found)
    return {
        "versionId": str(int(latest.replace(tzinfo=UTC).timestamp()) * 1000),
        "lastUpdated": iso(latest),
    }


def ref(resource_type: str, uuid: str | None, display: str | None = None) -> JSON | None:
    """A fhir2-style reference, or ``None`` when there is nothing to point at."""
    if not uuid:
        return None
    out: JSON = {"reference": f"{resource_type}/{uuid}", "type": resource_type}
    if display:
        out["display"] = display
    return out


# -- concepts --------------------------------------------------------------------------------
def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


def _norm(locale: str) -> str:
    return locale.replace("-", "_").lower()


def choose_concept_name(
    names: Iterable[Row], locale: str, default_locale: str = "en"
) -> str | None:
    """The name OpenMRS displays for a concept (``Concept.getName(locale)``).

    In the exact locale: the locale-preferred name, then the fully specified one, then a synonym
    (no type), then any other non-voided name; then the same again for the bare language
    (``en_GB`` -> ``en``), then for any locale of that language, then for ``default_locale``,
    then anything. Rows: ``name``, ``locale``, ``locale_preferred``, ``concept_name_type``,
    ``voided`` (the last three may be absent before 1.7).

    >>> rows = [{"name": "WT", "locale": "en_GB", "concept_name_type": "SHORT"},
    ...         {"name": "Weight", "locale": "en_GB", "concept_name_type": "FULLY_SPECIFIED"},
    ...         {"name": "Poids", "locale": "fr", "locale_preferred": 1}]
    >>> [choose_concept_name(rows, loc) for loc in ("en", "fr", "sw")]
    ['Weight', 'Poids', 'Weight']
    """
    live = [r for r in names if not flag(r.get("voided")) and r.get("name")]
    if not live:
        return None
    wanted, lang, default = _norm(locale), _language(locale), _norm(default_locale)

    def locale_rank(row: Row) -> int:
        loc = _norm(str(row.get("locale") or ""))
        if loc == wanted:
            return 0
        if loc == lang:
            return 1
        if _language(loc) == lang:
            return 2
        if loc == default:
            return 3
        if _language(loc) == _language(default):
            return 4
        return 5

    def type_rank(row: Row) -> int:
        if flag(row.get("locale_preferred")):
            return 0
        kind = row.get("concept_name_type")
        if kind == "FULLY_SPECIFIED":
            return 1
        if kind is None:
            return 2
        return 3 if kind == "SHORT" else 4

    best = min(live, key=lambda r: (locale_rank(r), type_rank(r)))
    return str(best["name"])


def source_system(name: str | None, hl7_code: str | None, url: str | None = None) -> str | None:
    """The FHIR system of a concept source, as fhir2's defaults give it (``None``: dropped).

    >>> source_system("CIEL", None), source_system("x", "SCT"), source_system("ICD-10", "I10")
    ('https://openconceptlab.org/orgs/CIEL/sources/CIEL', 'http://snomed.info/sct', None)
    """
    if url:
        return url
    key = (name or "").strip().upper()
    if key == "CIEL":
        return CIEL_URL
    if key == "LOINC":
        return LOINC_URL
    if (hl7_code or "").strip().upper() == "SCT" or key in ("SNOMED CT", "SNOMED"):
        return SNOMED_URL
    return None


def concept_codings(maps: Iterable[Row]) -> list[JSON]:
    """The mapped-term codings: one per mapping with a known system; SAME-AS wins in a source.

    Rows: ``system`` (already resolved, may be ``None``), ``code``, ``map_type`` (name or uuid,
    ``None`` for 1.8 ``concept_map`` rows, which have no map type).

    >>> concept_codings([{"system": "http://loinc.org", "code": "1", "map_type": "NARROWER-THAN"},
    ...                  {"system": "http://loinc.org", "code": "2", "map_type": "SAME-AS"},
    ...                  {"system": None, "code": "3", "map_type": "SAME-AS"}])
    [{'system': 'http://loinc.org', 'code': '2'}]
    """
    by_system: dict[str, list[tuple[bool, str]]] = {}
    for row in maps:
        system, code = row.get("system"), row.get("code")
        if not system or code is None or code == "":
            continue
        kind = str(row.get("map_type") or "")
        same = kind.upper() == "SAME-AS" or kind == SAME_AS_UUID or row.get("map_type") is None
        by_system.setdefault(str(system), []).append((same, str(code)))
    out: list[JSON] = []
    for system, terms in by_system.items():
        chosen = [c for same, c in terms if same] or [c for _, c in terms]
        for code in dict.fromkeys(chosen):
            out.append({"system": system, "code": code})
    return out


@dataclass(frozen=True, slots=True)
class ConceptInfo:
    """What a resource needs of one concept; the source fills it with batched queries."""

    uuid: str
    name: str | None = None
    codings: tuple[JSON, ...] = ()
    datatype: str | None = None  # concept_datatype.hl7_abbreviation: NM, CWE, ST, BIT, ...
    class_name: str | None = None
    units: str | None = None
    allow_decimal: bool | None = None
    low_normal: float | None = None
    hi_normal: float | None = None
    low_critical: float | None = None
    hi_critical: float | None = None


def codeable_concept(concept: ConceptInfo) -> JSON:
    """fhir2's CodeableConcept: text, the uuid coding without system, then mapped terms.

    >>> cc = codeable_concept(ConceptInfo("5089AAAA", "Weight", ({"system": "s", "code": "1"},)))
    >>> cc["coding"], cc["text"]
    ([{'code': '5089AAAA', 'display': 'Weight'}, {'system': 's', 'code': '1'}], 'Weight')
    """
    first: JSON = {"code": concept.uuid}
    if concept.name:
        first["display"] = concept.name
    out: JSON = {"coding": [first, *(dict(c) for c in concept.codings)]}
    if concept.name:
        out["text"] = concept.name
    return out


# -- Observation ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ObsContext:
    """Per-obs lookups, resolved by the source in batches."""

    concept: ConceptInfo
    value_concept: ConceptInfo | None = None
    patient_uuid: str | None = None  # None when the person is not a patient
    encounter_uuid: str | None = None
    members: tuple[str, ...] = ()
    true_concept_id: int | None = None
    false_concept_id: int | None = None
    amended: bool = False  # a 1.9-2.0 edit row (previous_version set, no status column)


def _number(value: Any, allow_decimal: bool | None) -> int | float:
    number = float(value)
    if allow_decimal is False and number.is_integer():
        return int(number)
    return number


def _obs_value(row: Row, ctx: ObsContext) -> JSON:
    concept = ctx.concept
    coded = row.get("value_coded")
    if concept.datatype == "BIT":
        if row.get("value_boolean") is not None:
            return {"valueBoolean": flag(row["value_boolean"])}
        if coded is not None and coded in (ctx.true_concept_id, ctx.false_concept_id):
            return {"valueBoolean": coded == ctx.true_concept_id}
        if row.get("value_numeric") is not None:  # before 1.7: 1/0 in value_numeric
            return {"valueBoolean": float(row["value_numeric"]) != 0}
    if coded is not None and ctx.value_concept is not None:
        return {"valueCodeableConcept": codeable_concept(ctx.value_concept)}
    if row.get("value_datetime") is not None:
        dt = as_datetime(row["value_datetime"])
        if dt is not None:
            return {"valueDateTime": iso(dt)}
    if row.get("value_numeric") is not None:
        quantity: JSON = {"value": _number(row["value_numeric"], concept.allow_decimal)}
        if concept.units:
            quantity["unit"] = concept.units
        modifier = row.get("value_modifier")
        if modifier in ("<", "<=", ">=", ">"):
            quantity["comparator"] = modifier
        return {"valueQuantity": quantity}
    if row.get("value_text") is not None:
        return {"valueString": str(row["value_text"])}
    if row.get("value_complex"):
        return {"valueString": str(row["value_complex"]).split("|", 1)[0]}
    return {}


def _reference_ranges(concept: ConceptInfo) -> list[JSON]:
    system = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
    out = []
    for low, high, code in (
        (concept.low_normal, concept.hi_normal, "normal"),
        (concept.low_critical, concept.hi_critical, "treatment"),
    ):
        if low is None and high is None:
            continue
        item: JSON = {"type": {"coding": [{"system": system, "code": code}]}}
        if low is not None:
            item["low"] = {"value": low, **({"unit": concept.units} if concept.units else {})}
        if high is not None:
            item["high"] = {"value": high, **({"unit": concept.units} if concept.units else {})}
        out.append(item)
    return out


def observation_resource(row: Row, ctx: ObsContext) -> JSON:
    """An ``obs`` row as fhir2's Observation (A7); voids are the source's business, not ours.

    Rows: ``uuid``, ``obs_datetime``, ``date_created``, the ``value_*`` columns, and when the
    schema has them ``status``, ``interpretation``, ``value_boolean``.
    """
    status = str(row.get("status") or "").lower()
    if status not in ("preliminary", "final", "amended"):
        status = "amended" if ctx.amended else "final"
    out: JSON = {
        "resourceType": "Observation",
        "id": str(row["uuid"]),
        "meta": meta(row.get("date_created")),
        "status": status,
        "code": codeable_concept(ctx.concept),
    }
    category = _CATEGORIES.get(ctx.concept.class_name or "")
    if category:
        out["category"] = [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": category, "display": category.title()}]}
        ]
    subject = ref("Patient", ctx.patient_uuid)
    if subject:
        out["subject"] = subject
    encounter = ref("Encounter", ctx.encounter_uuid)
    if encounter:
        out["encounter"] = encounter
    effective = iso(row.get("obs_datetime"))
    if effective:
        out["effectiveDateTime"] = effective
    issued = iso(row.get("date_created"))
    if issued:
        out["issued"] = issued
    if ctx.members:
        out["hasMember"] = [
            {"reference": f"Observation/{u}", "type": "Observation"} for u in ctx.members
        ]
    else:
        out.update(_obs_value(row, ctx))
    code = _INTERPRETATIONS.get(str(row.get("interpretation") or ""))
    if code:
        out["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": code}]}]
    if "valueQuantity" in out:
        ranges = _reference_ranges(ctx.concept)
        if ranges:
            out["referenceRange"] = ranges
    return out


# -- Patient ----------------------------------------------------------------------------------
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


# -- Practitioner, Location, Encounter -------------------------------------------------------
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


def legacy_provider_uuid(person_uuid: str) -> str:
    """The provider uuid the 1.9 upgrade gives an encounter provider of a 1.8 database.

    So a hospital that later upgrades keeps the same Practitioner ids (B4, changeSet
    20110825-1000-migrating-providers: ``CONCAT('prov', SUBSTRING(person.uuid, 5))``).

    >>> legacy_provider_uuid("ba1b19c2-3ed6-4f63-b8c0-f762dc8d7562")
    'prov19c2-3ed6-4f63-b8c0-f762dc8d7562'
    """
    return "prov" + person_uuid[4:]
