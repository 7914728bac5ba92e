"""mongomock, for the tests: two gaps closed for ``mongomock://`` URLs only."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

# -- mongomock, for the tests --------------------------------------------------------------
# Two gaps of mongomock 4.3 are closed for ``mongomock://`` URLs only, so that the store code
# above stays exactly what a real server runs: pymongo >= 4.9 hands ``sort=`` to the bulk
# builder, which mongomock does not take; and mongomock's single-document writes are a find
# then a modify, not atomic as on a server, so concurrent workers could both win one lease.
# Serialising its writes on one lock gives the per-document atomicity a server guarantees.
_MOCK_LOCK = threading.RLock()
_MOCK_CLIENT: list[Any] = []
_MOCK_WRITES = (
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_delete",
    "bulk_write",
    "create_index",
)


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _MOCK_LOCK:
            return method(*args, **kwargs)

    return locked


def _patch_mongomock() -> None:
    import mongomock.collection as mc

    builder = mc.BulkOperationBuilder
    if getattr(builder, "_sync2_patched", False):
        return
    add_update, add_replace = builder.add_update, builder.add_replace

    def add_update_sortless(
        self: Any,
        selector: Any,
        doc: Any,
        multi: bool = False,
        upsert: bool = False,
        collation: Any = None,
        array_filters: Any = None,
        hint: Any = None,
        sort: Any = None,
    ) -> Any:
        if sort is not None:
            msg = "mongomock: sorted bulk updates are not emulated"
            raise NotImplementedError(msg)
        return add_update(self, selector, doc, multi, upsert, collation, array_filters, hint)

    def add_replace_sortless(
        self: Any,
        selector: Any,
        doc: Any,
        upsert: bool,
        collation: Any = None,
        hint: Any = None,
        sort: Any = None,
    ) -> Any:
        if sort is not None:
            msg = "mongomock: sorted bulk replaces are not emulated"
            raise NotImplementedError(msg)
        return add_replace(self, selector, doc, upsert, collation, hint)

    builder.add_update = add_update_sortless
    builder.add_replace = add_replace_sortless
    for name in _MOCK_WRITES:
        setattr(mc.Collection, name, _serialised(getattr(mc.Collection, name)))
    builder._sync2_patched = True


def _mongomock_client() -> Any:
    """One in-memory server per process, so several stores on one URL share the data."""
    import mongomock

    with _MOCK_LOCK:
        if not _MOCK_CLIENT:
            _patch_mongomock()
            _MOCK_CLIENT.append(mongomock.MongoClient())
        return _MOCK_CLIENT[0]
