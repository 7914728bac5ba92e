"""The MongoDB passport's plumbing: collections, errors named at the edge, bulk upserts, ids."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from ..._errors import StoreError
from ._docs import _BULK_SIZE, _DUPLICATE_KEY


class MongoBase:
    """The database every MongoDB mixin reads and writes through."""

    db: Database[dict[str, Any]]
    _label: str

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Translate pymongo errors at the edge; the message names the database, not data."""
        try:
            yield
        except PyMongoError as exc:
            msg = f"MongoDB passport {what} failed ({self._label}): {exc}"
            raise StoreError(msg) from exc

    def _col(self, name: str) -> Collection[dict[str, Any]]:
        return self.db[name]

    def _bulk(self, collection: str, ops: list[UpdateOne]) -> tuple[int, list[int]]:
        """Unordered bulk upserts: (documents written, indexes of ops that lost on the key)."""
        written = 0
        lost: list[int] = []
        for start in range(0, len(ops), _BULK_SIZE):
            chunk = ops[start : start + _BULK_SIZE]
            try:
                res = self._col(collection).bulk_write(chunk, ordered=False)
                written += res.upserted_count + res.modified_count
            except BulkWriteError as exc:
                details = exc.details
                errors = details.get("writeErrors", [])
                others = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
                if others:
                    msg = (
                        f"MongoDB passport write to {collection} failed ({self._label}): "
                        f"{others[0].get('errmsg', 'unknown error')}"
                    )
                    raise StoreError(msg) from exc
                written += int(details.get("nUpserted", 0)) + int(details.get("nModified", 0))
                lost.extend(start + int(e["index"]) for e in errors)
        return written, lost

    def _next_ids(self, name: str, count: int) -> list[int]:
        """``count`` integer ids from a counter document, as SQLite's AUTOINCREMENT gives."""
        doc = self._col("counters").find_one_and_update(
            {"_id": name},
            {"$inc": {"n": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        end = int(doc["n"]) if doc else count
        return list(range(end - count + 1, end + 1))
