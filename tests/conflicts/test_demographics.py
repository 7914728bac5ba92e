"""Demographics from three hospitals: each version kept, the shown one by policy, edits kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conflicts import choose_source, edit_patient, merge_patient, reconcile_patient
from sync2.config import ConflictsConfig
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import open_store

VERSIONS = {
    "h1": {"name": "Ann Doe", "birth_date": "1990-01-02", "last_updated": "2024-03-01T00:00:00Z"},
    "h2": {"name": "Anne Doe", "birth_date": "1990-01-02", "last_updated": "2024-05-01T00:00:00Z"},
    "h3": {"name": "Ann Doe", "birth_date": "1990-02-01", "last_updated": "2024-04-01T00:00:00Z"},
}


def three(priorities: dict[str, int], policy: str) -> dict[str, Any]:
    doc: dict[str, Any] | None = None
    for source, version in VERSIONS.items():
        merged = merge_patient(doc, "N1", source, version, priorities, policy=policy)  # type: ignore[arg-type]
        doc = reconcile_patient(doc, merged, priorities=priorities, policy=policy).doc  # type: ignore[arg-type]
    assert doc is not None
    return doc


@pytest.mark.parametrize(
    ("priorities", "policy", "shown"),
    [
        ({"h3": 1, "h1": 2}, "priority", "h3"),
        ({}, "priority", "h2"),  # no priorities: the latest
        ({"h3": 1, "h1": 2}, "latest", "h2"),
    ],
)
def test_three_hospitals_pure(priorities: dict[str, int], policy: str, shown: str) -> None:
    doc = three(priorities, policy)
    assert sorted(doc["sources"]) == ["h1", "h2", "h3"]
    assert doc["demographics_from"] == shown
    assert (doc["name"], doc["birth_date"]) == (
        VERSIONS[shown]["name"],
        VERSIONS[shown]["birth_date"],
    )
    assert choose_source(doc["sources"], priorities, policy) == shown  # type: ignore[arg-type]


def test_an_admin_correction_survives_another_hospital_reporting() -> None:
    doc = three({"h1": 1}, "priority")
    corrected = edit_patient(doc, {"birth_date": "1990-01-20"}, actor="ann", at="2024-06-01")
    update = {**VERSIONS["h1"], "name": "Ann M. Doe", "last_updated": "2024-07-01T00:00:00Z"}
    merged = merge_patient(corrected, "N1", "h1", update, {"h1": 1})
    out = reconcile_patient(corrected, merged, priorities={"h1": 1}, strategy="merge")
    assert out.decision.action == "resolved"
    assert (out.doc["name"], out.doc["birth_date"]) == ("Ann M. Doe", "1990-01-20")
    assert out.doc["edited"]["by"] == "ann"
    echo = reconcile_patient(
        out.doc, merge_patient(out.doc, "N1", "h1", update, {"h1": 1}), priorities={"h1": 1}
    )
    assert echo.decision.action == "keep" and echo.doc == out.doc


#: One person as three hospitals registered them: a spelling and a birth date differ.
SPELLINGS = (
    {"given": "Ann", "family": "Doe", "birthdate": "1990-01-02"},
    {"given": "Anne", "family": "Doe", "birthdate": "1990-01-02"},
    {"given": "Ann", "family": "Dow", "birthdate": "1990-02-01"},
)
PID = "NID77770001"
T0 = 1_717_200_000  # the simulated clocks: hospital i registered the person at T0 + i days


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=3, patients=1, obs_per_patient=1, seed=11, shared_fraction=0)
    for i, (hospital, spelling) in enumerate(zip(hospitals, SPELLINGS, strict=True)):
        hospital._clock = T0 + i * 86_400
        hospital.add_patient(national_id="NID-7777-0001", gender="F", **spelling)
    with serve_hospitals(hospitals) as running:
        yield running


def _passport(servers: list[Any], path: Path, **conflicts: Any) -> tuple[Any, Pipeline]:
    config = config_for_servers(servers, f"sqlite:///{path}")
    config.conflicts = ConflictsConfig(**conflicts)
    config.sources[0].priority = 1  # the first hospital (the earliest registration) is trusted
    store = open_store(config.passport.store)
    return store, Pipeline(config, store)


def _sync(pipeline: Pipeline) -> int:
    """Every hospital, one after another; the number of conflicts found."""
    summaries = [pipeline.sync_source(s.id) for s in pipeline.config.sources]
    assert all(s.ok for s in summaries), [s.error for s in summaries]
    return sum(s.conflicts for s in summaries)


@pytest.mark.parametrize(("policy", "shown"), [("priority", 0), ("latest", 2)])
def test_three_simulated_hospitals(
    servers: list[Any], tmp_path: Path, policy: str, shown: int
) -> None:
    store, pipeline = _passport(servers, tmp_path / "p.db", demographics=policy)
    try:
        assert _sync(pipeline) == 0
        doc = store.get_patient(PID)
        ids = [s.hospital.id for s in servers]
        assert sorted(doc["sources"]) == sorted(ids)  # every hospital's version is kept
        names = {h: v["name"] for h, v in doc["sources"].items()}
        assert len(set(names.values())) == 3
        assert doc["demographics_from"] == ids[shown]
        assert doc["name"] == names[ids[shown]]
        assert doc["birth_date"] == SPELLINGS[shown]["birthdate"]
        assert _sync(pipeline) == 0
        assert store.get_patient(PID) == doc  # a resync changes nothing
    finally:
        pipeline.close()
        store.close()


def test_three_hospitals_with_an_admin_correction(servers: list[Any], tmp_path: Path) -> None:
    store, pipeline = _passport(
        servers, tmp_path / "p.db", per_type={"Patient": "merge"}, merge_fallback="manual"
    )
    try:
        _sync(pipeline)
        doc = store.get_patient(PID)
        best = doc["demographics_from"]
        pipeline.edit_patient(PID, {"birth_date": "1970-07-07"}, actor="ann")
        hospital = next(s.hospital for s in servers if s.hospital.id == best)
        uuid = doc["sources"][best]["uuid"]
        hospital._clock += 86_400
        hospital.update_patient(uuid, given="Zebedee")  # another field: merges
        assert _sync(pipeline) == 0
        after = store.get_patient(PID)
        assert after["birth_date"] == "1970-07-07" and "Zebedee" in after["given"]
        hospital._clock += 86_400
        hospital.update_patient(uuid, birthdate="1980-08-08")  # the same field: manual
        assert _sync(pipeline) == 1
        (conflict,) = store.list_conflicts()
        assert (conflict.resource_type, conflict.uuid) == ("Patient", PID)
        assert conflict.incoming["birth_date"] == "1980-08-08"
        assert conflict.passport["birth_date"] == "1970-07-07"
        assert store.get_patient(PID)["birth_date"] == "1970-07-07"
        pipeline.resolve_conflict(conflict.id, take="source", actor="bob")
        assert store.get_patient(PID)["birth_date"] == "1980-08-08"
        assert _sync(pipeline) == 0
    finally:
        pipeline.close()
        store.close()
