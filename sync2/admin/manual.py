"""Actions outside the feed: one record now, one patient from every hospital, and retries of
the failed-events queue.

The pipeline owns one and hands it what it needs as callables (reach a hospital, apply
resources, apply one entity's change): these actions go through the same map / match / check /
store path as a sync without importing the pipeline back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from mappers import normalise_national_id

from .._errors import SourceUnavailable, Sync2Error
from ..config import Config
from ..engine.patient_links import patients_with_national_id
from ..engine.ports import ApplyEntity, ApplyResources, SourceFor
from ..engine.summary import SyncSummary
from ..sources import Source, SourceBatch
from ..store import AuditEntry, FailedEvent, PassportStore
from ..store._base import (
    FAILED_BLOCKED,
    FAILED_DEAD,
    FAILED_DONE,
    FAILED_OPEN_STATES,
    FAILED_RETRYING,
)

#: A record's id at its source as a manual sync accepts it: a uuid or a uuid-like id (letters,
#: digits and dashes, at most 38). The admin API's request model and the CLI both check it here,
#: so an id that could not be a record never reaches a hospital's URL.
RECORD_UUID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,37}$"
_RECORD_UUID = re.compile(RECORD_UUID_PATTERN)


class InvalidRecordId(ValueError):
    """A manual sync named a record id that is not uuid-like."""


def check_record_uuid(uuid: str) -> str:
    """``uuid`` when it is uuid-like.

    Raises:
        InvalidRecordId: naming the id and the rule.
    """
    if not _RECORD_UUID.fullmatch(uuid):
        msg = f"uuid {uuid!r} is not a uuid-like id (letters, digits and dashes, at most 38)"
        raise InvalidRecordId(msg)
    return uuid


class ManualActions:
    """sync-record, sync-patient and retry-failed, as the CLI and the admin API call them."""

    def __init__(
        self,
        config: Config,
        store: PassportStore,
        clock: Callable[[], float],
        *,
        source_for: SourceFor,
        apply: ApplyResources,
        apply_entity: ApplyEntity,
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._source_for = source_for
        self._apply = apply
        self._apply_entity = apply_entity

    def sync_record(
        self, source_id: str, resource_type: str, uuid: str, *, actor: str = "admin"
    ) -> SyncSummary:
        """Fetch one record from its source and apply it, as a sync would.

        Raises:
            InvalidRecordId: ``uuid`` is not uuid-like (checked before any request).
        """
        check_record_uuid(uuid)
        source = self._source_for(source_id)
        fetched = source.fetch(resource_type, [uuid])
        summary = self._apply(
            source, list(fetched.found.values()), gone=fetched.gone, failures=fetched.failures
        )
        self.store.add_audit(
            AuditEntry(
                kind="manual",
                source=source_id,
                actor=actor,
                message=f"sync-record {resource_type}/{uuid}: {summary.written} written",
            )
        )
        return summary

    def sync_patient(self, national_id: str, *, actor: str = "admin") -> list[SyncSummary]:
        """Pull everything of one patient from every hospital, now."""
        patient_id = normalise_national_id(national_id)
        linked: dict[str, set[str]] = {}
        for link in (self.store.get_patient(patient_id) or {}).get("links") or []:
            linked.setdefault(link["source"], set()).add(link["uuid"])
        # hospitals write one ID differently ("NID 1234" / "nid-1234"): search every spelling
        # the passport has seen for it, not only the one the admin typed
        spellings = {national_id, patient_id, *_separator_variants(national_id)}
        for doc in self.store.get_patient_link_docs(patient_id):
            for ident in doc.get("identifiers") or []:
                value = str(ident.get("value", "")) if isinstance(ident, dict) else ""
                if value and normalise_national_id(value) == patient_id:
                    spellings.add(value)
        summaries = []
        for sc in self.config.sources:
            if not sc.enabled:
                continue
            summary = SyncSummary(source=sc.id)
            try:
                source = self._source_for(sc.id)
                uuids = linked.get(sc.id, set()) | patients_with_national_id(
                    source, patient_id, spellings
                )
                resources: list[dict[str, Any]] = []
                for uuid in sorted(uuids):
                    resources.extend(source.patient_history(uuid))
                if resources:
                    summary = self._apply(source, resources)
            except Sync2Error as exc:
                summary.ok, summary.error = False, str(exc)
            summaries.append(summary)
        self.store.add_audit(
            AuditEntry(
                kind="manual",
                actor=actor,
                message=f"sync-patient: {sum(s.resources for s in summaries)} resources from "
                f"{len(summaries)} hospitals",
            )
        )
        return summaries

    def retry_failed(
        self,
        *,
        source_id: str | None = None,
        ids: Iterable[int] | None = None,
        only_due: bool = True,
        actor: str = "system",
    ) -> dict[str, int]:
        """Try open failed events again, by entity (one fetch settles every change of it)."""
        now = self._clock()
        events = self._events_to_retry(source_id, ids, only_due, now)
        counts = {"done": 0, "retrying": 0, "dead": 0, "waiting": 0}
        by_entity: dict[tuple[str, str | None, str | None], list[FailedEvent]] = {}
        for e in events:
            by_entity.setdefault((e.source, e.resource_type, e.uuid), []).append(e)
        for (src, rtype, uuid), group in by_entity.items():
            ok, error = False, "no resource to fetch (a malformed feed entry)"
            if rtype and uuid:
                try:
                    ok, error = self._retry_entity(self._source_for(src), rtype, uuid)
                except SourceUnavailable:  # the hospital is down: not this event's fault
                    counts["waiting"] += len(group)
                    continue
                except Sync2Error as exc:
                    error = str(exc)
            for e in group:
                counts[self._settle_event(e, ok, error, now)] += 1
        if events:
            self.store.add_audit(
                AuditEntry(
                    kind="retry",
                    source=source_id,
                    actor=actor,
                    message=f"retried {len(events)} failed events: {counts}",
                )
            )
        return counts

    def _events_to_retry(
        self, source_id: str | None, ids: Iterable[int] | None, only_due: bool, now: float
    ) -> list[FailedEvent]:
        """The events named by id, else the open ones (of a source) whose time has come; a
        blocked one is always due: it waits on its entity, not on a clock."""
        if ids is not None:
            return [e for i in ids if (e := self.store.get_failed(i)) is not None]
        events = self.store.list_failed(states=FAILED_OPEN_STATES, source=source_id)
        if not only_due:
            return events
        return [e for e in events if (e.next_attempt_at or 0) <= now or e.state == FAILED_BLOCKED]

    def _settle_event(self, event: FailedEvent, ok: bool, error: str, now: float) -> str:
        """Close, reschedule (exponential back-off) or dead-letter one event; its new state."""
        if ok:  # applied first, closed after: a crash in between only retries again
            event.state = FAILED_DONE
            self.store.update_failed(event)
            return "done"
        event.attempts += 1
        event.error = error
        retry = self.config.retry
        if event.attempts >= retry.max_attempts:
            event.state = FAILED_DEAD
        else:
            event.state = FAILED_RETRYING
            delay = min(retry.max_backoff_seconds, retry.backoff_seconds * 2**event.attempts)
            event.next_attempt_at = now + delay
        self.store.update_failed(event)
        return "dead" if event.state == FAILED_DEAD else "retrying"

    def _retry_entity(self, source: Source, rtype: str, uuid: str) -> tuple[bool, str]:
        """Fetch one entity's current state and apply it; (done, error).

        A change that still fails (fetch or mapping) is not written as a new failed event: the
        existing one counts the attempt, so it is dead-lettered after ``max_attempts``.
        """
        breaker = source.breaker
        if breaker is not None and breaker.state == "open":
            msg = f"source {source.id} is unavailable (circuit breaker open)"
            raise SourceUnavailable(msg, retry_after=breaker.retry_in())
        fetched = source.fetch(rtype, [uuid])
        if fetched.failures:
            return False, fetched.failures[0].error
        sb = SourceBatch(
            stream="retry", cursor={}, resources=list(fetched.found.values()), gone=fetched.gone
        )
        error = self._apply_entity(source, sb, (rtype, uuid))
        return (False, error) if error is not None else (True, "")


def _separator_variants(value: str) -> set[str]:
    """The usual other ways to write one ID, for an exact-match identifier search.

    >>> sorted(_separator_variants("nid-12 34"))
    ['NID 12 34', 'NID-12-34', 'nid 12 34', 'nid-12-34']
    """
    out = set()
    for sep in (" ", "-"):
        spaced = value.replace("-", sep).replace(" ", sep)
        out.update({spaced, spaced.upper()})
    return out
