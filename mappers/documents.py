"""The passport documents that mappers produce and stores keep.

Plain dataclasses: cheap to build by the thousand, easy to turn into JSON (``to_dict``), and
free of any store or HTTP knowledge. Every document is keyed by ``(source, resource type, uuid)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

RECORD_TYPES = ("allergy", "condition", "medication", "test", "visit", "vital", "other")
#: The FHIR resource types that become passport records (RecordDoc), in the order a patient's
#: records are walked. Patients, practitioners and locations are documents of their own.
RECORD_RESOURCE_TYPES = (
    "Encounter",
    "Observation",
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "MedicationDispense",
    "ServiceRequest",
    "DiagnosticReport",
)

#: Record statuses. ``superseded`` and ``entered-in-error`` keep the record visible as *not valid*.
STATUS_FINAL = "final"
STATUS_AMENDED = "amended"
STATUS_PRELIMINARY = "preliminary"
STATUS_ENTERED_IN_ERROR = "entered-in-error"
STATUS_SUPERSEDED = "superseded"
INVALID_STATUSES = frozenset({STATUS_ENTERED_IN_ERROR, STATUS_SUPERSEDED})


@dataclass(slots=True)
class PatientDoc:
    """One hospital's view of a person; the store links it to one passport patient."""

    source: str
    uuid: str
    national_id: str | None
    name: str | None = None
    given: list[str] = field(default_factory=list)
    family: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    deceased: bool | str | None = None
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = None
    last_updated: str | None = None
    content_hash: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    patient_id: str | None = None  # the passport patient this links to, set by the engine
    #: Every name (preferred first) with given / middle / family and the OpenMRS name extension.
    names: list[dict[str, Any]] = field(default_factory=list)
    #: ``year`` | ``month`` | ``day``: fhir2 sends only the year for an estimated birth date.
    birth_date_precision: str | None = None

    resource_type = "Patient"

    def to_dict(self) -> dict[str, Any]:
        return _shallow_dict(self)


@dataclass(slots=True)
class RecordDoc:
    """One clinical record as the passport shows it: an observation, an encounter, an allergy,
    a condition or diagnosis, a drug order or dispense, a test order or a lab report."""

    source: str
    resource_type: str
    uuid: str
    patient_uuid: str | None
    type: str
    name: str
    value: str | None = None
    unit: str | None = None
    effective: str | None = None
    status: str = STATUS_FINAL
    hospital: str | None = None
    doctor: str | None = None
    facility: str | None = None
    encounter_uuid: str | None = None
    #: A group's member observations, or a lab report's result observations.
    members: list[str] = field(default_factory=list)
    codes: list[dict[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    last_updated: str | None = None
    content_hash: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    patient_id: str | None = None  # set by the engine once the patient is matched
    superseded_by: str | None = None
    #: The earlier record (same source) this one revises or discontinues: a drug order's
    #: ``priorPrescription``, a test order's ``replaces``. The engine marks that one superseded.
    supersedes: str | None = None
    #: The orders this record fulfils: a report's ``basedOn`` test orders, a dispense's
    #: ``authorizingPrescription`` drug orders.
    based_on: list[str] = field(default_factory=list)
    #: Practitioner / Location ids behind ``doctor`` / ``facility``: when fhir2 sent a reference
    #: without ``display`` the engine reads them by id rather than leave the record without one.
    doctor_uuid: str | None = None
    facility_uuid: str | None = None
    #: Conflict bookkeeping kept by the engine (``conflicts.records``): the source hash last
    #: synced (``base_hash``), the hash and values of the passport-visible fields as synced
    #: (``passport_hash``, ``base_fields``) and the last passport edit (``edited_*``).
    sync_state: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _shallow_dict(self)


@dataclass(slots=True)
class DoctorDoc:
    """A provider (fhir2 Practitioner backed by a provider row, not a bare user)."""

    source: str
    uuid: str
    name: str | None
    identifier: str | None = None
    version: str | None = None
    content_hash: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    last_updated: str | None = None
    warnings: list[str] = field(default_factory=list)

    resource_type = "Practitioner"

    def to_dict(self) -> dict[str, Any]:
        return _shallow_dict(self)


@dataclass(slots=True)
class LocationDoc:
    """A facility or ward; ``part_of`` builds the hierarchy catchment walks."""

    source: str
    uuid: str
    name: str | None
    part_of: str | None = None
    tags: list[str] = field(default_factory=list)
    address: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    content_hash: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    last_updated: str | None = None
    warnings: list[str] = field(default_factory=list)

    resource_type = "Location"

    def to_dict(self) -> dict[str, Any]:
        return _shallow_dict(self)


Document = PatientDoc | RecordDoc | DoctorDoc | LocationDoc


_FIELD_NAMES: dict[
    type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], tuple[str, ...]]
] = {}
#: Record fields only some types use: left out of ``to_dict`` while empty, so the millions of
#: stored observations do not each carry them (their defaults come back on load).
_SPARSE = frozenset({"supersedes", "based_on", "doctor_uuid", "facility_uuid"})


def _shallow_dict(doc: Any) -> dict[str, Any]:
    """The document's fields as a dict, sharing (not copying) nested values.

    ``dataclasses.asdict`` deep-copies the raw FHIR resource of every record, which cost more
    than mapping it; the store serialises the result at once, so a shallow view is enough.

    >>> d = RecordDoc(source="s", resource_type="Observation", uuid="o", patient_uuid=None,
    ...     type="vital", name="Weight", supersedes="o0").to_dict()
    >>> d["supersedes"], "based_on" in d, RecordDoc(**d).based_on
    ('o0', False, [])
    """
    cls = type(doc)
    known = _FIELD_NAMES.get(cls)
    if known is None:
        every = [f.name for f in fields(doc)]
        dense = tuple(n for n in every if n not in _SPARSE)
        known = _FIELD_NAMES[cls] = (
            dense,
            attrgetter(*dense),  # one C call for every field: called for each record written
            tuple(n for n in every if n in _SPARSE),
        )
    names, values, sparse = known
    out = dict(zip(names, values(doc), strict=True))
    for name in sparse:
        value = getattr(doc, name)
        if value:
            out[name] = value
    return out
