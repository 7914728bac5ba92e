"""Shared test fixtures: a clean environment, the real OpenMRS payloads from ../shared, and the
passport store matrix.

The store matrix: a test (or a fixture it uses) that asks for ``passport_url`` runs once per
passport backend, with the backend in its id (``test_x[sqlite]``, ``test_x[mongowire]``):

- ``sqlite``: the embedded passport in the test's temporary folder;
- ``mongowire``: MongoDB over the wire protocol, on the ``nx-27017`` server that this session
  starts once on a free 127.0.0.1 port (each test gets its own database, dropped afterwards);
- ``mongodb``: a real server, when ``SYNC2_TEST_MONGODB_URI`` is set.

To adopt it, build the passport from ``passport_url(name)`` instead of a ``sqlite:///`` path.
``@pytest.mark.stores("sqlite")`` keeps a test to the backends it names (a test that reads the
SQLite file itself, say); ``docs/mongodb.md`` says which suites run on which backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
from pymongo import MongoClient

from mappers import RECORD_RESOURCE_TYPES
from sync2.config import Config
from sync2.store import PassportStore
from sync2.testing.mongowire import WireMongoServer

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


MONGODB_URI = os.environ.get("SYNC2_TEST_MONGODB_URI", "")
#: Every passport backend of the matrix, in the order the tests run on them.
STORES: tuple[str, ...] = ("sqlite", "mongowire") + (("mongodb",) if MONGODB_URI else ())
#: The MongoDB backends (over a real connection; mongomock is not one of them).
MONGO_STORES: tuple[str, ...] = tuple(s for s in STORES if s != "sqlite")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses ``store_kind`` once per backend its ``stores`` mark allows."""
    if "store_kind" not in metafunc.fixturenames:
        return
    mark = metafunc.definition.get_closest_marker("stores")
    kinds = [k for k in STORES if mark is None or k in mark.args]
    metafunc.parametrize("store_kind", kinds, indirect=True)


@pytest.fixture(scope="session")
def wire_server() -> Iterator[WireMongoServer]:
    """One ``nx-27017`` server for the whole session, stopped by its PID at the end."""
    with WireMongoServer() as server:
        yield server


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """The passport backend of this run of the test (set by ``pytest_generate_tests``)."""
    return str(request.param)


def _mongo_base(kind: str, request: pytest.FixtureRequest) -> str:
    if kind == "mongowire":
        server: WireMongoServer = request.getfixturevalue("wire_server")
        return server.url()
    return MONGODB_URI


def with_database(base: str, name: str) -> str:
    """``base`` (a mongodb:// URL) naming database ``name``, its options kept."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@pytest.fixture
def passport_url(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    """``passport_url(name="passport")``: a fresh passport URL on this test's backend.

    The same name gives the same passport within a test (a restart reopens it); MongoDB
    databases are dropped when the test ends.
    """
    if store_kind == "sqlite":
        yield lambda name="passport": f"sqlite:///{tmp_path / name}.db"
        return
    base = _mongo_base(store_kind, request)
    run = uuid.uuid4().hex[:10]
    made: dict[str, str] = {}

    def _url(name: str = "passport") -> str:
        if name not in made:
            made[name] = with_database(base, f"sync2_{run}_{name}"[:60])
        return made[name]

    yield _url
    if made:
        with MongoClient(base, serverSelectionTimeoutMS=5000) as client:
            for url in made.values():
                client.drop_database(urlsplit(url).path.strip("/"))


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
