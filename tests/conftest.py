"""Shared test fixtures: a clean environment and the real OpenMRS payloads from ../shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from mappers import RECORD_RESOURCE_TYPES
from sync2.config import Config
from sync2.store import PassportStore

REPO = Path(__file__).resolve().parents[1]
#: Real OpenMRS payloads, read in place (never copied into the repository).
FIXTURES = Path(os.environ.get("SYNC2_FIXTURES", REPO.parent / "shared" / "fixtures" / "openmrs"))


def in_ci() -> bool:
    """True under CI (``CI=true``, as GitHub Actions and most runners set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(reason: str) -> NoReturn:
    """A component a test needs is absent: a skip on a developer's machine, a failure in CI,
    where a skip would hide that the tests of that component never ran."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a missing component fails, it does not skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SYNC2_* or hospital variables leak from the developer's shell into a test."""
    for name in list(os.environ):
        if name.startswith(("SYNC2_", "HOSPITAL_", "OPENMRS_")) and name not in (
            "SYNC2_TEST_MONGODB_URI",
            "SYNC2_FIXTURES",
        ):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def fixtures_dir() -> Path:
    """The shared OpenMRS fixtures folder; skips the test (fails it in CI) when it is absent."""
    if not FIXTURES.is_dir():
        missing(f"OpenMRS fixtures not found at {FIXTURES} (set SYNC2_FIXTURES)")
    return FIXTURES


def simulator_mismatches(
    store: PassportStore, servers: list[Any], types: tuple[str, ...] = ("Observation",)
) -> dict[str, Any]:
    """Where the passport differs from the simulator's own records (the independent truth):
    per ``source/type``, the valid uuids missing from the passport and those it shows as valid
    that the hospital does not (voided, or never there). Empty when they agree. Encounters
    count only when the sources read the visit feed too (fhir2 serves visits as Encounters)."""
    found: dict[str, Any] = {}
    for server in servers:
        hospital = server.hospital
        for rtype in types:
            truth = {r["id"] for r in hospital.valid_resources(rtype)}
            shown = set(store.list_record_uuids(hospital.id, rtype, limit=10_000_000))
            if truth != shown:
                found[f"{hospital.id}/{rtype}"] = {
                    "missing": sorted(truth - shown)[:5],
                    "extra": sorted(shown - truth)[:5],
                }
    return found


def passport_rows(store: PassportStore, config: Config) -> list[tuple[Any, ...]]:
    """Everything that matters about a passport, comparable: records, patients, doctors."""
    rows: list[tuple[Any, ...]] = []
    for sc in config.sources:
        for rtype in RECORD_RESOURCE_TYPES:
            for doc in store.find_records(sc.id, rtype):
                rows.append(
                    (
                        doc["source"],
                        doc["resource_type"],
                        doc["uuid"],
                        doc["status"],
                        doc["content_hash"],
                        doc["patient_id"],
                        doc.get("superseded_by"),
                        doc.get("doctor"),
                        doc.get("facility"),
                    )
                )
    return sorted(rows, key=repr)
