"""Where changes come from: the interface every source honours, and its parts.

The engine needs only what is exported here; the source kinds themselves
(:mod:`~sync2.sources.openmrs_fhir`, :mod:`~sync2.sources.openmrs_rest`,
:mod:`~sync2.sources.mysql`) are imported by name where one is built, so that a passport
without the MySQL driver still loads.
"""

from __future__ import annotations

from ._base import RESOURCE_TYPES, Failure, FetchResult, Gone, Source, SourceBatch
from .breaker import CircuitBreaker

__all__ = [
    "RESOURCE_TYPES",
    "CircuitBreaker",
    "Failure",
    "FetchResult",
    "Gone",
    "Source",
    "SourceBatch",
]
