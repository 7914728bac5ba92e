"""The passport on MongoDB (pymongo): production, replica sets, several workers sharing sources.

MongoDB gives no multi-collection transaction here, so ``apply`` follows the rule for stores
without one: every write is an idempotent upsert, written first, and the cursor goes last. A
crash in between replays the batch, which changes nothing (``tests/store/test_contract.py``).

The version guard lives in the upsert filter. A record is upserted with the filter
``{source, resource_type, uuid, <content or status or patient differs>, <stored version <=
incoming, or none>}``. When the stored copy is newer or identical the filter matches nothing,
the server tries to insert, and the unique index on (source, resource_type, uuid) refuses with
a duplicate-key error: that error is the answer "stale or unchanged", not a failure. Writes go
in unordered ``bulk_write`` batches, so one losing upsert never stops the others.

Collections carry the Patient Passport portal's names and shape: ``patients`` are keyed by
``nationalId``, ``medicalrecords`` keep ``patientId``, ``type``, ``data``, ``createdBy``,
``hospital`` and ``status`` at top level, and updates ``$set`` our fields only, so what the
portal wrote stays. ``mongomock://<db>`` opens an in-memory server for the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from ..._errors import StoreError
from .._base import PassportStore
from .._rules import version_number
from .._types import COUNTED
from ._changes import MongoChangeReads
from ._docs import _INDEX_CLASH, _INDEXES, _OURS, DEFAULT_DB, _redact, _utcnow
from ._mock import _mongomock_client
from ._queues import MongoQueues
from ._reads import MongoReads
from ._writer import MongoWriter

__all__ = ["DEFAULT_DB", "MongoStore", "_redact", "version_number"]


class MongoStore(MongoReads, MongoQueues, MongoChangeReads, PassportStore):
    """A passport in one MongoDB database; thread-safe (pymongo pools its connections)."""

    def __init__(
        self, database: Database[dict[str, Any]], *, client: Any = None, label: str = ""
    ) -> None:
        self.db = database
        self._client = client
        self._label = label or f"database {database.name!r}"
        self.ensure_indexes()

    @classmethod
    def from_url(cls, url: str) -> MongoStore:
        """``mongodb://host/db`` or ``mongodb+srv://...`` through pymongo; ``mongomock://db``.

        The database is the URL's path (``passport`` when the URL names none). pymongo
        connects lazily; the index creation at start is the first round trip.
        """
        if url.startswith("mongomock://"):
            name = url.removeprefix("mongomock://").strip("/") or DEFAULT_DB
            return cls(_mongomock_client()[name], label=f"mongomock database {name!r}")
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(url, tz_aware=True)
            database = client.get_default_database(default=DEFAULT_DB)
        except (PyMongoError, ValueError) as exc:
            msg = f"cannot open the MongoDB passport at {_redact(url)}: {exc}"
            raise StoreError(msg) from exc
        try:
            return cls(database, client=client, label=f"{_redact(url)} db {database.name!r}")
        except StoreError:
            client.close()
            raise

    def ensure_indexes(self) -> None:
        """Create what the queries need; an index the portal already has is kept as it is."""
        with self._errors("index creation"):
            for collection, keys, options in _INDEXES:
                try:
                    self._col(collection).create_index(keys, **options)
                except OperationFailure as exc:
                    if exc.code not in _INDEX_CLASH:
                        raise

    @contextmanager
    def _unit_of_work(self, what: str) -> Iterator[MongoWriter]:
        with self._errors(what):
            yield MongoWriter(self, _utcnow())

    # -- status ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._errors("count"):
            return {c: self._col(c).count_documents(_OURS.get(c, {})) for c in COUNTED}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
