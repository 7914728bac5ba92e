"""One error tree for the whole engine.

The branch says what the engine does next, so callers catch by intent, not by library::

    Sync2Error
    ├── ConfigError              stop: the configuration (or a source's setup) is wrong
    ├── TransientSourceError     retry later (tenacity, then the failed-events queue)
    │   └── SourceUnavailable    the circuit breaker is open for this source
    ├── SourceAuthError          stop this source: 401/403, credentials are wrong
    ├── BadRecordError           park this one record in the failed-events queue, carry on
    │   ├── BadFeedError         a feed page or entry cannot be understood
    │   └── BadResponseError     a response that is not what FHIR promised (not JSON, too big)
    └── StoreError               the passport store failed; the batch and its cursor roll back

Messages name the URL or record id, never patient data.
"""

from __future__ import annotations


class Sync2Error(Exception):
    """Root of every error sync2 raises on purpose.

    ``status_code`` is the HTTP status behind the error, when there was one.
    """

    def __init__(self, message: str = "", *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ConfigError(Sync2Error):
    """The configuration is invalid; nothing sensible can run until a human fixes it."""


class TransientSourceError(Sync2Error):
    """A source failed in a way that may pass (5xx, 429, timeout, connection reset)."""

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class SourceUnavailable(TransientSourceError):
    """The source's circuit breaker is open: calls are refused without touching the network."""


class SourceAuthError(Sync2Error):
    """The source refused our credentials (401) or our rights (403)."""


class BadRecordError(Sync2Error):
    """One record cannot be used; it goes to the failed-events queue and the rest goes on."""


class BadFeedError(BadRecordError):
    """A feed page or entry is malformed."""


class BadResponseError(BadRecordError):
    """A response body is not what was asked for (not JSON, wrong type, oversized)."""


class OutOfOrderServer(Sync2Error):
    """A server that ignores ``_sort=_lastUpdated``: a watermark over its pages would skip
    records, so the source stops and names the setting that avoids searching by time."""


class TypeNotServed(BadResponseError):
    """The server answers a search of a resource type with 404: it has no such type (fhir2 on
    OpenMRS before 2.6 serves no MedicationDispense). Not an error of any one record."""


class StoreError(Sync2Error):
    """The passport store could not complete an operation."""
