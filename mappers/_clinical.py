"""Readers shared by the clinical mappers (allergies, conditions, orders, dispenses, reports).

fhir2 sends R4, but clients and older modules post STU3 shapes (a status as a plain string,
``context`` for the encounter, one ``category`` object): these readers accept both, so one
mapper serves every version a hospital runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._context import MappingContext
from ._encounter import doctor_name
from ._fhir import JSON, codes_of, dicts, ref_id, str_or_none, text_of
from ._rules import SYSTEM_ALIASES, normalise_code
from .documents import STATUS_ENTERED_IN_ERROR, STATUS_FINAL, RecordDoc


def concept_name(code: Any, fallback: str) -> str:
    """``code.text``, else the first coding display, else a readable code (``CIEL 5090``).

    fhir2 (and clients POSTing to it) may send only the concept uuid; a bare uuid means
    nothing to a reader, the CIEL number at least names the concept.

    >>> concept_name({"coding": [{"code": "5090" + "A" * 32}]}, "Observation")
    'CIEL 5090'
    >>> concept_name({"coding": [{"display": "Weight"}]}, "Observation")
    'Weight'
    >>> concept_name(None, "Condition")
    'Condition'
    """
    if isinstance(code, dict):
        for label in (code.get("text"), *(c.get("display") for c in dicts(code.get("coding")))):
            if isinstance(label, str) and label:
                return label
    codes = codes_of(code)
    for item in codes:
        system, number = normalise_code(item["system"], item["code"])
        alias = next((k for k, v in SYSTEM_ALIASES.items() if v == system), None)
        if alias:
            return f"{alias} {number}"
    return codes[0]["code"] if codes else fallback


def label(concept: Any) -> str | None:
    """A concept's readable name, or ``None``: :func:`concept_name` without a fallback.

    >>> label({"coding": [{"code": "160862" + "A" * 30}]}), label({"text": "Oral"}), label({})
    ('CIEL 160862', 'Oral', None)
    """
    return (concept_name(concept, "") or None) if isinstance(concept, dict) else None


def status_code(value: Any) -> str | None:
    """A status as its code, whether R4 sent a CodeableConcept or STU3 a plain string.

    >>> status_code({"coding": [{"code": "active"}], "text": "Active"}), status_code("active")
    ('active', 'active')
    >>> status_code({"text": "Confirmed"}), status_code(None)
    ('confirmed', None)
    """
    if isinstance(value, str):
        return value.strip().lower() or None
    codes = codes_of(value)
    if codes:
        return codes[0]["code"].lower()
    text = text_of(value)
    return text.lower() if text else None


def record_status(*codes: str | None) -> str:
    """The passport status of a clinical record: ``entered-in-error`` when any of its FHIR
    statuses says so (the hospital voided it by mistake), else ``final``.

    >>> record_status("active", "entered-in-error"), record_status(None, "confirmed")
    ('entered-in-error', 'final')
    """
    return STATUS_ENTERED_IN_ERROR if STATUS_ENTERED_IN_ERROR in codes else STATUS_FINAL


def texts(items: Any, key: str = "text") -> list[str]:
    """The non-empty ``key`` strings of a repeating element (notes, instructions).

    >>> texts([{"text": "allergy comment"}, {"text": ""}, "junk"])
    ['allergy comment']
    """
    return [str(item[key]) for item in dicts(items) if str_or_none(item.get(key))]


def concept_texts(items: Any) -> list[str]:
    """The display of each CodeableConcept in a repeating element.

    >>> concept_texts([{"text": "Hives"}, {"coding": [{"display": "Rash"}]}, {}])
    ['Hives', 'Rash']
    """
    return [t for t in (label(c) for c in dicts(items)) if t]


def category_codes(resource: JSON) -> list[str]:
    """The codes of ``category`` (a list in R4, one object in STU3, bare codes for allergies).

    >>> category_codes({"category": [{"coding": [{"code": "LAB"}]}]})
    ['LAB']
    >>> category_codes({"category": ["medication"]}), category_codes({"category": {"text": "x"}})
    (['medication'], ['x'])
    """
    raw = resource.get("category")
    out: list[str] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str) and item:
            out.append(item)
        elif isinstance(item, dict):
            codes = codes_of(item)
            label = codes[0]["code"] if codes else text_of(item)
            if label:
                out.append(label)
    return out


def when(resource: JSON, *keys: str) -> str | None:
    """The first date among ``keys``; a ``Period`` gives its start.

    >>> when({"occurrencePeriod": {"start": "2024-01-01"}}, "occurrenceDateTime",
    ...     "occurrencePeriod")
    '2024-01-01'
    """
    for key in keys:
        value = resource.get(key)
        if isinstance(value, dict):
            value = value.get("start")
        if str_or_none(value):
            return str(value)
    return None


def encounter_of(resource: JSON) -> str | None:
    """The encounter uuid: R4 ``encounter``, STU3 ``context``.

    >>> encounter_of({"context": {"reference": "Encounter/e1"}})
    'e1'
    """
    return ref_id(resource.get("encounter"), "Encounter") or ref_id(
        resource.get("context"), "Encounter"
    )


@dataclass(frozen=True, slots=True)
class People:
    """Who and where a record comes from, with the uuids the engine resolves when a reference
    carries no ``display`` (older fhir2 versions, providers without a person)."""

    doctor: str | None
    doctor_uuid: str | None
    facility: str | None
    facility_uuid: str | None


def people(
    ctx: MappingContext,
    encounter_uuid: str | None,
    doctor_ref: Any = None,
    location_ref: Any = None,
) -> People:
    """The record's own practitioner and location, else its encounter's.

    A reference of the record's own wins even without a ``display``: its id is kept for the
    engine to read, rather than borrowing the encounter's doctor, who may be someone else.

    >>> from mappers._context import EncounterInfo
    >>> info = EncounterInfo("Dr A", "Ward", doctor_uuid="p1", facility_uuid="l1")
    >>> ctx = MappingContext(source="s", encounters={"e1": info})
    >>> people(ctx, "e1")
    People(doctor='Dr A', doctor_uuid='p1', facility='Ward', facility_uuid='l1')
    >>> people(ctx, "e1", {"reference": "Practitioner/p9"}).doctor_uuid
    'p9'
    >>> people(ctx, None, {"reference": "Practitioner/p9", "display": "Jo (Identifier: 1)"})
    People(doctor='Jo', doctor_uuid='p9', facility=None, facility_uuid=None)
    """
    info = ctx.encounters.get(encounter_uuid) if encounter_uuid else None
    doctor = doctor_name(str_or_none(doctor_ref.get("display"))) if doctor_ref else None
    doctor_uuid = ref_id(doctor_ref, "Practitioner")
    facility = str_or_none(location_ref.get("display")) if location_ref else None
    facility_uuid = ref_id(location_ref, "Location")
    if info is not None and not (doctor or doctor_uuid):
        doctor, doctor_uuid = info.doctor, info.doctor_uuid
    if info is not None and not (facility or facility_uuid):
        facility, facility_uuid = info.facility, info.facility_uuid
    return People(doctor, doctor_uuid, facility, facility_uuid)


def clinical_record(
    resource: JSON,
    ctx: MappingContext,
    uuid: str,
    who: People,
    encounter_uuid: str | None,
    **fields: Any,
) -> RecordDoc:
    """The record every clinical mapper builds: its key, patient, hospital, people and
    encounter; ``fields`` carry the rest (type, name, value, effective, status, data...)."""
    return RecordDoc(
        source=ctx.source,
        resource_type=str(resource["resourceType"]),
        uuid=uuid,
        patient_uuid=ref_id(resource.get("subject"), "Patient")
        or ref_id(resource.get("patient"), "Patient"),
        hospital=ctx.hospital,
        doctor=who.doctor,
        doctor_uuid=who.doctor_uuid,
        facility=who.facility,
        facility_uuid=who.facility_uuid,
        encounter_uuid=encounter_uuid,
        **fields,
    )


def note_text(resource: JSON) -> str | None:
    """The resource's notes as one string.

    >>> note_text({"note": [{"text": "a"}, {"text": "b"}]}), note_text({})
    ('a; b', None)
    """
    return "; ".join(texts(resource.get("note"))) or None


def first_ref(items: Any, key: str | None = None) -> JSON | None:
    """The first reference of a repeating element (``key`` picks it out of a wrapper).

    >>> first_ref([{"actor": {"reference": "Practitioner/p1"}}], "actor")
    {'reference': 'Practitioner/p1'}
    >>> first_ref([]) is None
    True
    """
    for item in dicts(items):
        ref = item.get(key) if key else item
        if isinstance(ref, dict):
            return ref
    return None


def ref_ids(items: Any, resource_type: str) -> list[str]:
    """The ids of the references to ``resource_type`` in a repeating element.

    >>> ref_ids([{"reference": "ServiceRequest/a"}, {"reference": "Observation/b"}],
    ...     "ServiceRequest")
    ['a']
    """
    return [i for i in (ref_id(r, resource_type) for r in dicts(items)) if i]


def extension_value(resource: JSON, url: str) -> Any:
    """The ``value[x]`` of the resource's first extension with ``url`` (``None`` if absent).

    >>> extension_value({"extension": [{"url": "u", "valueInteger": 1}]}, "u")
    1
    """
    for ext in dicts(resource.get("extension")):
        if ext.get("url") == url:
            return next((v for k, v in ext.items() if k.startswith("value")), None)
    return None


def compact(data: JSON) -> JSON:
    """``data`` without empty optional values, so records stay small and compare cleanly.

    >>> compact({"name": "x", "note": None, "reactions": [], "rank": 0})
    {'name': 'x', 'rank': 0}
    """
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}
