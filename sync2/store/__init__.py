"""Passport stores behind one interface; ``open_store(url)`` picks the backend by scheme."""

from __future__ import annotations

from .._errors import ConfigError
from ._base import (
    ApplyResult,
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    PassportStore,
    StatusChange,
    WriteBatch,
)

__all__ = [
    "ApplyResult",
    "AuditEntry",
    "Conflict",
    "Cursor",
    "FailedEvent",
    "ParkedRecord",
    "PassportStore",
    "StatusChange",
    "WriteBatch",
    "open_store",
]


def open_store(url: str) -> PassportStore:
    """Open the passport named by ``url``: ``sqlite:///path.db`` or ``mongodb://...``."""
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        path = url.removeprefix("sqlite://")
        path = path[1:] if path.startswith("/") and not path.startswith("//") else path
        return SQLiteStore(path or ":memory:")
    if url.startswith(("mongodb://", "mongodb+srv://", "mongomock://")):
        try:
            from .mongodb import MongoStore
        except ImportError as exc:  # pragma: no cover - the module ships with the package
            msg = f"the MongoDB store is not available: {exc}"
            raise ConfigError(msg) from exc
        return MongoStore.from_url(url)
    msg = f"passport.store: unknown store URL scheme in {url.split('://')[0]!r}; use sqlite:/// or mongodb://"
    raise ConfigError(msg)
