"""In-memory OpenMRS rows, kept small (``__slots__``), and the indexed tables that hold them.

Each record carries the audit fields fhir2 reads: ``date_created``, ``date_changed`` and
``voided``/``retired``; ``lu`` is ``date_changed or date_created`` (``meta.lastUpdated``).
Times are whole epoch seconds, as OpenMRS DATETIME columns are.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from typing import Any

from ._concepts import Concept

#: the whole-history FHIR types: rows a patient keeps in ``Patient.clinical``
CLINICAL_TYPES = (
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "MedicationDispense",
    "ServiceRequest",
    "DiagnosticReport",
)


class Rec:
    """Fields every row shares. ``seq`` is the primary key (fhir2's default search order)."""

    __slots__ = ("date_changed", "date_created", "lu", "seq", "uuid", "voided")
    resource_type = ""

    def __init__(self, uuid: str, date_created: int) -> None:
        self.uuid = uuid
        self.seq = 0
        self.date_created = date_created
        self.date_changed: int | None = None
        self.lu = date_created
        self.voided = False


class Location(Rec):
    __slots__ = ("address", "description", "name", "parent", "tags")
    resource_type = "Location"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        name: str,
        description: str,
        parent: Location | None,
        tags: tuple[tuple[str, str], ...],
        address: dict[str, str],
    ) -> None:
        super().__init__(uuid, date_created)
        self.name = name
        self.description = description
        self.parent = parent
        self.tags = tags  # (name, description)
        self.address = address


class Practitioner(Rec):
    """A provider (``identifier`` = provider.identifier) or a user (``is_user``, system_id)."""

    __slots__ = ("family", "gender", "given", "identifier", "is_user", "name_uuid", "prefix")
    resource_type = "Practitioner"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        prefix: str,
        given: str,
        family: str,
        gender: str,
        identifier: str,
        name_uuid: str,
        *,
        is_user: bool = False,
    ) -> None:
        super().__init__(uuid, date_created)
        self.prefix = prefix
        self.given = given
        self.family = family
        self.gender = gender
        self.identifier = identifier
        self.name_uuid = name_uuid
        self.is_user = is_user

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.prefix, self.given, self.family) if p)


class Patient(Rec):
    __slots__ = (
        "address",
        "address_uuid",
        "birthdate",
        "birthdate_estimated",
        "clinical",
        "encounters",
        "family",
        "filter_tag",
        "gender",
        "given",
        "id_location",
        "middle",
        "name_uuid",
        "national_id",
        "nid_uuid",
        "obs",
        "oid_uuid",
        "openmrs_id",
        "prefix",
    )
    resource_type = "Patient"

    def __init__(self, uuid: str, date_created: int) -> None:
        super().__init__(uuid, date_created)
        self.prefix = ""
        self.given = ""
        self.middle = ""
        self.family = ""
        self.gender = "U"
        self.birthdate = 0
        self.birthdate_estimated = False
        self.national_id = ""
        self.openmrs_id = ""
        self.oid_uuid = ""
        self.nid_uuid = ""
        self.name_uuid = ""
        self.address_uuid = ""
        self.address: dict[str, str] = {}
        self.id_location: Location | None = None
        self.filter_tag: str | None = None
        self.obs: list[Obs] = []
        self.encounters: list[Encounter] = []
        #: allergies, conditions, orders, dispenses and reports, in primary-key order per type
        self.clinical: list[Rec] = []

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.prefix, self.given, self.middle, self.family) if p)


class Encounter(Rec):
    """An encounter, or a visit (``is_visit``): both are FHIR Encounters."""

    __slots__ = (
        "end",
        "is_visit",
        "location",
        "obs",
        "patient",
        "providers",
        "start",
        "type",
        "visit",
    )
    resource_type = "Encounter"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        start: int,
        location: Location,
        type_: tuple[str, str],
        *,
        is_visit: bool = False,
        visit: Encounter | None = None,
        providers: tuple[Practitioner, ...] = (),
    ) -> None:
        super().__init__(uuid, date_created)
        self.patient = patient
        self.start = start
        self.end: int | None = None
        self.location = location
        self.type = type_  # (uuid, name)
        self.is_visit = is_visit
        self.visit = visit
        self.providers = providers
        self.obs: list[Obs] = []


class Obs(Rec):
    """One obs row. Immutable apart from ``voided``: an edit is a new row (see Hospital)."""

    __slots__ = (
        "concept",
        "encounter",
        "group",
        "interp",
        "members",
        "obs_datetime",
        "patient",
        "status",
        "value",
    )
    resource_type = "Observation"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        encounter: Encounter,
        concept: Concept,
        value: Any,
        obs_datetime: int,
        status: str = "final",
    ) -> None:
        super().__init__(uuid, date_created)
        self.patient = patient
        self.encounter = encounter
        self.concept = concept
        self.value = value
        self.obs_datetime = obs_datetime
        self.status = status
        self.interp: str | None = None
        self.members: list[Obs] | None = None
        self.group: Obs | None = None


class Clinical(Rec):
    """A row of one of the whole-history types: it belongs to a patient and was recorded by a
    provider, sometimes in an encounter."""

    __slots__ = ("encounter", "patient", "provider")

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        encounter: Encounter | None = None,
    ) -> None:
        super().__init__(uuid, date_created)
        self.patient = patient
        self.provider = provider
        self.encounter = encounter


class Allergy(Clinical):
    """``allergy`` + ``allergy_reaction`` (2.0+). Edited in place (``date_changed``)."""

    __slots__ = ("allergen", "category", "comment", "reactions", "severity")
    resource_type = "AllergyIntolerance"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        allergen: str,
        severity: str,
        reactions: tuple[str, ...],
        comment: str = "",
    ) -> None:
        super().__init__(uuid, date_created, patient, provider)
        self.allergen = allergen  # a key of ALLERGENS
        self.category = ""  # set from the allergen
        self.severity = severity  # mild | moderate | severe
        self.reactions = reactions  # keys of REACTIONS
        self.comment = comment


class Condition(Clinical):
    """``conditions`` (problem list) or, with ``rank``, ``encounter_diagnosis``."""

    __slots__ = ("certainty", "diagnosis", "end", "onset", "rank", "status")
    resource_type = "Condition"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        diagnosis: str,
        onset: int,
        encounter: Encounter | None = None,
        rank: int | None = None,
    ) -> None:
        super().__init__(uuid, date_created, patient, provider, encounter)
        self.diagnosis = diagnosis  # a key of DIAGNOSES
        self.onset = onset
        self.end: int | None = None
        self.status = "active"  # active | inactive (resolved)
        self.rank = rank  # 1 primary, 2 secondary: set only for encounter diagnoses
        self.certainty = "confirmed"  # confirmed | provisional


class Order(Clinical):
    """``orders``: immutable but for ``date_stopped`` (a revise or discontinue sets it)."""

    __slots__ = ("action", "activated", "auto_expire", "previous", "stopped")

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        encounter: Encounter | None,
    ) -> None:
        super().__init__(uuid, date_created, patient, provider, encounter)
        self.action = "NEW"  # NEW | REVISE | DISCONTINUE (then ``previous`` is set)
        self.previous: Order | None = None
        self.activated = date_created
        self.stopped: int | None = None
        self.auto_expire: int | None = None


class DrugOrder(Order):
    """``orders`` + ``drug_order`` -> MedicationRequest."""

    __slots__ = ("dose", "drug", "duration", "frequency", "route")
    resource_type = "MedicationRequest"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        encounter: Encounter | None,
        drug: str,
        dose: float,
        frequency: str,
        duration: int,
    ) -> None:
        super().__init__(uuid, date_created, patient, provider, encounter)
        self.drug = drug  # a key of DRUGS
        self.dose = dose
        self.frequency = frequency  # a key of FREQUENCIES
        self.route = "Oral"
        self.duration = duration  # days


class TestOrder(Order):
    """``orders`` + ``test_order`` -> ServiceRequest."""

    __slots__ = ("test",)
    resource_type = "ServiceRequest"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        encounter: Encounter | None,
        test: str,
    ) -> None:
        super().__init__(uuid, date_created, patient, provider, encounter)
        self.test = test  # a key of KINDS (a laboratory concept)


class Dispense(Clinical):
    """``medication_dispense`` (2.6+), handed over against a drug order."""

    __slots__ = ("order", "quantity")
    resource_type = "MedicationDispense"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        order: DrugOrder,
        quantity: int,
    ) -> None:
        super().__init__(uuid, date_created, patient, provider, order.encounter)
        self.order = order
        self.quantity = quantity


class Report(Clinical):
    """``fhir_diagnostic_report``: a lab report on a test order, with its result obs."""

    __slots__ = ("conclusion", "order", "results", "status")
    resource_type = "DiagnosticReport"

    def __init__(
        self,
        uuid: str,
        date_created: int,
        patient: Patient,
        provider: Practitioner | None,
        order: TestOrder,
        results: list[Obs],
    ) -> None:
        super().__init__(uuid, date_created, patient, provider, order.encounter)
        self.order = order
        self.results = results
        self.status = "final"
        self.conclusion = ""


class Table:
    """Rows of one FHIR type: by uuid, in primary-key order, and sorted by ``lu``.

    ``between(lo, hi)`` answers ``_lastUpdated`` ranges with bisect instead of a scan. For
    append-only types (obs) primary-key order and ``lu`` order are the same list.
    """

    def __init__(self, *, append_only: bool = False) -> None:
        self.append_only = append_only
        self.by_uuid: dict[str, Rec] = {}
        self.rows: list[Rec] = []
        self._lus = array("q")  # append-only: lu of rows[i], 8 bytes each
        self._keys: list[tuple[int, int]] = []  # mutable: sorted (lu, seq)
        self._by_seq: dict[int, Rec] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Rec]:
        return iter(self.rows)

    def get(self, uuid: str) -> Rec | None:
        return self.by_uuid.get(uuid)

    def add(self, rec: Rec) -> None:
        """Append a new row; its ``lu`` must not be older than the newest row's when append-only."""
        rec.seq = len(self.rows) + 1
        self.rows.append(rec)
        self.by_uuid[rec.uuid] = rec
        if self.append_only:
            self._lus.append(rec.lu)
        else:
            self._by_seq[rec.seq] = rec
            insort(self._keys, (rec.lu, rec.seq))

    def touch(self, rec: Rec, when: int) -> None:
        """Set ``date_changed`` and move the row in the ``lu`` index (mutable tables only)."""
        if not self.append_only:
            old = (rec.lu, rec.seq)
            i = bisect_left(self._keys, old)
            if i < len(self._keys) and self._keys[i] == old:
                del self._keys[i]
            insort(self._keys, (when, rec.seq))
        rec.date_changed = when
        rec.lu = when

    def newest_lu(self) -> int:
        if self.append_only:
            return self._lus[-1] if self._lus else 0
        return self._keys[-1][0] if self._keys else 0

    def between(self, lo: int | None, hi: int | None) -> list[Rec]:
        """Rows with ``lo <= lu <= hi`` (either bound optional), in primary-key order."""
        if self.append_only:
            i = 0 if lo is None else bisect_left(self._lus, lo)
            j = len(self._lus) if hi is None else bisect_right(self._lus, hi)
            return self.rows[i:j]
        i = 0 if lo is None else bisect_left(self._keys, (lo, 0))
        j = len(self._keys) if hi is None else bisect_right(self._keys, (hi, 1 << 62))
        seqs = sorted(k[1] for k in self._keys[i:j])
        by_seq = self._by_seq
        return [by_seq[s] for s in seqs]
