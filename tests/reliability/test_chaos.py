"""Chaos: a full sync with faults on, then faults off and a retry of what failed, gives exactly the
passport of a fault-free run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sync2.simulator import FaultConfig, generate_hospitals, serve_hospitals
from tests.conftest import MONGO_STORES, passport_rows, simulator_mismatches

from .conftest import open_failed

CHAOS = {
    "error_500": 0.04,
    "error_503": 0.04,  # with Retry-After
    "error_429": 0.04,  # with Retry-After
    "reset": 0.03,
    "truncated": 0.04,
    "invalid_xml": 0.04,
    "slow": 0.02,
    "delay": 0.02,
}


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=2, patients=40, obs_per_patient=10, seed=11)
    with serve_hospitals(hospitals) as running:
        yield running


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("initial_sync", ["feed", "snapshot"])
def test_sync_through_faults_then_without_equals_a_clean_run(
    servers: list[Any], make_passport: Any, initial_sync: str
) -> None:
    _faults_then_clean(servers, make_passport, initial_sync)


@pytest.mark.stores(*MONGO_STORES)
def test_sync_through_faults_on_mongodb_equals_a_clean_run(
    servers: list[Any], make_passport: Any
) -> None:
    """The feed variant: the faults hit the reading side, and either initial sync gives the
    store the same writes, failed events and replays (docs/mongodb.md, "The store matrix")."""
    _faults_then_clean(servers, make_passport, "feed")


def _faults_then_clean(servers: list[Any], make_passport: Any, initial_sync: str) -> None:
    clean_config, clean_store, clean = make_passport(
        servers, "clean", fast=True, initial_sync=initial_sync
    )
    assert all(s.ok for s in clean.sync_all())
    expected = passport_rows(clean_store, clean_config)

    config, store, chaotic = make_passport(servers, "chaos", fast=True, initial_sync=initial_sync)
    for i, server in enumerate(servers):
        server.stats.clear()
        server.faults = FaultConfig(**CHAOS, seed=100 + i)  # type: ignore[arg-type]
    during = chaotic.sync_all()
    faults = sum(s.stats["faults"] for s in servers)
    kinds = sum((s.stats for s in servers), start=type(servers[0].stats)())
    for server in servers:
        server.faults = None
    after = chaotic.sync_all()
    retried = chaotic.retry_failed(only_due=False)
    got = passport_rows(store, config)

    fired = ", ".join(f"{k[6:]}={v}" for k, v in sorted(kinds.items()) if k.startswith("fault_"))
    print(
        f"\nchaos ({initial_sync}): survived {faults} injected faults "
        f"({fired}); "
        f"failed events during the faulty run: {sum(s.failed for s in during)}, "
        f"runs that stopped: {sum(not s.ok for s in during)}; retried {retried}; "
        f"records compared: {len(got)} vs {len(expected)} in the clean run"
    )
    assert faults >= 8, "the faults must actually fire"
    assert all(s.ok for s in after), [s.error for s in after]
    assert open_failed(store) == []
    assert simulator_mismatches(store, servers, ("Observation", "Encounter")) == {}
    assert got == expected
    assert len({row[:3] for row in got}) == len(got), "no duplicates"
    assert store.counts()["patients"] == clean_store.counts()["patients"]


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("path", ["/Patient", "/Encounter"])
def test_failed_lookups_become_failed_events_not_parked_or_half_mapped_records(
    servers: list[Any], make_passport: Any, path: str
) -> None:
    """An observation whose patient or encounter cannot be read waits as a failed event: it is
    neither parked as "unmatched" nor stored without its doctor and facility."""
    _failed_lookups(servers, make_passport, path)


@pytest.mark.stores(*MONGO_STORES)
def test_failed_patient_lookups_on_mongodb_become_failed_events(
    servers: list[Any], make_passport: Any
) -> None:
    """The patient variant: hundreds of failed events queued, then retried one by one."""
    _failed_lookups(servers, make_passport, "/Patient")


def _failed_lookups(servers: list[Any], make_passport: Any, path: str) -> None:
    clean_config, clean_store, clean = make_passport(servers, "clean", fast=True)
    assert all(s.ok for s in clean.sync_all())
    config, store, chaotic = make_passport(servers, "chaos", fast=True, initial_sync="feed")
    for i, server in enumerate(servers):
        server.faults = FaultConfig(error_500=0.85, truncated=0.1, paths=(path,), seed=i)
    during = chaotic.sync_all()
    for server in servers:
        server.faults = None
    assert sum(s.failed for s in during) > 0 and sum(s.parked for s in during) == 0
    assert all(s.ok for s in chaotic.sync_all())
    chaotic.retry_failed(only_due=False)
    assert open_failed(store) == []
    assert simulator_mismatches(store, servers, ("Observation", "Encounter")) == {}
    assert passport_rows(store, config) == passport_rows(clean_store, clean_config)
