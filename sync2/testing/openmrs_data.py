"""A synthetic OpenMRS 1.9-style hospital, written straight into MySQL in bulk.

The benchmark needs tens of thousands of obs in a few seconds, so rows are built as tuples and
sent with ``executemany`` (PyMySQL folds an ``INSERT ... VALUES`` into multi-row statements),
a chunk at a time so the generator itself stays small in memory. Everything is seeded, so two
runs give the same database.

What it holds: a few locations, CIEL-mapped concepts (numeric with units and ranges, coded
questions with coded answers), providers (persons with a ``provider`` row), patients with a
``National ID`` identifier, a name and an address, encounters with one provider each, and obs:
every encounter gets ``obs_per_encounter`` of them. A few obs are edited (the old row voided,
a new row pointing at it through ``previous_version``) and a few are voided outright. With
``clinical`` (the default), every patient also has an allergy, a problem and drug and test
orders (``_clinical_data``), in the 2.x tables or the 1.9 active list, whichever exist.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._clinical_data import ClinicalTotals, write_clinical

__all__ = [
    "NATIONAL_ID_TYPE",
    "ClinicalTotals",
    "HospitalPlan",
    "HospitalTotals",
    "write_hospital",
]

NATIONAL_ID_TYPE = "National ID"
_SAME_AS_UUID = "35543629-7d8c-11e1-909d-c80aa9edcf4e"  # OpenMRS's SAME-AS map type
_UNKNOWN_ROLE_UUID = "a0b03050-c99b-11e0-9572-0800200c9a66"
_EPOCH = datetime(2012, 1, 2, 8, 0, 0)
_CHUNK = 5000

# (CIEL code, name, units, low_normal, hi_normal, allow_decimal, random range)
_NUMERIC = (
    ("5089", "Weight (kg)", "kg", None, None, 1, (3.0, 120.0)),
    ("5090", "Height (cm)", "cm", None, None, 1, (50.0, 200.0)),
    ("5088", "Temperature (C)", "DEG C", 36.0, 37.5, 1, (35.0, 41.0)),
    ("5085", "Systolic blood pressure", "mmHg", 90.0, 140.0, 0, (80.0, 200.0)),
    ("5086", "Diastolic blood pressure", "mmHg", 60.0, 90.0, 0, (40.0, 120.0)),
    ("5087", "Pulse", "beats/min", 60.0, 100.0, 0, (40.0, 160.0)),
    ("5242", "Respiratory rate", "breaths/min", 12.0, 20.0, 0, (8.0, 40.0)),
    ("5092", "Blood oxygen saturation", "%", 95.0, 100.0, 0, (80.0, 100.0)),
    ("5497", "CD4 count", "cells/uL", 500.0, 1500.0, 0, (20.0, 1500.0)),
    ("21", "Hemoglobin", "g/dL", 12.0, 17.0, 1, (5.0, 18.0)),
)
# (CIEL code, question name, class, [(answer code, answer name)])
_CODED = (
    ("1040", "HIV rapid test, qualitative", "Test", (("703", "Positive"), ("664", "Negative"))),
    (
        "6042",
        "Problem added",
        "Finding",
        (("116128", "Malaria"), ("114100", "Pneumonia"), ("117399", "Hypertension")),
    ),
)
_DATATYPES = (("Numeric", "NM"), ("Coded", "CWE"), ("N/A", "ZZ"), ("Text", "ST"))
_CLASSES = ("Test", "Finding", "Diagnosis", "Misc", "Question")
_GIVEN = ("Amina", "Jean", "Grace", "Eric", "Aline", "Claude", "Diane", "Patrick", "Alice", "Paul")
_FAMILY = ("Uwase", "Habimana", "Mukamana", "Niyonzima", "Ingabire", "Nshuti", "Iradukunda")


@dataclass(frozen=True, slots=True)
class HospitalPlan:
    """How big the hospital is; ``obs`` is the total number of obs rows written."""

    obs: int
    obs_per_encounter: int = 10
    encounters_per_patient: int = 5
    providers: int = 20
    edits: int | None = None  # default: one in a thousand obs, at least one
    voids: int | None = None  # default: one in a thousand obs, at least one
    seed: int = 1
    clinical: bool = True  # allergies, problems, drug and test orders for every patient


@dataclass(frozen=True, slots=True)
class HospitalTotals:
    """What was written, so a sync can be checked against it."""

    patients: int
    encounters: int
    obs_rows: int
    edits: int
    voids: int
    clinical: ClinicalTotals = field(default_factory=ClinicalTotals)

    @property
    def valid_obs(self) -> int:
        """Obs rows not voided: what the passport should hold as valid records."""
        return self.obs_rows - self.edits - self.voids


class _Ids:
    """Seeded uuids and creation times, so a database is reproducible."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _insert(cur: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        marks = ", ".join(["%s"] * len(columns))
        cur.executemany(f"INSERT INTO `{table}` ({', '.join(columns)}) VALUES ({marks})", rows)


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _concepts(cur: Any, ids: _Ids) -> tuple[list[int], list[tuple[int, list[int]]]]:
    """Datatypes, classes, the CIEL source and the concepts; returns numeric / coded ids."""
    _insert(
        cur,
        "concept_datatype",
        ("concept_datatype_id", "name", "hl7_abbreviation", "creator", "date_created", "uuid"),
        [(i, n, a, 1, _EPOCH, ids.uuid()) for i, (n, a) in enumerate(_DATATYPES, 1)],
    )
    classes = {name: i for i, name in enumerate(_CLASSES, 1)}
    _insert(
        cur,
        "concept_class",
        ("concept_class_id", "name", "creator", "date_created", "uuid"),
        [(i, n, 1, _EPOCH, ids.uuid()) for n, i in classes.items()],
    )
    _insert(
        cur,
        "concept_reference_source",
        ("concept_source_id", "name", "description", "hl7_code", "creator", "date_created", "uuid"),
        [(1, "CIEL", "Columbia International eHealth Laboratory", None, 1, _EPOCH, ids.uuid())],
    )
    _insert(
        cur,
        "concept_map_type",
        ("concept_map_type_id", "name", "creator", "date_created", "uuid"),
        [(1, "SAME-AS", 1, _EPOCH, _SAME_AS_UUID), (2, "NARROWER-THAN", 1, _EPOCH, ids.uuid())],
    )
    concepts: list[tuple[int, str, str, int, int]] = []  # id, code, name, datatype, class
    numeric, coded = [], []
    for code, name, *_ in _NUMERIC:
        concepts.append((len(concepts) + 1, code, name, 1, classes["Test"]))
        numeric.append(len(concepts))
    for code, name, klass, answers in _CODED:
        concepts.append((len(concepts) + 1, code, name, 2, classes["Question"]))
        question = len(concepts)
        answer_ids = []
        for a_code, a_name in answers:
            concepts.append((len(concepts) + 1, a_code, a_name, 3, classes[klass]))
            answer_ids.append(len(concepts))
        coded.append((question, answer_ids))
    _insert(
        cur,
        "concept",
        ("concept_id", "datatype_id", "class_id", "creator", "date_created", "uuid"),
        [
            (cid, dt, cl, 1, _EPOCH, f"{code}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"[:36])
            for cid, code, _, dt, cl in concepts
        ],
    )
    names: list[tuple[Any, ...]] = []
    for cid, _, name, _, _ in concepts:
        names.append((cid, name, "en", 1, "FULLY_SPECIFIED", 1, _EPOCH, ids.uuid()))
        names.append((cid, name.split(" (")[0].lower(), "en", 0, None, 1, _EPOCH, ids.uuid()))
    _insert(
        cur,
        "concept_name",
        (
            "concept_id",
            "name",
            "locale",
            "locale_preferred",
            "concept_name_type",
            "creator",
            "date_created",
            "uuid",
        ),
        names,
    )
    _insert(
        cur,
        "concept_numeric",
        ("concept_id", "units", "low_normal", "hi_normal", "allow_decimal"),
        [
            (cid, units, low, hi, dec)
            for cid, (_, _, units, low, hi, dec, _) in zip(numeric, _NUMERIC, strict=True)
        ],
    )
    _insert(
        cur,
        "concept_reference_term",
        (
            "concept_reference_term_id",
            "concept_source_id",
            "code",
            "creator",
            "date_created",
            "uuid",
        ),
        [(cid, 1, code, 1, _EPOCH, ids.uuid()) for cid, code, *_ in concepts],
    )
    _insert(
        cur,
        "concept_reference_map",
        (
            "concept_reference_term_id",
            "concept_map_type_id",
            "creator",
            "date_created",
            "concept_id",
            "uuid",
        ),
        [(cid, 1, 1, _EPOCH, cid, ids.uuid()) for cid, *_ in concepts],
    )
    return numeric, coded


def _people(cur: Any, ids: _Ids, first_id: int, count: int) -> list[int]:
    """Persons with one preferred name each; returns their person_ids."""
    rng = ids.rng
    person_ids = list(range(first_id, first_id + count))
    for chunk in _chunks(
        (
            pid,
            rng.choice("MF"),
            (_EPOCH - timedelta(days=rng.randint(400, 30000))).date(),
            1,
            _EPOCH + timedelta(minutes=pid),
            ids.uuid(),
        )
        for pid in person_ids
    ):
        _insert(
            cur,
            "person",
            ("person_id", "gender", "birthdate", "creator", "date_created", "uuid"),
            chunk,
        )
    for chunk in _chunks(
        (
            pid,
            1,
            rng.choice(_GIVEN),
            rng.choice(_FAMILY),
            1,
            _EPOCH + timedelta(minutes=pid),
            ids.uuid(),
        )
        for pid in person_ids
    ):
        _insert(
            cur,
            "person_name",
            (
                "person_id",
                "preferred",
                "given_name",
                "family_name",
                "creator",
                "date_created",
                "uuid",
            ),
            chunk,
        )
    return person_ids


def write_hospital(conn: Any, database: str, plan: HospitalPlan) -> HospitalTotals:
    """Fill an empty OpenMRS schema (``create_openmrs_schema``) with a synthetic hospital.

    Side effects: inserts into ``database`` over ``conn`` and commits once at the end.
    """
    ids = _Ids(plan.seed)
    rng = ids.rng
    encounters = max(1, -(-plan.obs // plan.obs_per_encounter))
    patients = max(1, encounters // plan.encounters_per_patient)
    edits = plan.edits if plan.edits is not None else max(1, plan.obs // 1000)
    voids = plan.voids if plan.voids is not None else max(1, plan.obs // 1000)
    if plan.obs < 2 * (edits + voids) + 1:
        msg = f"a hospital of {plan.obs} obs is too small for {edits} edits and {voids} voids"
        raise ValueError(msg)
    with conn.cursor() as cur:
        cur.execute(f"USE `{database}`")
        cur.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
        cur.execute("BEGIN")
        _insert(
            cur,
            "person",
            ("person_id", "gender", "creator", "date_created", "uuid"),
            [(1, "M", 1, _EPOCH, ids.uuid())],
        )
        _insert(
            cur,
            "users",
            ("user_id", "system_id", "username", "person_id", "creator", "date_created", "uuid"),
            [(1, "admin", "admin", 1, 1, _EPOCH, ids.uuid())],
        )
        _insert(
            cur,
            "location",
            (
                "location_id",
                "name",
                "city_village",
                "country",
                "parent_location",
                "creator",
                "date_created",
                "uuid",
            ),
            [
                (1, "District Hospital", "Kigali", "Rwanda", None, 1, _EPOCH, ids.uuid()),
                (2, "Outpatient Clinic", "Kigali", "Rwanda", 1, 1, _EPOCH, ids.uuid()),
                (3, "Inpatient Ward", "Kigali", "Rwanda", 1, 1, _EPOCH, ids.uuid()),
            ],
        )
        _insert(
            cur,
            "patient_identifier_type",
            ("patient_identifier_type_id", "name", "creator", "date_created", "uuid"),
            [
                (1, NATIONAL_ID_TYPE, 1, _EPOCH, ids.uuid()),
                (2, "OpenMRS ID", 1, _EPOCH, ids.uuid()),
            ],
        )
        _insert(
            cur,
            "encounter_type",
            ("encounter_type_id", "name", "creator", "date_created", "uuid"),
            [
                (1, "Adult Initial", 1, _EPOCH, ids.uuid()),
                (2, "Adult Return", 1, _EPOCH, ids.uuid()),
            ],
        )
        _insert(
            cur,
            "encounter_role",
            ("encounter_role_id", "name", "creator", "date_created", "uuid"),
            [(1, "Unknown", 1, _EPOCH, _UNKNOWN_ROLE_UUID)],
        )
        numeric, coded = _concepts(cur, ids)

        provider_people = _people(cur, ids, 2, plan.providers)
        _insert(
            cur,
            "provider",
            ("provider_id", "person_id", "identifier", "creator", "date_created", "uuid"),
            [
                (i, pid, f"PRV-{i:04d}", 1, _EPOCH, ids.uuid())
                for i, pid in enumerate(provider_people, 1)
            ],
        )
        patient_people = _people(cur, ids, 2 + plan.providers, patients)
        for chunk in _chunks((pid, 1, _EPOCH + timedelta(minutes=pid)) for pid in patient_people):
            _insert(cur, "patient", ("patient_id", "creator", "date_created"), chunk)
        for chunk in _chunks(
            row
            for n, pid in enumerate(patient_people, 1)
            for row in (
                (pid, f"NID{plan.seed:02d}{n:09d}", 1, 1, 1, _EPOCH, ids.uuid()),
                (pid, f"{n:06d}-{n % 9}", 2, 0, 1, _EPOCH, ids.uuid()),
            )
        ):
            _insert(
                cur,
                "patient_identifier",
                (
                    "patient_id",
                    "identifier",
                    "identifier_type",
                    "preferred",
                    "creator",
                    "date_created",
                    "uuid",
                ),
                chunk,
            )
        for chunk in _chunks(
            (pid, 1, f"Sector {pid % 30}", "Kigali", "Rwanda", 1, _EPOCH, ids.uuid())
            for pid in patient_people
        ):
            _insert(
                cur,
                "person_address",
                (
                    "person_id",
                    "preferred",
                    "address1",
                    "city_village",
                    "country",
                    "creator",
                    "date_created",
                    "uuid",
                ),
                chunk,
            )

        def _encounter(eid: int) -> tuple[Any, ...]:
            when = _EPOCH + timedelta(hours=eid)
            return (
                eid,
                1 if eid <= patients else 2,
                patient_people[(eid - 1) % patients],
                rng.randint(1, 3),
                when,
                1,
                when,
                ids.uuid(),
            )

        for chunk in _chunks(_encounter(e) for e in range(1, encounters + 1)):
            _insert(
                cur,
                "encounter",
                (
                    "encounter_id",
                    "encounter_type",
                    "patient_id",
                    "location_id",
                    "encounter_datetime",
                    "creator",
                    "date_created",
                    "uuid",
                ),
                chunk,
            )
        for chunk in _chunks(
            (e, rng.randint(1, plan.providers), 1, 1, _EPOCH + timedelta(hours=e), ids.uuid())
            for e in range(1, encounters + 1)
        ):
            _insert(
                cur,
                "encounter_provider",
                (
                    "encounter_id",
                    "provider_id",
                    "encounter_role_id",
                    "creator",
                    "date_created",
                    "uuid",
                ),
                chunk,
            )

        base = plan.obs - edits  # the last `edits` rows are the new versions of edited obs
        edited = rng.sample(range(1, base + 1), edits + voids)
        edited_ids, voided_ids = sorted(edited[:edits]), set(edited[edits:])
        replaced = set(edited_ids)
        stamp = _EPOCH + timedelta(hours=encounters + 24)

        def _obs(oid: int) -> tuple[Any, ...]:
            source = edited_ids[oid - base - 1] if oid > base else oid
            eid = (source - 1) // plan.obs_per_encounter + 1
            when = _EPOCH + timedelta(hours=eid)
            slot = (source - 1) % plan.obs_per_encounter
            person = patient_people[(eid - 1) % patients]
            number: float | None = None
            answer: int | None = None
            if slot % 5 == 4:
                question, answers = coded[(slot // 5) % len(coded)]
                answer = rng.choice(answers)
            else:
                index = slot % len(numeric)
                question = numeric[index]
                low, high = _NUMERIC[index][6]
                number = round(rng.uniform(low, high), 1 if _NUMERIC[index][5] else 0)
            gone = oid in replaced or oid in voided_ids
            return (
                oid,
                person,
                question,
                eid,
                when,
                rng.randint(1, 3),
                answer,
                number,
                1,
                when if oid <= base else stamp,
                int(gone),
                1 if gone else None,
                stamp if gone else None,
                ("edited" if oid in replaced else "entered in error") if gone else None,
                ids.uuid(),
                source if oid > base else None,
                "AMENDED" if oid > base else "FINAL",
            )

        for chunk in _chunks(_obs(o) for o in range(1, plan.obs + 1)):
            _insert(
                cur,
                "obs",
                (
                    "obs_id",
                    "person_id",
                    "concept_id",
                    "encounter_id",
                    "obs_datetime",
                    "location_id",
                    "value_coded",
                    "value_numeric",
                    "creator",
                    "date_created",
                    "voided",
                    "voided_by",
                    "date_voided",
                    "void_reason",
                    "uuid",
                    "previous_version",
                    "status",
                ),
                chunk,
            )
        clinical = (
            write_clinical(cur, _insert, ids.uuid, patient_people, _EPOCH)
            if plan.clinical
            else ClinicalTotals()
        )
    conn.commit()
    return HospitalTotals(
        patients=patients,
        encounters=encounters,
        obs_rows=plan.obs,
        edits=edits,
        voids=voids,
        clinical=clinical,
    )
