"""Passports chain: hospitals -> district (``sync2 serve``) -> national (``sync2 sync``).

Three kinds of real process over HTTP: the simulated hospitals, the district's ``sync2 serve``
and the national passport's ``sync2 sync``, whose only source is the district (kind
``openmrs-fhir``, its token as the Basic-auth password, the default feeds and first sync) with an
address catchment. The expected catchment comes from the simulators' own patients.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from catchment._address import address_value, parse_address_pattern, value_matches
from mappers import normalise_national_id
from sync2.store import PassportStore, open_store

from .conftest import NATIONAL_TOKEN, District

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: what must be equal record by record at both hops; ``hospital`` is the first hospital's name
FIELDS = ("uuid", "value", "unit", "status", "hospital", "doctor", "effective", "name")
#: the default feeds, and the district's feeds of the types the passport has learned to hold
FEEDS = ["location", "patient", "visit", "encounter", "observation", "allergyintolerance",
         "condition", "medicationrequest", "diagnosticreport"]  # fmt: skip
TYPES = ("Observation", "Encounter", "AllergyIntolerance", "Condition", "MedicationRequest",
         "DiagnosticReport")  # fmt: skip


def _state_pattern(district: District) -> tuple[str, str]:
    """The catchment: the state (address part 2) of the most-shared person, as a pattern."""
    pid = next(iter(district.extra.values())).patient_id
    patient = district.store.get_patient(pid) or {}
    state = (patient.get("addresses") or [{}])[0].get("state")
    assert state
    return f"*%{state}%*%*%*", state


def _expected_people(district: District, pattern: str) -> tuple[set[str], set[str]]:
    """(persons all of whose hospital addresses match, persons none of whose do), by normalised
    national ID, from the simulators' patients."""
    parsed = parse_address_pattern(pattern)
    verdicts: dict[str, set[bool]] = {}
    for server in district.servers:
        for patient in server.hospital.valid_resources("Patient"):
            nids = [
                i["value"]
                for i in patient.get("identifier", [])
                if i.get("type", {}).get("text") == "National ID"
            ]
            if not nids:
                continue
            address = next(
                (a for a in patient.get("address", []) if a.get("use") == "home"),
                (patient.get("address") or [{}])[0],
            )
            inside = value_matches(parsed, address_value(address))
            verdicts.setdefault(normalise_national_id(nids[0]), set()).add(inside)
    inside = {nid for nid, v in verdicts.items() if v == {True}}
    outside = {nid for nid, v in verdicts.items() if v == {False}}
    return inside, outside


def _write_national(folder: Path, district: District, pattern: str, mode: str) -> Path:
    path = folder / "national.toml"
    path.write_text(
        f'[passport]\nstore = "sqlite:///{folder / "national.db"}"\n\n'
        '[matching]\nidentifier_types = ["National ID"]\n\n'
        f'[catchment]\nstrategy = "address"\npatterns = ["{pattern}"]\n\n'
        '[[sources]]\nid = "district"\nname = "District passport"\n'
        f'base_url = "{district.url}"\n'
        # both ways a passport takes the other's token: Basic auth's password, or a bearer token
        + ('username = "national"\npassword = "${NATIONAL_TOKEN}"\n' if mode == "feed" else "")
        + ('token = "${NATIONAL_TOKEN}"\n' if mode == "poll" else "")
        + f'mode = "{mode}"\n'
        f"feeds = {json.dumps(FEEDS)}\n",
        encoding="utf-8",
    )
    return path


def _national_sync(config: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC2_")}
    env["NATIONAL_TOKEN"] = NATIONAL_TOKEN
    done = subprocess.run(
        [sys.executable, "-m", "sync2.cli", "sync", "--config", str(config), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert NATIONAL_TOKEN not in done.stdout + done.stderr  # never logged
    summaries: list[dict[str, Any]] = json.loads(done.stdout)
    return summaries


def _records(
    store: PassportStore, sources: list[str], patients: set[str], types: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for source in sources:
        for rtype in types:
            for doc in store.find_records(source, rtype):
                if doc.get("patient_id") in patients:
                    found[f"{rtype}/{doc['uuid']}"] = doc
    return found


def _origin(doc: dict[str, Any]) -> str | None:
    for tag in (doc.get("raw") or {}).get("meta", {}).get("tag", []):
        if tag.get("system") == "urn:sync2:hospital":
            return str(tag.get("display"))
    return None


def _compare(
    district: District, national: PassportStore, inside: set[str], types: tuple[str, ...]
) -> dict[str, Any]:
    hospital_ids = [s.id for s in district.config.sources]
    want = _records(district.store, hospital_ids, inside, types)
    got = _records(national, ["district"], inside, types)
    assert set(got) <= set(want)
    # a version edited away before the national first looked is not served (fhir2 answers 410
    # for it too), so a new child never holds it; every other record is there
    assert {want[k]["status"] for k in set(want) - set(got)} <= {"superseded"}
    want = {k: v for k, v in want.items() if k in got}
    for key, doc in want.items():
        assert {f: got[key].get(f) for f in FIELDS} == {f: doc.get(f) for f in FIELDS}, key
        assert _origin(got[key]) == doc["hospital"], key  # the first hospital, kept
        assert (got[key].get("data") or {}).get("hospital") == (doc.get("data") or {}).get(
            "hospital"
        ), key
    names = {s.name for s in district.config.sources}
    assert {doc["hospital"] for doc in want.values()} <= names  # a hospital's, not a passport's
    return want


def _served_as_fhir2_would(district: District, edited: str, voided: str, amended: str) -> None:
    """At the district: the voided obs is served entered-in-error, the edited one is gone (410)
    and left out of searches, its amendment is served."""
    get = functools.partial(httpx.get, headers=district.headers(), timeout=10)
    assert get(f"{district.fhir}/Observation/{voided}").json()["status"] == "entered-in-error"
    assert get(f"{district.fhir}/Observation/{edited}").status_code == 410
    found = get(f"{district.fhir}/Observation", params={"_id": f"{edited},{voided},{amended}"})
    assert {e["resource"]["id"] for e in found.json()["entry"]} == {voided, amended}


@pytest.mark.parametrize("mode", ["feed", "poll"])
def test_national_pulls_exactly_its_catchment_and_follows_edits_and_voids(
    district: District, tmp_path: Path, mode: str
) -> None:
    pattern, state = _state_pattern(district)
    inside, outside = _expected_people(district, pattern)
    assert inside and outside, "the fixture must have people on both sides of the catchment"
    config = _write_national(tmp_path, district, pattern, mode)
    types = TYPES  # feed or poll, every type the district holds

    first = _national_sync(config)
    assert all(s["ok"] for s in first)
    national = open_store(f"sqlite:///{tmp_path / 'national.db'}")
    try:
        held = {p for p in inside | outside if national.get_patient(p) is not None}
        assert held == inside
        want = _compare(district, national, inside, types)
        assert {key.split("/")[0] for key in want} == set(types), "every type reached it"

        # an edit and a void at a hospital, for people in the catchment
        server = next(s for s in district.servers if s.hospital.id == "central")
        in_obs = [
            o
            for o in server.hospital.valid_observations()
            if district.store.get_records("central", "Observation", [o["id"]])
            .get(o["id"], {})
            .get("patient_id")
            in inside
            and "valueQuantity" in o
        ]
        edited, voided = in_obs[0]["id"], in_obs[1]["id"]
        amended = server.hospital.amend_observation(edited, 123.0)
        server.hospital.void_observation(voided)
        district.sync()
        _served_as_fhir2_would(district, edited, voided, amended)
        _national_sync(config)
        assert national.get_records("district", "Observation", [edited])[edited]["status"] == (
            "superseded"
        )
        assert national.get_records("district", "Observation", [voided])[voided]["status"] == (
            "entered-in-error"
        )
        assert (
            national.get_records("district", "Observation", [amended])[amended]["value"]
            == (district.store.get_records("central", "Observation", [amended])[amended]["value"])
        )
        _compare(district, national, inside, types)

        # nothing new: a re-sync writes nothing at either hop
        assert district.sync() == 0
        again = _national_sync(config)
        assert sum(s["written"] for s in again) == 0
    finally:
        national.close()
    assert state
