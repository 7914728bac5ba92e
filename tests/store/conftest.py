"""The store contract on every backend of the matrix (``tests/conftest.py``: ``sqlite``,
``mongowire``, and ``mongodb`` when ``SYNC2_TEST_MONGODB_URI`` is set).

``store`` is a fresh, empty passport on the test's backend; ``store_url`` its URL, for tests
that open several connections (workers). A test marked ``@pytest.mark.stores(*MONGO_STORES)``
runs on the MongoDB backends only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sync2.store import PassportStore, open_store
from sync2.store.sqlite import SQLiteStore
from tests.conftest import MONGO_STORES

__all__ = ["MONGO_STORES", "store", "store_url", "transactional"]


@pytest.fixture
def store_url(passport_url: Callable[..., str]) -> str:
    """A fresh passport URL on this test's backend (dropped at the end on MongoDB)."""
    return passport_url()


@pytest.fixture
def store(store_url: str) -> Iterator[PassportStore]:
    """A fresh, empty passport on this test's backend."""
    opened = open_store(store_url)
    yield opened
    opened.close()


def transactional(store: PassportStore) -> bool:
    """SQLite commits batch and cursor together; MongoDB writes records first, cursor last."""
    return isinstance(store, SQLiteStore)
