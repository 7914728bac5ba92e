"""The embedded passport: stdlib sqlite3 in WAL mode, no server needed.

``apply`` (written once, in ``PassportStore``) runs in one ``BEGIN IMMEDIATE`` transaction here,
so records and the cursor that covers them are durable together or not at all. The package is
split as the interface is: ``_reads`` (cursors, patients, records, reference tables),
``_queues`` (failed events, parked, conflicts, audit, leases), ``_changes`` (change order) and
``_writer`` (the writers ``apply`` calls).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..._errors import StoreError
from .._base import PassportStore
from .._rules import version_number
from .._types import COUNTED, now_ts
from ._changes import SQLiteChangeReads
from ._conn import _SCHEMA
from ._queues import SQLiteQueues
from ._reads import SQLiteReads
from ._writer import SQLiteWriter

__all__ = ["SQLiteStore", "version_number"]

_WAL_LIMIT = 8 * 2**20


class SQLiteStore(SQLiteReads, SQLiteQueues, SQLiteChangeReads, PassportStore):
    """A passport in one SQLite file; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint that resets the WAL also shrinks it back to this size: without it the
            # file keeps whatever size the longest reader let it grow to (tens of MB a worker).
            self._conn.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT}")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            msg = f"cannot open the SQLite passport at {self.path}: {exc}"
            raise StoreError(msg) from exc
        self._lock = threading.RLock()

    @contextmanager
    def _unit_of_work(self, what: str) -> Iterator[SQLiteWriter]:
        with self._transaction() as conn:
            yield SQLiteWriter(conn, now_ts())

    # -- status ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {t: self._query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in COUNTED}

    def close(self) -> None:
        """Close, first folding the WAL into the passport and emptying it (best effort: another
        connection reading keeps it, and the last one to close removes it anyway)."""
        with self._lock:
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
