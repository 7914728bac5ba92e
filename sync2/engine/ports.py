"""What a stage may ask of the layer that runs it, as callables it is handed.

A stage that must bring in more than its batch (the catchment's history pulls) or reach
another hospital gets these from the pipeline instead of importing it: the flow stays one
way, and a test can hand a stage plain functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..sources import Failure, Gone, Source, SourceBatch
from .summary import SyncSummary

#: the source object of a configured hospital, by id (built once, shared)
SourceFor = Callable[[str], Source]


class ApplyResources(Protocol):
    """Map, match, check and store resources outside the feed (no cursor moves)."""

    def __call__(
        self,
        source: Source,
        resources: list[dict[str, Any]],
        *,
        gone: list[Gone] | None = ...,
        failures: list[Failure] | None = ...,
        stream: str = ...,
    ) -> SyncSummary: ...


#: store one batch unless the change of the entity (type, uuid) fails in it; returns that
#: failure's error, or None once the batch is stored (a retry closes its event only then)
ApplyEntity = Callable[[Source, SourceBatch, tuple[str, str]], "str | None"]
