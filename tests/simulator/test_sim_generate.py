"""generate_hospitals and Hospital mutations, without HTTP."""

from __future__ import annotations

from collections import Counter

import pytest

from sync2.simulator import generate_hospitals
from sync2.simulator._hospital import normalise_national_id


def _uuids(seed: int) -> list[str]:
    return [
        o.uuid
        for h in generate_hospitals(n=2, patients=5, obs_per_patient=5, seed=seed)
        for o in h.observations.rows
    ]


def test_deterministic_for_a_seed() -> None:
    assert _uuids(1) == _uuids(1)
    assert _uuids(1) != _uuids(2)


def test_shared_patients_across_hospitals() -> None:
    hospitals = generate_hospitals(n=3, patients=10, obs_per_patient=2, seed=4, shared_fraction=0.5)
    nids = [{normalise_national_id(p.national_id) for p in h.patients.rows} for h in hospitals]
    shared = nids[0] & nids[1] & nids[2]
    assert len(shared) == 5
    nid = next(iter(shared))
    found = [h.patient_by_national_id(f"NID-{nid[:4]}-{nid[4:]}") for h in hospitals]
    assert all(found)
    assert len({p["id"] for p in found}) == 3  # each hospital its own uuid
    assert {h.id for h in hospitals} == {"central", "north", "south"}
    assert hospitals[0].name == "Central Hospital"


def test_history_has_edits_and_voids() -> None:
    h = generate_hospitals(n=1, patients=40, obs_per_patient=20, seed=2)[0]
    statuses = {o.status for o in h.observations.rows}
    assert "amended" in statuses
    voided = h.voided_observation_uuids()
    assert voided
    valid = {o["id"] for o in h.valid_observations()}
    assert not valid & voided
    assert len(valid) + len(voided) == len(h.observations)


def test_mutations() -> None:
    h = generate_hospitals(n=1, patients=3, obs_per_patient=3, seed=9)[0]
    p = h.patients.rows[0].uuid
    o = h.add_observation(p, "diagnosis", "Malaria")
    obs = {x["id"]: x for x in h.valid_observations()}
    assert obs[o]["valueCodeableConcept"]["text"] == "Malaria"
    new = h.amend_observation(o, "Hypertension")
    obs = {x["id"]: x for x in h.valid_observations()}
    assert o not in obs and obs[new]["status"] == "amended"
    assert o in h.voided_observation_uuids()
    group = h.add_observation(p, "blood_pressure", (150, 95))
    members = {x["id"]: x for x in h.valid_observations()}[group]["hasMember"]
    assert len(members) == 2
    h.update_patient(p, family="Otieno", city="Kisumu")
    patient = next(x for x in h.valid_resources("Patient") if x["id"] == p)
    assert patient["name"][0]["family"] == "Otieno"
    assert patient["address"][0]["city"] == "Kisumu"
    new_p = h.add_patient(national_id="NID-1111-2222", given="Zed")
    assert h.patient_by_national_id("nid 1111 2222")["id"] == new_p
    assert len(h.add_random_observations(7)) == 7
    with pytest.raises(ValueError, match="unknown obs kind"):
        h.add_observation(p, "nonsense")


def test_a_large_hospital_has_what_was_asked_for() -> None:
    """Sizes from the arguments (the time it takes is a bench figure, not a test)."""
    h = generate_hospitals(n=1, patients=500, obs_per_patient=20, seed=1)[0]
    assert len(h.patients) == 500
    per_patient = Counter(o.patient.uuid for o in h.observations)
    assert set(per_patient) == {p.uuid for p in h.patients}
    assert min(per_patient.values()) >= 20  # edits add rows, none go away
