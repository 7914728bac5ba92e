"""One simulated OpenMRS hospital: its rows, its atom feeds and the mutations tests drive.

Every mutation takes ``lock`` (the server reads under the same lock) and appends feed events the
way the atomfeed Hibernate interceptor does: inserts, then updates, then voids, per transaction.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ._clinical import ClinicalMutations, clinical_category
from ._concepts import DIAGNOSES, KINDS, NOTES, Concept
from ._events import CATEGORIES, Feed, FeedEvent
from ._records import Clinical, Encounter, Location, Obs, Patient, Practitioner, Rec, Table
from ._render import render
from ._util import new_uuid

#: kinds ``add_observation`` picks from when none is given
RANDOM_KINDS = (
    "weight",
    "height",
    "temperature",
    "systolic",
    "pulse",
    "haemoglobin",
    "diagnosis",
    "note",
    "next_visit",
    "pregnant",
    "blood_pressure",
)
JSON_CACHE_SIZE = 50_000
_ADDRESS_KEYS = {"address1", "city", "county", "state", "country", "postal_code"}
_PERSON_KEYS = {
    "prefix",
    "given",
    "middle",
    "family",
    "gender",
    "birthdate",
    "birthdate_estimated",
    "national_id",
}


def feed_filter_xml(addr: dict[str, str]) -> str:
    """The JAXB FeedFilter of atomfeed's location strategy: country%state%county%city%postal."""
    value = "%".join(addr.get(k, "") for k in ("country", "state", "county", "city", "postal_code"))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><feedFilter>'
        "<beanName>atomfeed.locationFeedFilterStrategy</beanName>"
        f"<filter>{value}</filter></feedFilter>"
    )


def normalise_national_id(value: str) -> str:
    """Digits only, so ``NID-1234-5678``, ``nid 1234 5678`` and ``NID12345678`` agree.

    >>> normalise_national_id("nid 1234-5678")
    '12345678'
    """
    return "".join(ch for ch in value if ch.isdigit())


class Hospital(ClinicalMutations):
    """An OpenMRS 2.x server's data: thread-safe, mutated live while a server serves it."""

    def __init__(self, id: str, name: str, *, seed: int = 0, feed_filter: bool = False) -> None:
        self.id = id
        self.name = name
        self.feed_filter = feed_filter
        self.rng = random.Random(f"{seed}:{id}:live")
        self.feed_salt = f"{seed}:{id}"
        self.lock = threading.RLock()
        self.version = 0
        self.patients = Table()
        self.encounters = Table()  # visits and encounters (both FHIR Encounter)
        self.observations = Table(append_only=True)
        self.practitioners = Table()  # providers
        self.users = Table()  # users: the Practitioner search quirk
        self.locations = Table()
        #: FHIR type -> its table (Practitioner: providers only; users are a search quirk)
        self.tables: dict[str, Table] = {
            "Patient": self.patients,
            "Encounter": self.encounters,
            "Observation": self.observations,
            "Location": self.locations,
            "Practitioner": self.practitioners,
            "AllergyIntolerance": Table(),
            "Condition": Table(),
            "MedicationRequest": Table(append_only=True),  # orders: immutable, date_created
            "ServiceRequest": Table(append_only=True),
            "MedicationDispense": Table(append_only=True),
            "DiagnosticReport": Table(),
        }
        #: True: Practitioner and Location references carry no ``display`` (older fhir2)
        self.bare_references = False
        #: True: searches ignore ``_sort`` (rows in primary-key order), as some servers do
        self.ignore_sort = False
        #: FHIR types this server does not serve at all (404), e.g. MedicationDispense before 2.6
        self.unserved: set[str] = set()
        self.identifiers: dict[str, list[tuple[str, Patient]]] = {}
        self.feeds: dict[str, Feed] = {c: Feed() for c in CATEGORIES}
        self.root_location: Location | None = None
        self.wards: list[Location] = []
        self.encounter_types: dict[str, tuple[str, str]] = {}
        self.visit_type: tuple[str, str] = ("", "")
        self._json: dict[Rec, str] = {}
        self._last_now = 0
        self.person_count = 0
        self._clock: int | None = None  # set while replaying generated history
        self._person_factory: Any = None  # set by the generator: rng -> demographics dict

    def __repr__(self) -> str:
        return f"Hospital({self.id!r}, patients={len(self.patients)}, obs={len(self.observations)})"

    # ---------------------------------------------------------------- time, events, caches
    def now(self) -> int:
        """Whole seconds, never going backwards (the obs index is append-only)."""
        if self._clock is not None:
            return self._clock
        self._last_now = max(int(time.time()), self._last_now, self.observations.newest_lu())
        return self._last_now

    def _event(self, category: str, action: str, rec: Rec, when: int) -> None:
        tag = None
        if self.feed_filter and category != "location":
            owner = rec if isinstance(rec, Patient) else rec.patient  # type: ignore[attr-defined]
            tag = owner.filter_tag
        self.feeds[category].append(FeedEvent(action, rec, when, tag))

    @staticmethod
    def _category(rec: Rec) -> str:
        if isinstance(rec, Obs):
            return "observation"
        if isinstance(rec, Clinical):
            return clinical_category(rec)
        if isinstance(rec, Encounter):
            return "visit" if rec.is_visit else "encounter"
        return rec.resource_type.lower()

    def _table(self, rec: Rec) -> Table:
        if isinstance(rec, Practitioner):
            return self.users if rec.is_user else self.practitioners
        return self.tables[rec.resource_type]

    def _dirty(self, recs: Iterable[Rec]) -> None:
        for rec in recs:
            self._json.pop(rec, None)

    def resource_json(self, rec: Rec) -> str:
        """Compact FHIR JSON of ``rec``, cached (bounded) until the row changes."""
        text = self._json.get(rec)
        if text is None:
            text = json.dumps(self.render(rec), separators=(",", ":"), ensure_ascii=False)
            if len(self._json) >= JSON_CACHE_SIZE:
                del self._json[next(iter(self._json))]
            self._json[rec] = text
        return text

    def render(self, rec: Rec) -> dict[str, Any]:
        """``rec`` as this server's fhir2 renders it (uncached)."""
        return render(rec, bare_references=self.bare_references)

    # ---------------------------------------------------------------- primitives
    def _insert(self, rec: Rec) -> None:
        """Save a new row: table, indexes, CREATED event (no event for users/providers)."""
        self.version += 1
        self._table(rec).add(rec)
        if isinstance(rec, Patient):
            if rec.address and rec.filter_tag is None:
                rec.filter_tag = feed_filter_xml(rec.address)
            self._index_ids(rec)
        elif isinstance(rec, Encounter):
            rec.patient.encounters.append(rec)
        elif isinstance(rec, Obs):
            rec.patient.obs.append(rec)
            rec.encounter.obs.append(rec)
            if rec.group is not None:
                self._dirty([rec.group])
        elif isinstance(rec, Clinical):
            rec.patient.clinical.append(rec)
        if not isinstance(rec, Practitioner):
            self._event(self._category(rec), "CREATED", rec, rec.date_created)

    def _index_ids(self, p: Patient) -> None:
        for type_name, value in (("OpenMRS ID", p.openmrs_id), ("National ID", p.national_id)):
            if value:
                self.identifiers.setdefault(value, []).append((type_name, p))

    def _touch(self, rec: Rec, when: int) -> None:
        self.version += 1
        table = self._table(rec)
        if not table.append_only:  # obs, orders, dispenses: lastUpdated is date_created
            table.touch(rec, when)
        self._dirty([rec])
        self._event(self._category(rec), "UPDATED", rec, when)

    def _void(self, rec: Rec, when: int) -> None:
        """A void: UPDATED then VOIDED, as the interceptor emits them."""
        rec.voided = True
        self._touch(rec, when)
        self._event(self._category(rec), "VOIDED", rec, when)
        if isinstance(rec, Obs):
            if rec.group is not None:
                self._dirty([rec.group])
            for member in rec.members or ():
                if not member.voided:
                    self._void(member, when)

    # ---------------------------------------------------------------- lookups
    def _get(self, table: Table, uuid: str, what: str) -> Any:
        rec = table.get(uuid)
        if rec is None:
            msg = f"{self.id}: no {what} {uuid}"
            raise KeyError(msg)
        return rec

    def get(self, resource_type: str, uuid: str) -> Rec | None:
        """The row behind ``{resource_type}/{uuid}`` (voided or not), or None."""
        if resource_type == "Practitioner":
            return self.practitioners.get(uuid) or self.users.get(uuid)
        table = self.tables.get(resource_type)
        return table.get(uuid) if table is not None else None

    # ---------------------------------------------------------------- building blocks
    def new_obs(
        self,
        patient: Patient,
        encounter: Encounter,
        kind: str,
        value: Any,
        when: int,
        *,
        status: str = "final",
        group: Obs | None = None,
    ) -> Obs:
        """Make and save one obs (with a group's members); returns the saved (parent) row."""
        rows = build_obs(
            self.rng, when, patient, encounter, kind, value, status=status, group=group
        )
        for row in rows:
            self._insert(row)
        return rows[0]

    def new_encounter(
        self,
        patient: Patient,
        when: int,
        type_name: str | None = None,
        visit: Encounter | None = None,
    ) -> Encounter:
        rng = self.rng
        type_name = type_name or rng.choice(sorted(self.encounter_types))
        providers = tuple(rng.sample(self.practitioners.rows, 1))  # type: ignore[arg-type]
        e = Encounter(
            new_uuid(rng),
            when,
            patient,
            when,
            rng.choice(self.wards),
            self.encounter_types[type_name],
            visit=visit,
            providers=providers,
        )  # type: ignore[arg-type]
        self._insert(e)
        return e

    # ---------------------------------------------------------------- public mutations
    def add_observation(
        self,
        patient_uuid: str,
        kind: str | None = None,
        value: Any = None,
        encounter_uuid: str | None = None,
    ) -> str:
        """Record one new obs (a new encounter when none is given); returns the obs uuid.

        ``kind`` is one of ``RANDOM_KINDS`` (random when None); ``value`` matches it: a number,
        a diagnosis name, a note, a datetime (epoch/ISO), a bool, or (systolic, diastolic).
        """
        with self.lock:
            p = self._get(self.patients, patient_uuid, "patient")
            when = self.now()
            if encounter_uuid is None:
                enc = self.new_encounter(p, when)
            else:
                enc = self._get(self.encounters, encounter_uuid, "encounter")
            kind = kind or self.rng.choice(RANDOM_KINDS)
            if kind not in KINDS:
                msg = f"unknown obs kind {kind!r}; known: {sorted(KINDS)}"
                raise ValueError(msg)
            return self.new_obs(p, enc, kind, value, when).uuid

    def add_random_observations(self, k: int) -> list[str]:
        """``k`` new obs for random living patients, a few to each new encounter."""
        out: list[str] = []
        with self.lock:
            living = [p for p in self.patients.rows if not p.voided]
            if not living:
                return out
            while len(out) < k:
                p = self.rng.choice(living)
                when = self.now()
                enc = self.new_encounter(p, when)
                for _ in range(min(k - len(out), self.rng.randint(1, 5))):
                    kind = self.rng.choice(RANDOM_KINDS[:-1])
                    out.append(self.new_obs(p, enc, kind, None, when).uuid)  # type: ignore[arg-type]
        return out

    def amend_observation(self, uuid: str, new_value: Any) -> str:
        """An OpenMRS obs edit: the old row is voided, a new row (new uuid) is ``amended``.

        Feed: CREATED (new), UPDATED + VOIDED (old), in the interceptor's order.
        """
        with self.lock:
            old: Obs = self._get(self.observations, uuid, "obs")
            if old.voided or old.members is not None:
                msg = f"{self.id}: obs {uuid} is voided or a group; cannot amend"
                raise ValueError(msg)
            when = self.now()
            kind = next(k for k, c in KINDS.items() if c is old.concept)
            new = self.new_obs(
                old.patient, old.encounter, kind, new_value, when, status="amended", group=old.group
            )
            new.obs_datetime = old.obs_datetime
            if old.group is not None and old.group.members is not None:
                old.group.members.append(new)
            self._void(old, when)
            return new.uuid

    def void_observation(self, uuid: str) -> None:
        """Void an obs (and a group's members): UPDATED + VOIDED each."""
        with self.lock:
            o = self._get(self.observations, uuid, "obs")
            if not o.voided:
                self._void(o, self.now())

    def void_patient(self, uuid: str) -> None:
        """Void a patient: UPDATED + VOIDED on the patient feed; reads then answer 410."""
        with self.lock:
            p = self._get(self.patients, uuid, "patient")
            if not p.voided:
                self._void(p, self.now())

    def update_patient(self, uuid: str, **demographics: Any) -> None:
        """Change names/address/etc. (keys: prefix given middle family gender birthdate
        birthdate_estimated national_id address1 city county state country postal_code)."""
        unknown = set(demographics) - _ADDRESS_KEYS - _PERSON_KEYS
        if unknown:
            msg = f"unknown demographic fields {sorted(unknown)}"
            raise ValueError(msg)
        with self.lock:
            p: Patient = self._get(self.patients, uuid, "patient")
            self._apply_demographics(p, demographics)
            self._touch(p, self.now())
            self._dirty(p.obs)
            self._dirty(p.encounters)

    def _apply_demographics(self, p: Patient, demo: dict[str, Any]) -> None:
        for key, value in demo.items():
            if key in _ADDRESS_KEYS:
                p.address = {**p.address, key: str(value)}
                p.filter_tag = feed_filter_xml(p.address)
            elif key == "birthdate" and isinstance(value, str):
                p.birthdate = int(datetime.fromisoformat(value + "T00:00:00+00:00").timestamp())
            elif key == "national_id":
                if p.national_id:
                    self.identifiers[p.national_id] = [
                        t for t in self.identifiers.get(p.national_id, []) if t[1] is not p
                    ]
                p.national_id = str(value)
                if not p.nid_uuid:
                    p.nid_uuid = new_uuid(self.rng)
                self.identifiers.setdefault(p.national_id, []).append(("National ID", p))
            else:
                setattr(p, key, value)

    def add_patient(self, national_id: str | None = None, **demographics: Any) -> str:
        """Register a new patient (random demographics unless given); returns the uuid."""
        with self.lock:
            when = self.now()
            demo = dict(self._person_factory(self.rng)) if self._person_factory else {}
            demo.update(demographics)
            if national_id is not None:
                demo["national_id"] = national_id
            p = make_patient(self, self.rng, when, demo)
            self._insert(p)
            return p.uuid

    # ---------------------------------------------------------------- read helpers
    def corrupt_feed_entry(self, category: str, index: int, content: str) -> None:
        """Serve ``content`` verbatim as the ``<content>`` of entry ``index`` of a feed.

        For tests of bad input: a real feed can carry an entry a client cannot read, and the
        client must park it in its failed-events queue and go on.
        """
        with self.lock:
            feed = self.feeds[category]
            if not 0 <= index < len(feed):
                msg = f"feed {category} has no entry {index}"
                raise IndexError(msg)
            feed.content_overrides[index] = content

    def valid_resources(self, resource_type: str) -> list[dict[str, Any]]:
        """What a correct client should hold as valid: every non-voided row, as FHIR dicts.

        Practitioner means providers only (users are a search quirk, not clinical data).
        """
        table = self.tables[resource_type]
        with self.lock:
            return [self.render(r) for r in table.rows if not r.voided]

    def valid_observations(self) -> list[dict[str, Any]]:
        return self.valid_resources("Observation")

    def voided_observation_uuids(self) -> set[str]:
        with self.lock:
            return {o.uuid for o in self.observations.rows if o.voided}

    def patient_by_national_id(self, nid: str) -> dict[str, Any] | None:
        """The living patient with this National ID (compared normalised), as FHIR, or None."""
        want = normalise_national_id(nid)
        with self.lock:
            for p in self.patients.rows:
                if not p.voided and normalise_national_id(p.national_id) == want:  # type: ignore[attr-defined]
                    return self.render(p)
        return None


def make_patient(h: Hospital, rng: random.Random, when: int, demo: dict[str, Any]) -> Patient:
    """A Patient row with its identifier/name/address uuids; ``demo`` fills the demographics."""
    p = Patient(new_uuid(rng), when)
    p.oid_uuid = new_uuid(rng)
    p.name_uuid = new_uuid(rng)
    p.address_uuid = new_uuid(rng)
    p.id_location = h.root_location
    h.person_count += 1
    p.openmrs_id = openmrs_id(100000 + h.person_count)
    nid = demo.pop("national_id", None)
    address = {k: str(demo.pop(k)) for k in list(demo) if k in _ADDRESS_KEYS}
    for key, value in demo.items():
        if key == "birthdate" and isinstance(value, str):
            value = int(datetime.fromisoformat(value + "T00:00:00+00:00").timestamp())
        setattr(p, key, value)
    p.address = address
    if nid:
        p.national_id = str(nid)
        p.nid_uuid = new_uuid(rng)
    return p


_LUHN30 = "0123456789ACDEFGHJKLMNPRTUVWXY"


def openmrs_id(n: int) -> str:
    """An idgen-style OpenMRS ID: base-30 digits plus a Luhn mod-30 check character.

    >>> openmrs_id(100000)[-1] in _LUHN30
    True
    """
    digits = ""
    while True:
        n, r = divmod(n, 30)
        digits = _LUHN30[r] + digits
        if n == 0:
            break
    factor, total = 2, 0
    for ch in reversed(digits):
        addend = factor * _LUHN30.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // 30 + addend % 30
    return digits + _LUHN30[(30 - total % 30) % 30]


def obs_value(rng: random.Random, concept: Concept, value: Any, now: int) -> Any:
    """Coerce a caller's value to the stored form, or draw a plausible one when None."""
    dt = concept.datatype
    if dt == "numeric":
        if value is None:
            lo, hi = concept.typical
            value = rng.uniform(lo, hi)
        return round(float(value), 1) if concept.allow_decimal else float(round(value))
    if dt == "coded":
        value = value if value is not None else rng.choice(_DIAGNOSIS_NAMES)
        if value not in DIAGNOSES:
            msg = f"unknown diagnosis {value!r}; known: {sorted(DIAGNOSES)}"
            raise ValueError(msg)
        return value
    if dt == "text":
        return str(value) if value is not None else rng.choice(NOTES)
    if dt == "datetime":
        if value is None:
            return now + rng.randint(7, 60) * 86400
        if isinstance(value, str):
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        if isinstance(value, datetime):
            return int(value.timestamp())
        return int(value)
    if dt == "boolean":
        return bool(rng.random() < 0.2) if value is None else bool(value)
    return value


_DIAGNOSIS_NAMES = sorted(DIAGNOSES)


def build_obs(
    rng: random.Random,
    when: int,
    patient: Patient,
    encounter: Encounter,
    kind: str,
    value: Any,
    *,
    status: str = "final",
    group: Obs | None = None,
) -> list[Obs]:
    """Unsaved obs rows for one recorded value: ``[obs]`` or ``[group, *members]``."""
    concept = KINDS[kind]
    if concept.datatype == "group":
        o = Obs(new_uuid(rng), when, patient, encounter, concept, None, encounter.start, status)
        o.members = []
        rows = [o]
        values = value if value is not None else (None,) * len(concept.members)
        for member_kind, member_value in zip(concept.members, values, strict=True):
            member = build_obs(
                rng, when, patient, encounter, member_kind, member_value, status=status, group=o
            )[0]
            o.members.append(member)
            rows.append(member)
        return rows
    value = obs_value(rng, concept, value, when)
    o = Obs(new_uuid(rng), when, patient, encounter, concept, value, encounter.start, status)
    o.group = group
    if concept.category == "laboratory" and concept.normal:
        lo, hi = concept.normal
        o.interp = "L" if value < lo else "H" if value > hi else "N"
    return [o]
