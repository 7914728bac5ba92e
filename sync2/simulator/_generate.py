"""Deterministic hospitals with a believable history (patients, visits, encounters, obs, edits).

History is planned first as timed operations, then replayed in time order through the same
primitives live mutations use, so tables stay sorted and the feeds read like a real server's.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from ._clinical import plan_clinical
from ._concepts import KINDS
from ._hospital import Hospital, build_obs, make_patient
from ._records import Encounter, Location, Obs, Patient, Practitioner
from ._util import new_uuid

HISTORY_START = 1672531200  # 2023-01-01T00:00:00Z
HISTORY_END = 1735689600  # 2025-01-01T00:00:00Z
DAY = 86400

_HOSPITALS = (
    "central",
    "north",
    "south",
    "east",
    "west",
    "lakeside",
    "hillside",
    "riverside",
    "coastal",
    "valley",
)
_REGIONS = (  # state, county, city, postal prefix
    ("Nairobi", "Westlands", "Nairobi", "00100"),
    ("Kisumu", "Kisumu East", "Kisumu", "40100"),
    ("Mombasa", "Mvita", "Mombasa", "80100"),
    ("Nakuru", "Naivasha", "Nakuru", "20100"),
    ("Uasin Gishu", "Kapseret", "Eldoret", "30100"),
    ("Kiambu", "Thika", "Thika", "01000"),
)
_GIVEN_F = (
    "Alice",
    "Grace",
    "Mary",
    "Amina",
    "Wanjiru",
    "Fatuma",
    "Joy",
    "Ruth",
    "Esther",
    "Lucy",
    "Nadia",
    "Irene",
    "Achieng",
    "Zawadi",
    "Halima",
    "Sarah",
)
_GIVEN_M = (
    "John",
    "Peter",
    "James",
    "Otieno",
    "Kamau",
    "Hassan",
    "David",
    "Brian",
    "Samuel",
    "Joseph",
    "Daniel",
    "Kevin",
    "Mwangi",
    "Omar",
    "Paul",
    "Moses",
)
_FAMILY = (
    "Smith",
    "Odhiambo",
    "Mwangi",
    "Kariuki",
    "Wanjala",
    "Njoroge",
    "Mutua",
    "Ochieng",
    "Kiptoo",
    "Abdi",
    "Chebet",
    "Nyambura",
    "Wafula",
    "Kimani",
    "Barasa",
    "Juma",
)
_STREETS = ("Main", "Market", "Station", "Church", "Hospital", "River", "Hill", "Park")
_ENCOUNTER_TYPES = {
    "Vitals": "67a71486-1a54-468f-ac3e-7091a9a79584",
    "Visit Note": "d7151f82-c1f3-4152-a605-2f9ea7414a79",
    "Lab Results": "3596fafb-6f6f-4396-8c87-6e63a0f1bd71",
}
_VISIT_TYPE = ("7b0f5697-27e3-40c4-8bae-f4049abfb4ed", "Facility Visit")
_KINDS_BY_TYPE = {
    "Vitals": ("weight", "height", "temperature", "blood_pressure", "pulse"),
    "Visit Note": ("diagnosis", "note", "next_visit", "pregnant"),
    "Lab Results": ("haemoglobin",),
}


def _person(rng: random.Random, region: tuple[str, str, str, str]) -> dict[str, Any]:
    """Random demographics living in ``region`` (no identifiers)."""
    gender = rng.choice("MF")
    state, county, city, postal = region
    return {
        "gender": gender,
        "given": rng.choice(_GIVEN_F if gender == "F" else _GIVEN_M),
        "middle": rng.choice(_GIVEN_F if gender == "F" else _GIVEN_M) if rng.random() < 0.4 else "",
        "family": rng.choice(_FAMILY),
        "prefix": "",
        "birthdate": rng.randint(-946684800, 1577836800) // DAY * DAY,  # 1940..2020
        "birthdate_estimated": rng.random() < 0.1,
        "address1": f"{rng.randint(1, 200)} {rng.choice(_STREETS)} Street",
        "city": city,
        "county": county,
        "state": state,
        "country": "Kenya",
        "postal_code": postal,
    }


def _national_id(rng: random.Random, issued: set[str]) -> str:
    """A national ID no other person of this run has: a real registry never reuses one, and a
    collision would make two people one passport patient (or a link review)."""
    while True:
        value = f"NID-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        if value not in issued:
            issued.add(value)
            return value


def _variant(rng: random.Random, person: dict[str, Any]) -> dict[str, Any]:
    """The same person as another hospital registered them: small, realistic differences."""
    out = dict(person)
    if rng.random() < 0.3:
        out["middle"] = ""
    if rng.random() < 0.3:
        out["address1"] = out["address1"].replace(" Street", " St")
    digits = "".join(ch for ch in out["national_id"] if ch.isdigit())
    out["national_id"] = rng.choice(
        (
            f"NID-{digits[:4]}-{digits[4:]}",
            f"NID {digits[:4]} {digits[4:]}",
            f"nid-{digits[:4]}-{digits[4:]}",
            f"NID{digits}",
        )
    )
    return out


def _setup(h: Hospital, rng: random.Random, index: int) -> None:
    """Locations, providers, users and types, all created at the start of history."""
    t = HISTORY_START
    state, _county, city, postal = _REGIONS[index % len(_REGIONS)]
    addr = {"city": city, "state": state, "country": "Kenya", "postal_code": postal}
    root = Location(
        new_uuid(rng),
        t,
        h.name,
        f"{h.name}, {city}",
        None,
        (("Visit Location", "Visits are only allowed at locations with this tag"),),
        {"address1": f"1 {h.name} Road", **addr},
    )
    h._insert(root)
    h.root_location = root
    login = ("Login Location", "A user can log in at locations with this tag")
    for ward, extra in (
        ("Outpatient Clinic", ()),
        ("Inpatient Ward", ()),
        ("Laboratory", (("Lab", "Laboratory locations"),)),
    ):
        loc = Location(new_uuid(rng), t, ward, f"{ward} at {h.name}", root, (login, *extra), addr)
        h._insert(loc)
        h.wards.append(loc)
    h.encounter_types = {name: (uuid, name) for name, uuid in _ENCOUNTER_TYPES.items()}
    h.visit_type = _VISIT_TYPE
    h._insert(
        Practitioner(
            new_uuid(rng), t, "", "Super", "User", "M", "admin", new_uuid(rng), is_user=True
        )
    )
    for n in range(1, 5):
        gender = rng.choice("MF")
        given = rng.choice(_GIVEN_F if gender == "F" else _GIVEN_M)
        family = rng.choice(_FAMILY)
        h._insert(
            Practitioner(
                new_uuid(rng), t, "Dr.", given, family, gender, f"PRV-{n:03d}", new_uuid(rng)
            )
        )
        h._insert(
            Practitioner(
                new_uuid(rng),
                t,
                "",
                given,
                family,
                gender,
                f"{given[0]}{family}".lower(),
                new_uuid(rng),
                is_user=True,
            )
        )
    h._insert(
        Practitioner(
            new_uuid(rng), t, "", "Clerk", "Registry", "F", "clerk", new_uuid(rng), is_user=True
        )
    )


def _plan_patient(
    h: Hospital,
    rng: random.Random,
    p: Patient,
    n_obs: int,
    ops: list[tuple[Any, ...]],
    clinical: bool = True,
) -> None:
    """Visits, encounters and obs for one patient, plus a few later edits and voids; with
    ``clinical``, allergies, conditions, orders and reports too (see ``_clinical``)."""
    span = HISTORY_END - p.date_created
    n_visits = max(1, n_obs // 8)
    t = p.date_created + rng.randint(600, 3 * DAY)
    remaining = n_obs
    providers = h.practitioners.rows
    planned: list[Encounter] = []
    while remaining > 0:
        visit = Encounter(
            new_uuid(rng),
            t,
            p,
            t,
            h.root_location,  # type: ignore[arg-type]
            h.visit_type,
            is_visit=True,
        )
        visit.end = t + 4 * 3600
        ops.append((t, "insert", visit))
        for j, type_name in enumerate(rng.sample(sorted(_KINDS_BY_TYPE), rng.randint(1, 3))):
            if remaining <= 0:
                break
            start = t + j * 1800 + rng.randint(0, 600)
            enc = Encounter(
                new_uuid(rng),
                start + 5,
                p,
                start,
                rng.choice(h.wards),
                h.encounter_types[type_name],
                visit=visit,
                providers=(rng.choice(providers),),
            )  # type: ignore[arg-type]
            ops.append((enc.date_created, "insert", enc))
            planned.append(enc)
            for kind in _KINDS_BY_TYPE[type_name]:
                if remaining <= 0:
                    break
                if kind == "pregnant" and p.gender != "F":
                    continue
                if len(KINDS[kind].members) + 1 > remaining:
                    kind = "pulse"
                created = start + rng.randint(10, 900)
                rows = build_obs(rng, created, p, enc, kind, None)
                rows_t = created
                for row in rows:
                    ops.append((rows_t, "insert", row))
                remaining -= len(rows)
                if len(rows) == 1:
                    _maybe_correct(rng, rows[0], created, ops)
        t += max(DAY, int(span / (n_visits + 1) * rng.uniform(0.5, 1.5)))
    if clinical:
        own = random.Random(f"{p.uuid}:clinical")  # its own draws: obs history stays as it was
        ops.extend((when, "call", fn) for when, fn in plan_clinical(h, own, p, planned))


def _maybe_correct(rng: random.Random, o: Obs, created: int, ops: list[tuple[Any, ...]]) -> None:
    r = rng.random()
    if r < 0.01:
        when = created + rng.randint(3600, 5 * DAY)
        kind = next(k for k, c in KINDS.items() if c is o.concept)
        new = build_obs(rng, when, o.patient, o.encounter, kind, None, status="amended")[0]
        new.obs_datetime = o.obs_datetime
        ops.append((when, "amend", o, new))
    elif r < 0.015:
        ops.append((created + rng.randint(3600, 5 * DAY), "void", o))


def _replay(h: Hospital, ops: list[tuple[Any, ...]]) -> None:
    ops.sort(key=lambda op: op[0])  # stable: same-second operations keep plan order
    for op in ops:
        h._clock = op[0]
        kind = op[1]
        if kind == "insert":
            h._insert(op[2])
        elif kind == "amend":
            h._insert(op[3])
            h._void(op[2], op[0])
        elif kind == "void":
            h._void(op[2], op[0])
        elif kind == "update":
            h._apply_demographics(op[2], op[3])
            h._touch(op[2], op[0])
        elif kind == "call":
            op[2]()
    h._clock = None
    h._json.clear()


def generate_hospitals(
    n: int = 3,
    patients: int = 20,
    obs_per_patient: int = 10,
    seed: int = 1,
    shared_fraction: float = 0.5,
    feed_filter: bool = False,
    clinical: bool = True,
) -> list[Hospital]:
    """Build ``n`` deterministic hospitals; some patients are registered at several of them.

    Args:
        n: number of hospitals ("central", "north", ...).
        patients: patients per hospital.
        obs_per_patient: obs rows per patient (group members count), before later edits.
        seed: everything (uuids, names, values, times) follows from it.
        shared_fraction: share of each hospital's patients who are also registered at every
            other hospital, with their own uuid there and slightly different demographics.
        feed_filter: add the atomfeed location FeedFilter category to patient/encounter/obs.
        clinical: give patients allergies, conditions, diagnoses, drug and test orders,
            dispenses and lab reports, with later edits, revisions, discontinues and voids.

    Returns:
        The hospitals, ready for ``serve_hospitals``.
    """
    shared_rng = random.Random(f"{seed}:shared")
    n_shared = round(patients * shared_fraction) if n > 1 else 0
    shared = []
    issued: set[str] = set()
    for _ in range(n_shared):
        person = _person(shared_rng, shared_rng.choice(_REGIONS[: max(1, min(n, len(_REGIONS)))]))
        person["national_id"] = _national_id(shared_rng, issued)
        shared.append(person)
    hospitals = []
    for i in range(n):
        hid = _HOSPITALS[i] if i < len(_HOSPITALS) else f"hospital{i + 1}"
        h = Hospital(hid, f"{hid.capitalize()} Hospital", seed=seed, feed_filter=feed_filter)
        rng = random.Random(f"{seed}:{i}:generate")
        h._person_factory = functools.partial(_person, region=_REGIONS[i % len(_REGIONS)])
        h._clock = HISTORY_START
        _setup(h, rng, i)
        ops: list[tuple[Any, ...]] = []
        for k in range(patients):
            if k < n_shared:
                demo = dict(shared[k]) if i == 0 else _variant(rng, shared[k])
            else:
                demo = _person(rng, _REGIONS[i % len(_REGIONS)])
                demo["national_id"] = _national_id(rng, issued)
            when = rng.randint(HISTORY_START + DAY, HISTORY_END - 60 * DAY)
            p = make_patient(h, rng, when, demo)
            ops.append((when, "insert", p))
            _plan_patient(h, rng, p, obs_per_patient, ops, clinical)
            if rng.random() < 0.05:
                change = {"address1": f"{rng.randint(1, 200)} {rng.choice(_STREETS)} Road"}
                ops.append((when + rng.randint(DAY, 30 * DAY), "update", p, change))
        _replay(h, ops)
        hospitals.append(h)
    return hospitals
