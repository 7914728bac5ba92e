"""What the engine needs from a source of changes, whatever it is made of.

A source turns "where did I get to" (its cursors, one per stream) into batches of changed FHIR R4
resources, each batch carrying the cursor that is safe to commit once the batch is stored. It also
answers point look-ups (resources by id, a patient's whole history) that the engine needs to
enrich records, match patients and run manual syncs. The atom-feed + FHIR source and the MySQL
1.x source both honour this one interface, so everything after the source is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mappers.documents import RECORD_RESOURCE_TYPES

if TYPE_CHECKING:
    from ..config import SourceConfig
    from .breaker import CircuitBreaker

#: FHIR resource types sync2 pulls, in dependency order.
RESOURCE_TYPES = ("Location", "Practitioner", "Patient", *RECORD_RESOURCE_TYPES)


@dataclass(slots=True)
class Gone:
    """A resource that no longer exists as valid at the source (voided: 410; deleted: 404)."""

    resource_type: str
    uuid: str
    reason: str  # "voided" | "deleted" | "retired"
    replaced_by: str | None = None  # an edit's new uuid, when the source knows it (MySQL)


@dataclass(slots=True)
class Failure:
    """One change that could not be read; becomes a failed event, the rest goes on."""

    error: str
    resource_type: str | None = None
    uuid: str | None = None
    action: str | None = None
    payload_ref: str | None = None
    position: dict[str, Any] = field(default_factory=dict)
    payload: str | None = None


@dataclass(slots=True)
class SourceBatch:
    """Changed resources plus the cursor to commit with them.

    ``resources`` are FHIR R4 resources as JSON dicts (possibly not strictly valid: the mappers
    take the tolerant path). ``cursor`` is the new value for ``stream`` once this batch is durable.
    """

    stream: str
    cursor: dict[str, Any]
    resources: list[dict[str, Any]] = field(default_factory=list)
    gone: list[Gone] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: int = 0  # entries skipped before any fetch (foreign catchment tag), counted
    notes: list[str] = field(default_factory=list)  # audit-worthy events (lost marker, ...)
    #: Canonical content hashes the source computed already (to tell versions apart), so the
    #: engine does not hash the same resource twice: ``id(resource) -> (resource, hash)``; the
    #: resource is held so that its id cannot be reused. Whoever edits a resource of the batch
    #: must :meth:`forget_hash` it.
    hashes: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict)

    def remember_hash(self, resource: dict[str, Any], content_hash: str) -> None:
        """Keep ``content_hash`` as the canonical hash of ``resource`` as it is now."""
        self.hashes[id(resource)] = (resource, content_hash)

    def known_hash(self, resource: dict[str, Any]) -> str | None:
        """The hash remembered for this very object (not an equal copy), or ``None``.

        >>> sb = SourceBatch(stream="s", cursor={})
        >>> r = {"id": "1"}
        >>> sb.remember_hash(r, "h1")
        >>> sb.known_hash(r), sb.known_hash({"id": "1"})
        ('h1', None)
        >>> sb.forget_hash(r)
        >>> sb.known_hash(r) is None
        True
        """
        entry = self.hashes.get(id(resource))
        return entry[1] if entry is not None and entry[0] is resource else None

    def forget_hash(self, resource: dict[str, Any]) -> None:
        """``resource`` was edited: its remembered hash no longer holds."""
        self.hashes.pop(id(resource), None)


@dataclass(slots=True)
class FetchResult:
    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: list[Gone] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class Source(ABC):
    """One hospital."""

    id: str
    name: str
    #: the hospital's configuration; None for a source built in code (tests, embedders)
    config: SourceConfig | None = None
    #: the circuit breaker guarding the hospital's server, when it has one; its state says
    #: whether a call now would be refused without touching the network
    breaker: CircuitBreaker | None = None
    #: True when ``batches`` may run in one thread while ``fetch`` runs in another (the engine
    #: then prefetches the next batch while it stores the current one).
    concurrent_reads: bool = False

    @property
    def base_url(self) -> str | None:
        """The hospital's web root, as the passport lists it; None for a database source."""
        return self.config.base_url if self.config is not None else None

    @abstractmethod
    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        """Yield batches of changes after ``cursors`` (stream -> cursor), oldest first.

        The engine stores each batch with its cursor before it asks for the next one, so a crash
        replays at most the batch in flight.
        """

    @abstractmethod
    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        """Current state of the given resources (batched: never one request per id)."""

    @abstractmethod
    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        """Every current resource of one patient: the Patient, its Encounters and Observations."""

    @abstractmethod
    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        """Patients carrying an identifier value (for sync-patient by national ID)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
