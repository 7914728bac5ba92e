"""An OpenMRS 2.x hospital with the atomfeed and fhir2 modules.

Changes come from the atom feed, one stream per category (``feed:patient``, ...). Entries are read
a window at a time (up to ``window`` events across pages), their resources fetched with batched
``_id`` searches, and each window is handed to the engine with the marker of its last entry.

A first sync can skip walking years of 5-entry pages: note the feed head first, take a snapshot
through FHIR search (100 a page), then follow the feed from that head. Anything written during the
snapshot is after the head, so the feed brings it again (idempotently): nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from conflicts.hashing import canonical_hash
from mappers.documents import RECORD_RESOURCE_TYPES

from .._errors import (
    BadFeedError,
    OutOfOrderServer,
    SourceUnavailable,
    TransientSourceError,
    TypeNotServed,
)
from ..config import HttpConfig, SourceConfig
from ._base import Failure, FetchResult, Source, SourceBatch
from ._window import close_window
from .atomfeed import (
    CATEGORY_TYPES,
    REMOVING_ACTIONS,
    ChangeEvent,
    FeedFilterTag,
    FeedPage,
    FeedWalker,
    Marker,
    parse_page,
    read_entry,
)
from .breaker import CircuitBreaker
from .fhir_client import FhirClient
from .http import HttpTransport, rebase

log = logging.getLogger(__name__)

_PAGE = 100  # fhir2's maximum page size
_ENCOUNTER_TAG_SYSTEM = "http://fhir.openmrs.org/ext/encounter-tag"
_ENCOUNTER_TAGS = {"visit": "visit", "encounter": "encounter"}

#: Decides, from an entry's catchment tags alone, whether to fetch it at all.
TagFilter = Callable[[list[FeedFilterTag]], bool]


class OpenMRSFhirSource(Source):
    """Atom feed + FHIR R4 source."""

    concurrent_reads = True  # httpx.Client is thread-safe

    def __init__(
        self,
        config: SourceConfig,
        http: HttpConfig | None = None,
        *,
        transport: HttpTransport | None = None,
        window: int = 100,
        tag_filter: TagFilter | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.config = config
        self.id = config.id
        self.name = config.name
        assert config.base_url is not None  # validated by SourceConfig
        http = http or HttpConfig()  # type: ignore[call-arg]
        self.transport = transport or HttpTransport(
            config.base_url,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            token=config.token.get_secret_value() if config.token else None,
            config=http,
            breaker=breaker or CircuitBreaker(config.id),
        )
        self.breaker = self.transport.breaker  # one per source, shared by every call
        self.fhir = FhirClient(self.transport, id_batch_size=http.id_batch_size)
        self.window = window
        self.tag_filter = tag_filter

    # -- feed plumbing ---------------------------------------------------------------------
    def _feed_url(self, category: str) -> str:
        return f"{self.transport.base_url}/ws/atomfeed/{category}/recent"

    def _fetch_page(self, url: str) -> FeedPage:
        last: BadFeedError | None = None
        for _ in range(3):  # a page that does not parse may be a truncated transfer: re-read it
            # OpenMRS serves its feed to anyone and ignores credentials; a sync2 passport
            # parent serves it only to a caller with a token, so send them.
            resp = self.transport.get(url, auth=True)
            if resp.status in (404, 410):
                msg = f"feed page {url} is gone (HTTP {resp.status})"
                raise TransientSourceError(msg, status_code=resp.status)
            try:
                return parse_page(resp.body, url)
            except BadFeedError as exc:
                last = exc
        assert last is not None
        raise last

    def walker(self, category: str) -> FeedWalker:
        return FeedWalker(
            self._feed_url(category),
            self._fetch_page,
            rebase=lambda url: rebase(url, self.transport.base_url),
        )

    # -- Source ----------------------------------------------------------------------------
    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        if self.config.mode == "poll":
            yield from self._poll_all(cursors)
            return
        for category in self.config.feeds:
            stream = f"feed:{category}"
            cursor = cursors.get(stream)
            if cursor is None and self.config.initial_sync == "snapshot":
                yield from self._snapshot(category, stream, None)
                cursor = None  # the snapshot's final batch set the marker; re-read below
                continue
            if cursor is not None and cursor.get("phase") == "snapshot":
                yield from self._snapshot(category, stream, cursor)
                continue
            yield from self._follow(
                category, stream, Marker.from_dict((cursor or {}).get("marker"))
            )

    # -- FHIR polling (servers without the atomfeed module) ----------------------------------
    def _poll_all(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        types = dict.fromkeys(
            CATEGORY_TYPES[c] for c in self.config.feeds if c in CATEGORY_TYPES
        )  # visit and encounter are both Encounter: poll it once
        for resource_type in types:
            stream = f"poll:{resource_type}"
            try:
                yield from self._poll(resource_type, stream, cursors.get(stream) or {})
            except TypeNotServed as exc:  # e.g. no MedicationDispense before OpenMRS 2.6
                log.info("source %s: %s; nothing to poll", self.id, exc)

    def _keyset_pages(
        self,
        resource_type: str,
        extra: dict[str, Any],
        watermark: int | None,
        boundary: dict[str, int],
        overlap: int,
    ) -> Iterator[_Window]:
        """Pages in ``_lastUpdated`` order, each a fresh ``ge`` query from the last mark seen.

        fhir2 pages by re-running the query with an OFFSET: a row voided on an earlier page while
        we read shifts every later row up, and the one at the page edge is never returned. A
        fresh ``_lastUpdated=ge{mark}`` query per page cannot skip a row; the closed window drops,
        by id and content hash, the rows at the mark already delivered. Only when more than a
        page of rows share one second does it follow that query's offset pages.

        Yields each page's new resources with the cursor once they are stored.
        """
        first = True
        while True:
            params: dict[str, Any] = {"_count": _PAGE, "_sort": "_lastUpdated", **extra}
            if watermark is not None:
                start = watermark - overlap if first else watermark
                params["_lastUpdated"] = f"ge{_iso_seconds(start)}"
            pages = self.fhir.search_pages(resource_type, params)
            try:
                page = self._in_order(resource_type, next(pages, []))
                window = _window_of(page, watermark, boundary, overlap)
                stuck = (
                    len(page) >= _PAGE and not window.resources and window.watermark == watermark
                )
                if not stuck:
                    yield window
                    if len(page) < _PAGE:
                        return
                    watermark, boundary = window.watermark, window.boundary
                    first = False
                    continue
                for page in pages:  # a full page within one second: offsets, this once
                    window = _window_of(
                        self._in_order(resource_type, page), watermark, boundary, overlap
                    )
                    watermark, boundary = window.watermark, window.boundary
                    yield window
                return
            finally:
                pages.close()

    def _in_order(self, resource_type: str, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``page`` if its rows come in ``_lastUpdated`` order; a server that ignores ``_sort``
        is refused at once, before anything of the page is stored: a watermark over unordered
        pages would pass rows it has not read and skip them for good."""
        marks = [_epoch_seconds(r) for r in page]
        for i in range(1, len(marks)):
            if marks[i] < marks[i - 1]:
                msg = (
                    f"source {self.id}: the server ignores _sort=_lastUpdated ({resource_type} "
                    f"{page[i].get('id')} last updated {_iso_seconds(marks[i])} comes after "
                    f"{_iso_seconds(marks[i - 1])}), so searching by time would skip records; "
                    'set mode = "feed" and initial_sync = "feed" for this source'
                )
                raise OutOfOrderServer(msg)
        return page

    def _poll(
        self, resource_type: str, stream: str, cursor: dict[str, Any]
    ) -> Iterator[SourceBatch]:
        """``{Type}?_lastUpdated=ge{watermark - overlap}&_sort=_lastUpdated``, 100 a page.

        The watermark moves page by page (keyset pages, see :meth:`_keyset_pages`); each pass
        re-reads an overlap (1-second timestamps, clock skew) and the closed window drops what
        was delivered last time. fhir2 searches never return voided rows: an edit arrives as its
        new amended obs, and plain voids are found by the engine re-reading stored records.
        """
        for window in self._keyset_pages(
            resource_type,
            {},
            cursor.get("watermark"),
            dict(cursor.get("boundary") or {}),
            self.config.poll_overlap_seconds,
        ):
            yield window.batch(stream, {"watermark": window.watermark, "boundary": window.boundary})

    def _snapshot(
        self, category: str, stream: str, cursor: dict[str, Any] | None
    ) -> Iterator[SourceBatch]:
        """Note the feed head, read everything by keyset pages, then follow the feed from the
        head. The cursor keeps the snapshot's own watermark, so a crash resumes the snapshot
        where it was, and anything changed during it is after the head: the feed brings it."""
        resource_type = CATEGORY_TYPES.get(category)
        if resource_type is None:  # nothing to snapshot: walk the feed instead
            yield from self._follow(category, stream, None)
            return
        cursor = cursor or {}
        head = cursor.get("head")
        walker = self.walker(category)
        if head is None:
            marker = walker.head_marker()
            head = marker.to_dict() if marker else {}
        extra: dict[str, Any] = {}
        if category in _ENCOUNTER_TAGS:  # visits and encounters share the FHIR type
            extra["_tag"] = f"{_ENCOUNTER_TAG_SYSTEM}|{_ENCOUNTER_TAGS[category]}"
        notes = [f"snapshot of {category} done"]
        try:
            for window in self._keyset_pages(
                resource_type,
                extra,
                cursor.get("watermark"),
                dict(cursor.get("boundary") or {}),
                0,
            ):
                running = {
                    "phase": "snapshot",
                    "head": head,
                    "watermark": window.watermark,
                    "boundary": window.boundary,
                }
                yield window.batch(stream, running)
        except TypeNotServed as exc:  # nothing to snapshot; the feed (if any) still counts
            notes = [f"snapshot of {category} skipped: {exc}"]
        done = {"phase": "feed", "marker": head or None}
        if walker.head_dialect:  # shown by ``sync2 status`` before any change is followed
            done["dialect"] = walker.head_dialect
        yield SourceBatch(stream=stream, cursor=done, notes=notes)
        yield from self._follow(category, stream, Marker.from_dict(head))

    def _follow(self, category: str, stream: str, marker: Marker | None) -> Iterator[SourceBatch]:
        events: list[ChangeEvent] = []
        failures: list[Failure] = []
        notes: list[str] = []
        skipped = 0
        last_marker = marker
        for read in self.walker(category).pages_after(marker):
            if read.note:
                notes.append(read.note)
            for entry in read.entries:
                try:
                    event = read_entry(entry, read.page.via_url or read.page.url)
                except BadFeedError as exc:
                    failures.append(
                        Failure(
                            error=str(exc),
                            payload_ref=entry.id or None,
                            position={"page": read.page.via_url, "entry_id": entry.id},
                            payload=entry.content[:2000],
                        )
                    )
                    continue
                if (
                    event.filters
                    and self.tag_filter is not None
                    and not self.tag_filter(event.filters)
                ):
                    skipped += 1
                    continue
                events.append(event)
            if read.marker is not None:
                last_marker = read.marker
            if len(events) + len(failures) >= self.window:
                yield self._window(stream, events, failures, skipped, notes, last_marker)
                events, failures, notes, skipped = [], [], [], 0
        if events or failures or skipped or notes or last_marker != marker:
            yield self._window(stream, events, failures, skipped, notes, last_marker)

    def _window(
        self,
        stream: str,
        events: list[ChangeEvent],
        failures: list[Failure],
        skipped: int,
        notes: list[str],
        marker: Marker | None,
    ) -> SourceBatch:
        latest: dict[tuple[str, str], ChangeEvent] = {}
        for event in events:  # the newest entry of an object decides; we fetch current state
            latest.pop((event.resource_type, event.uuid), None)
            latest[(event.resource_type, event.uuid)] = event
        by_type: dict[str, list[str]] = {}
        for rtype, uuid in latest:
            by_type.setdefault(rtype, []).append(uuid)
        cursor: dict[str, Any] = {"phase": "feed", "marker": marker.to_dict() if marker else None}
        dialects = sorted({event.dialect for event in events})
        if dialects:  # shown by ``sync2 status``: which feed dialect this server speaks
            cursor["dialect"] = "+".join(dialects)
        batch = SourceBatch(
            stream=stream,
            cursor=cursor,
            failures=list(failures),
            skipped=skipped,
            notes=list(notes),
        )
        for rtype, uuids in by_type.items():
            fetched = self.fetch(rtype, uuids)
            self._stop_if_unavailable()
            batch.resources.extend(fetched.found.values())
            batch.gone.extend(fetched.gone)
            for failure in fetched.failures:
                event = latest.get((rtype, failure.uuid or ""))
                if event is not None:
                    failure.action = event.action
                    failure.position = {"page": event.page_url, "entry_id": event.entry_id}
                batch.failures.append(failure)
        for gone in batch.gone:
            event = latest.get((gone.resource_type, gone.uuid))
            if event is not None and event.action not in REMOVING_ACTIONS:
                log.debug(
                    "%s/%s is gone although its last entry says %s",
                    gone.resource_type,
                    gone.uuid,
                    event.action,
                )
        return batch

    def _stop_if_unavailable(self) -> None:
        """A hospital that died mid-window: give up the window rather than turn every one of its
        entries into a failed event; its cursor does not move, so the next run reads it again."""
        if self.breaker.state == "open":
            msg = (
                f"source {self.id} became unavailable mid-window "
                f"(circuit breaker open; last error: {self.breaker.last_error})"
            )
            raise SourceUnavailable(msg, retry_after=self.breaker.retry_in())

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        return self.fhir.fetch(resource_type, uuids)

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        _status, patient = self.fhir.read("Patient", patient_uuid)
        if patient is not None:
            yield patient
        for rtype in self._record_types():
            try:
                yield from self.fhir.search(rtype, {"patient": patient_uuid, "_count": 100})
            except TypeNotServed:
                continue

    def _record_types(self) -> list[str]:
        """The record types this hospital is synced for (its feeds): a server may lack a type
        altogether (MedicationDispense before OpenMRS 2.6), so only those are searched."""
        configured = {CATEGORY_TYPES.get(c) for c in self.config.feeds}
        return [t for t in RECORD_RESOURCE_TYPES if t in configured]

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        return list(self.fhir.search("Patient", {"identifier": identifier, "_count": 100}))

    def close(self) -> None:
        self.transport.close()


class _Window(NamedTuple):
    """One keyset page's resources not delivered before, and the cursor after them."""

    resources: list[dict[str, Any]]
    watermark: int | None
    boundary: dict[str, int]
    #: the canonical hash of each resource (computed for its version key), in order
    hashes: list[str]

    def batch(self, stream: str, cursor: dict[str, Any]) -> SourceBatch:
        """The window as a batch that hands its hashes on (the engine need not redo them)."""
        batch = SourceBatch(stream=stream, cursor=cursor, resources=self.resources)
        for resource, content_hash in zip(self.resources, self.hashes, strict=True):
            batch.remember_hash(resource, content_hash)
        return batch


def _version_key(resource_id: Any, content_hash: str) -> str:
    """One version of one resource: a changed resource is new, a re-read one is not.

    versionId has one-second precision: two saves in one second share it, so the content
    hash tells them apart (a second edit read between them is not mistaken for a re-read).
    """
    return f"{resource_id}@{content_hash}"


def _epoch_seconds(resource: dict[str, Any]) -> int:
    """``meta.lastUpdated`` as whole epoch seconds (OpenMRS keeps one-second precision).

    >>> _epoch_seconds({"meta": {"lastUpdated": "2024-06-25T10:56:16.000+00:00"}})
    1719312976
    >>> _epoch_seconds({})
    0
    """
    meta = resource.get("meta")
    text = meta.get("lastUpdated") if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return 0
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _iso_seconds(epoch: int) -> str:
    """
    >>> _iso_seconds(1719312976)
    '2024-06-25T10:56:16+00:00'
    """
    return datetime.fromtimestamp(max(0, epoch), UTC).isoformat()


def _window_of(
    page: list[dict[str, Any]], watermark: int | None, boundary: dict[str, int], overlap: int
) -> _Window:
    """The page's resources not delivered before, and the cursor after them."""
    hashes = [canonical_hash(r) for r in page]
    rows = [
        (_version_key(r.get("id"), h), _epoch_seconds(r)) for r, h in zip(page, hashes, strict=True)
    ]
    window = close_window(rows, watermark, boundary, overlap)
    kept = {key for key, _ in window.kept}
    fresh = [i for i, (key, _) in enumerate(rows) if key in kept]
    return _Window(
        [page[i] for i in fresh], window.watermark, window.boundary, [hashes[i] for i in fresh]
    )
