"""The store backend matrix: every contract test runs once per backend, with readable ids.

``sqlite`` and ``mongomock`` always run; ``mongodb`` runs against a real server when
``SYNC2_TEST_MONGODB_URI`` is set (each test gets a fresh database, dropped afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sync2.store import PassportStore, open_store
from sync2.store.mongodb import MongoStore
from sync2.store.sqlite import SQLiteStore

MONGODB_URI = os.environ.get("SYNC2_TEST_MONGODB_URI", "")


def backends() -> list[str]:
    """The active backends, as dlt's ACTIVE_DESTINATIONS switch."""
    return ["sqlite", "mongomock"] + (["mongodb"] if MONGODB_URI else [])


def mongo_backends() -> list[str]:
    return ["mongomock"] + (["mongodb"] if MONGODB_URI else [])


def fresh_url(backend: str, tmp_path: Path) -> str:
    """A store URL on a database no other test uses."""
    name = f"sync2_test_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'passport.db'}"
    if backend == "mongomock":
        return f"mongomock://{name}"
    parts = urlsplit(MONGODB_URI)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def drop(store: PassportStore) -> None:
    if isinstance(store, MongoStore):
        store.db.client.drop_database(store.db.name)
    store.close()


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh URL for the backend named by the parameter (``indirect=True``)."""
    return fresh_url(request.param, tmp_path)


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PassportStore]:
    """A fresh, empty passport on the backend named by the parameter (``indirect=True``)."""
    opened = open_store(fresh_url(request.param, tmp_path))
    yield opened
    drop(opened)


def transactional(store: PassportStore) -> bool:
    """SQLite commits batch and cursor together; MongoDB writes records first, cursor last."""
    return isinstance(store, SQLiteStore)
