"""sync2: pull OpenMRS hospitals into one patient passport."""

from __future__ import annotations

from ._errors import (
    BadFeedError,
    BadRecordError,
    BadResponseError,
    ConfigError,
    SourceAuthError,
    SourceUnavailable,
    StoreError,
    Sync2Error,
    TransientSourceError,
)
from .config import Config, load_config
from .pipeline import Pipeline, SyncSummary
from .store import PassportStore, open_store

__version__ = "0.1.0"

__all__ = [
    "BadFeedError",
    "BadRecordError",
    "BadResponseError",
    "Config",
    "ConfigError",
    "PassportStore",
    "Pipeline",
    "SourceAuthError",
    "SourceUnavailable",
    "StoreError",
    "Sync2Error",
    "SyncSummary",
    "TransientSourceError",
    "__version__",
    "load_config",
    "open_store",
]
