"""Failed events as the engine writes them: stamped with their first retry time.

Every stage that gives up on one change (a mapping error, a look-up that failed, a change
waiting behind an earlier failure of the same record) turns it into one of these; the rest of
the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Config
from ..sources import Failure
from ..store import FailedEvent
from ..store._base import FAILED_BLOCKED

WAITING = "waiting behind an earlier failed change of the same record"


class FailedEvents:
    """Builds failed events; the retry schedule comes from ``config.retry``."""

    def __init__(self, config: Config, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock

    def of(self, source_id: str, stream: str, failure: Failure) -> FailedEvent:
        """The failed event of one change a source or a stage could not read."""
        return FailedEvent(
            source=source_id,
            stream=stream,
            resource_type=failure.resource_type,
            uuid=failure.uuid,
            action=failure.action,
            error=failure.error,
            payload_ref=failure.payload_ref,
            position=failure.position,
            payload=failure.payload,
            next_attempt_at=self._clock() + self._config.retry.backoff_seconds,
        )

    def of_record(
        self, source_id: str, stream: str, key: tuple[str, str], error: str
    ) -> FailedEvent:
        """A failed event for one known record (type, uuid)."""
        failure = Failure(
            error=error, resource_type=key[0], uuid=key[1], payload_ref=f"{key[0]}/{key[1]}"
        )
        return self.of(source_id, stream, failure)

    @staticmethod
    def blocked(source_id: str, stream: str, key: tuple[str, str]) -> FailedEvent:
        """Order per entity: a change of a record with an open failure waits behind it (the
        retry of the earlier one settles both), rather than overtaking it."""
        return FailedEvent(
            source=source_id,
            stream=stream,
            resource_type=key[0],
            uuid=key[1],
            error=WAITING,
            payload_ref=f"{key[0]}/{key[1]}",
            state=FAILED_BLOCKED,
        )
