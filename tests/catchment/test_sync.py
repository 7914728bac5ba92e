"""Catchment against the simulator over real HTTP: tags, out-of-catchment, entering, leaving."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mappers.documents import INVALID_STATUSES
from sync2.simulator import generate_hospitals, serve_hospitals

NAIROBI = "Kenya%Nairobi%*%*%*"
KISUMU = {"state": "Kisumu", "county": "Kisumu East", "city": "Kisumu", "postal_code": "40100"}
NAIROBI_ADDR = {
    "state": "Nairobi",
    "county": "Westlands",
    "city": "Nairobi",
    "postal_code": "00100",
}


@pytest.fixture
def tagged_servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=2, patients=6, obs_per_patient=3, seed=5, feed_filter=True)
    with serve_hospitals(hospitals) as running:
        yield running


def _sync_all(pipeline: Any) -> list[Any]:
    """Every hospital, one after the other (deterministic order of cross-hospital pulls)."""
    return [pipeline.sync_source(sc.id) for sc in pipeline.config.sources]


def _in_patients(hospital: Any) -> set[str]:
    with hospital.lock:
        return {
            p.uuid
            for p in hospital.patients.rows
            if not p.voided and p.address.get("state") == "Nairobi"
        }


def _valid_obs(hospital: Any, patients: set[str]) -> set[str]:
    with hospital.lock:
        return {
            o.uuid
            for o in hospital.observations.rows
            if not o.voided and o.patient.uuid in patients
        }


def _stored_valid(store: Any, source: str, rtype: str = "Observation") -> set[str]:
    return {
        d["uuid"] for d in store.find_records(source, rtype) if d["status"] not in INVALID_STATUSES
    }


def _spy_fetches(pipeline: Any, source_id: str) -> set[str]:
    """Record every uuid the engine asks a hospital for (feed windows and look-ups)."""
    source = pipeline.source(source_id)
    asked: set[str] = set()
    real = source.fhir.fetch

    def fetch(rtype: str, uuids: Any) -> Any:
        uuids = list(uuids)
        asked.update(uuids)
        return real(rtype, uuids)

    source.fhir.fetch = fetch
    return asked


def test_foreign_tags_are_skipped_before_any_fetch(tagged_servers, make_passport):
    _, store, pipeline = make_passport(
        tagged_servers,
        initial_sync="feed",
        catchment={"strategy": "address", "patterns": [NAIROBI]},
    )
    asked = {s.hospital.id: _spy_fetches(pipeline, s.hospital.id) for s in tagged_servers}
    summaries = {s.source: s for s in _sync_all(pipeline)}
    for server in tagged_servers:
        h = server.hospital
        inside = _in_patients(h)
        with h.lock:
            foreign = {p.uuid for p in h.patients.rows} - inside
        foreign_obs = _valid_obs(h, foreign)
        assert foreign, "the data set must have patients of another area"
        assert summaries[h.id].skipped > 0
        assert not (asked[h.id] & (foreign | foreign_obs)), "a foreign-tagged entry was fetched"
        assert _stored_valid(store, h.id) == _valid_obs(h, inside)
        assert store.patient_links(h.id, foreign) == {}


def test_out_of_catchment_records_are_counted_not_stored(make_passport):
    hospitals = generate_hospitals(n=2, patients=6, obs_per_patient=3, seed=5)
    with serve_hospitals(hospitals) as servers:
        _, store, pipeline = make_passport(
            servers, catchment={"strategy": "address", "patterns": [NAIROBI]}
        )
        summaries = {s.source: s for s in _sync_all(pipeline)}
        for server in servers:
            h = server.hospital
            inside = _in_patients(h)
            assert _stored_valid(store, h.id) == _valid_obs(h, inside)
            with h.lock:
                outside = {p.uuid for p in h.patients.rows} - inside
            if outside:
                assert summaries[h.id].out_of_catchment >= len(_valid_obs(h, outside))
        audit = store.list_audit(kind="catchment", limit=1000)
        assert audit, "out-of-catchment batches leave an audit entry"
        assert all("NID" not in a.message for a in audit)
        assert any(a.details.get("reasons", {}).get("address: outside") for a in audit)


def _shared_outsider(servers: list[Any]) -> tuple[str, dict[str, str]]:
    """A national ID registered at both hospitals, living outside Nairobi at both."""
    by_nid: dict[str, dict[str, str]] = {}
    for s in servers:
        with s.hospital.lock:
            for p in s.hospital.patients.rows:
                if p.national_id and p.address.get("state") != "Nairobi":
                    digits = "".join(c for c in p.national_id if c.isdigit())
                    by_nid.setdefault(digits, {})[s.hospital.id] = p.uuid
    for digits, uuids in sorted(by_nid.items()):
        if len(uuids) == len(servers):
            return digits, uuids
    pytest.fail("no shared patient outside Nairobi in the generated data")


@pytest.mark.parametrize("on_leave", ["keep", "remove"])
def test_patient_enters_and_leaves(make_passport, on_leave):
    hospitals = generate_hospitals(n=2, patients=8, obs_per_patient=3, seed=7, shared_fraction=0.75)
    with serve_hospitals(hospitals) as servers:
        _, uuids = _shared_outsider(servers)
        first = servers[0].hospital
        uuid = uuids[first.id]
        rule = {"strategy": "address", "patterns": [NAIROBI], "on_leave": on_leave}
        _, store, pipeline = make_passport(servers, catchment=rule)
        _sync_all(pipeline)
        history = _valid_obs(first, {uuid})
        assert history and not (history & _stored_valid(store, first.id))

        first.update_patient(uuid, **NAIROBI_ADDR)  # moves into the area
        summary = pipeline.sync_source(first.id)
        assert summary.entered == 1
        assert history <= _stored_valid(store, first.id), "whole history pulled at once"

        first.update_patient(uuid, **KISUMU)  # and away again
        summary = pipeline.sync_source(first.id)
        assert summary.left == 1
        still = history & _stored_valid(store, first.id)
        assert still == (history if on_leave == "keep" else set())
        assert store.list_audit(kind="catchment", limit=1000)

        first.update_patient(uuid, **NAIROBI_ADDR)  # back: valid again
        summary = pipeline.sync_source(first.id)
        assert summary.entered == 1
        assert history <= _stored_valid(store, first.id)


def test_cohort_edit_pulls_history_from_every_hospital(make_passport):
    hospitals = generate_hospitals(n=2, patients=8, obs_per_patient=3, seed=7, shared_fraction=0.75)
    with serve_hospitals(hospitals) as servers:
        digits, uuids = _shared_outsider(servers)
        base = {"strategy": "address", "patterns": [NAIROBI]}
        _, store, pipeline = make_passport(servers, name="p", catchment=base)
        _sync_all(pipeline)
        for s in servers:
            assert not (
                _valid_obs(s.hospital, {uuids[s.hospital.id]}) & _stored_valid(store, s.hospital.id)
            )
        pipeline.close()
        edited = {
            "strategy": "any",
            "rules": [base, {"strategy": "cohort", "national_ids": [f"NID-{digits}"]}],
        }
        _, store2, pipeline2 = make_passport(servers, name="p", catchment=edited)
        summaries = {s.source: s for s in _sync_all(pipeline2)}
        assert sum(s.entered for s in summaries.values()) >= 1
        for s in servers:
            history = _valid_obs(s.hospital, {uuids[s.hospital.id]})
            assert history <= _stored_valid(store2, s.hospital.id)


def test_registered_patient_is_pulled_once_the_portal_registers_it(make_passport):
    hospitals = generate_hospitals(n=2, patients=6, obs_per_patient=3, seed=7, shared_fraction=0.5)
    with serve_hospitals(hospitals) as servers:
        _, store, pipeline = make_passport(servers, catchment={"strategy": "registered"})
        summaries = _sync_all(pipeline)
        assert all(not _stored_valid(store, s.hospital.id) for s in servers)
        assert sum(s.out_of_catchment for s in summaries) > 0
        h = servers[1].hospital
        with h.lock:
            p = next(p for p in h.patients.rows if p.national_id and not p.voided)
        nid = "".join(c for c in p.national_id if c.isalnum()).upper()
        store.register_patient(nid, {"national_id": nid})
        pipeline.sync_source(h.id)
        assert _valid_obs(h, {p.uuid}) <= _stored_valid(store, h.id)
        others = _stored_valid(store, h.id) - _valid_obs(h, {p.uuid})
        assert not others


def test_a_failed_history_pull_is_retried_and_never_drops_later_records(make_passport):
    from sync2._errors import TransientSourceError

    hospitals = generate_hospitals(n=2, patients=8, obs_per_patient=3, seed=7, shared_fraction=0.75)
    with serve_hospitals(hospitals) as servers:
        _, uuids = _shared_outsider(servers)
        first = servers[0].hospital
        uuid = uuids[first.id]
        rule = {"strategy": "address", "patterns": [NAIROBI], "on_leave": "keep"}
        _, store, pipeline = make_passport(servers, catchment=rule)
        _sync_all(pipeline)
        first.update_patient(uuid, **NAIROBI_ADDR)  # moves into the area
        source = pipeline.source(first.id)
        real = source.patient_history
        pulls = []

        def hiccup(patient_uuid):
            pulls.append(patient_uuid)
            raise TransientSourceError("simulated: the hospital failed during the history pull")
            yield  # pragma: no cover - a generator, like the real one

        source.patient_history = hiccup
        pipeline.sync_source(first.id)
        assert pulls, "the pull was tried"
        source.patient_history = real
        new_obs = first.add_observation(uuid, "weight", 70)
        assert pipeline.sync_source(first.id).ok
        assert new_obs in _stored_valid(store, first.id)
        history = {
            o["id"] for o in first.valid_observations() if o["subject"]["reference"].endswith(uuid)
        }
        assert history <= _stored_valid(store, first.id), "the retried pull brought the history"


def test_leaving_survives_a_failed_write_of_its_batch(make_passport):
    """The catchment state is saved with the batch: a write that fails leaves neither."""
    from sync2._errors import StoreError

    hospitals = generate_hospitals(n=2, patients=8, obs_per_patient=3, seed=7, shared_fraction=0.75)
    with serve_hospitals(hospitals) as servers:
        _, uuids = _shared_outsider(servers)
        first = servers[0].hospital
        uuid = uuids[first.id]
        rule = {"strategy": "address", "patterns": [NAIROBI], "on_leave": "remove"}
        _, store, pipeline = make_passport(servers, catchment=rule)
        _sync_all(pipeline)
        first.update_patient(uuid, **NAIROBI_ADDR)
        pipeline.sync_source(first.id)
        history = _valid_obs(first, {uuid})
        assert history <= _stored_valid(store, first.id)

        first.update_patient(uuid, **KISUMU)  # leaves; the first write of that batch fails
        real_apply = store.apply
        failures = []

        def failing_apply(batch, cursor=None):
            if batch.status_changes and not failures:
                failures.append(batch)
                raise StoreError("simulated: the passport refused the write")
            return real_apply(batch, cursor)

        store.apply = failing_apply
        assert not pipeline.sync_source(first.id).ok
        assert failures
        store.apply = real_apply
        assert pipeline.sync_source(first.id).ok  # the replay decides again and removes
        assert not (history & _stored_valid(store, first.id))


def test_coming_back_does_not_revive_a_record_voided_while_out(make_passport):
    hospitals = generate_hospitals(n=2, patients=8, obs_per_patient=3, seed=7, shared_fraction=0.75)
    with serve_hospitals(hospitals) as servers:
        _, uuids = _shared_outsider(servers)
        first = servers[0].hospital
        uuid = uuids[first.id]
        rule = {"strategy": "address", "patterns": [NAIROBI], "on_leave": "remove"}
        _, store, pipeline = make_passport(servers, catchment=rule)
        _sync_all(pipeline)
        first.update_patient(uuid, **NAIROBI_ADDR)
        pipeline.sync_source(first.id)
        history = sorted(_valid_obs(first, {uuid}))
        first.update_patient(uuid, **KISUMU)  # leaves: its records are removed
        pipeline.sync_source(first.id)
        victim = next(u for u in history if not first.get("Observation", u).members)
        first.void_observation(victim)  # voided while the patient is out
        pipeline.sync_source(first.id)
        first.update_patient(uuid, **NAIROBI_ADDR)  # back
        assert pipeline.sync_source(first.id).ok
        valid = _stored_valid(store, first.id)
        assert victim not in valid
        assert set(history) - {victim} - set(_members_of(first, victim)) <= valid


def _members_of(hospital, uuid):
    rec = hospital.get("Observation", uuid)
    return [m.uuid for m in (rec.members or [])]
