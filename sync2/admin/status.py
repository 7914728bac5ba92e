"""Each source's state as the passport records it: last run, last success, open failures, and
how far behind the hospital it is.

``sync2 status``, the admin API's ``GET status`` and the console's overview all read a source's
last run from here, so the three cannot disagree on which run was last or whether it failed.
The service lays the scheduler's live state (running, leased, breaker, progress) over these.

A source's lag is "now minus the newest change synced". The time of that change is read from
the cursors, because a cursor commits in the same transaction as the records it covers: it is
the newest change that is durably in the passport, never one still in flight. Each cursor shape
carries its time differently (see :func:`stream_mark`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..config import Config, SourceConfig
from ..store import AuditEntry, PassportStore
from ..store._base import FAILED_DEAD, FAILED_OPEN_STATES

#: The audit kinds of a finished run: ok, and failed (the summary is in the entry's details).
RUN_OK, RUN_FAILED = "sync", "sync-failed"

#: How each source kind fetches records (``sync2 status`` shows it).
FETCH_PATHS = {"openmrs-fhir": "fhir2", "openmrs-rest": "rest", "openmrs-mysql": "mysql"}
#: MySQL streams whose watermark is a row id, not a time (``ChangeQuery.by_time`` is False).
ID_WATERMARK_STREAMS = frozenset({"mysql:obs"})
#: Why a source has no lag figure: nothing of it is in the passport yet.
NOTHING_SYNCED = "nothing synced yet"
#: ... or its cursors hold no change time (an empty feed, or only id watermarks so far).
NO_CHANGE_TIME = "no change with a time synced yet"

#: What the time of each cursor shape is (shown beside the lag).
FEED_ENTRY = "feed entry updated"
RESOURCE_TIME = "resource lastUpdated"
ROW_TIME = "row changed"
ROW_ID = "row id"


@dataclass(frozen=True, slots=True)
class StreamMark:
    """How far one stream of a source has been stored: its position, and the time of the
    newest change it covers (None when the cursor carries no time, e.g. an id watermark)."""

    stream: str
    at: float | None
    basis: str
    entry_id: str | None = None
    watermark: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the time also as ISO text (what the API and the page show)."""
        return {
            "stream": self.stream,
            "at": self.at,
            "at_iso": iso_time(self.at),
            "basis": self.basis,
            "entry_id": self.entry_id,
            "watermark": self.watermark,
        }


@dataclass(slots=True)
class SourceStatus:
    """What the passport knows about one source's runs and failures."""

    config: SourceConfig
    last_run: AuditEntry | None
    last_success: float | None
    failed_open: int
    failed_dead: int
    cursors: dict[str, dict[str, Any]]

    @property
    def newest_change(self) -> StreamMark | None:
        """The newest change of this source that is in the passport (None: none with a time)."""
        return newest_change(self.cursors)

    @property
    def lag_reason(self) -> str | None:
        """Why there is no lag figure, or None when there is one."""
        if self.newest_change is not None:
            return None
        return NO_CHANGE_TIME if self.cursors else NOTHING_SYNCED

    @property
    def last_ok(self) -> bool | None:
        return None if self.last_run is None else self.last_run.kind == RUN_OK

    @property
    def last_error(self) -> str | None:
        """The last run's error when it failed (its message when the summary has none)."""
        if self.last_run is None or self.last_run.kind != RUN_FAILED:
            return None
        return self.last_run.details.get("error") or self.last_run.message


def source_status(store: PassportStore, sc: SourceConfig) -> SourceStatus:
    """One source's last run (ok or failed, whichever is newer) and its failed-event counts."""
    ok_runs = store.list_audit(limit=1, source=sc.id, kind=RUN_OK)
    runs = ok_runs + store.list_audit(limit=1, source=sc.id, kind=RUN_FAILED)
    return SourceStatus(
        config=sc,
        last_run=max(runs, key=lambda e: e.ts) if runs else None,
        last_success=ok_runs[0].ts if ok_runs else None,
        failed_open=len(store.list_failed(states=FAILED_OPEN_STATES, source=sc.id)),
        failed_dead=len(store.list_failed(states=[FAILED_DEAD], source=sc.id)),
        cursors=store.get_cursors(sc.id),
    )


def source_statuses(config: Config, store: PassportStore) -> list[SourceStatus]:
    """Every configured source's status, in config order."""
    return [source_status(store, sc) for sc in config.sources]


def source_paths(kind: str, cursors: dict[str, Any]) -> dict[str, Any]:
    """The feed dialect(s) a source was last read in (from its cursors) and its fetch path."""
    seen = {
        part
        for cursor in cursors.values()
        if isinstance(cursor, dict) and isinstance(cursor.get("dialect"), str)
        for part in cursor["dialect"].split("+")
    }
    return {
        "feed_dialect": "+".join(sorted(seen)) or None,
        "fetch_path": FETCH_PATHS.get(kind, kind),
    }


def status_report(config: Config, store: PassportStore) -> dict[str, Any]:
    """The data behind ``sync2 status --json``: per source its cursors, last run and failures."""
    sources = []
    for st in source_statuses(config, store):
        sc, last = st.config, st.last_run
        cursors = st.cursors
        newest = st.newest_change
        sources.append(
            {
                "id": sc.id,
                "name": sc.name,
                "kind": sc.kind,
                **source_paths(sc.kind, cursors),
                "enabled": sc.enabled,
                "cursors": cursors,
                "last_run": datetime.fromtimestamp(last.ts, UTC).isoformat() if last else None,
                "last_ok": st.last_ok,
                "last_error": last.details.get("error") if last else None,
                "failed_open": st.failed_open,
                "failed_dead": st.failed_dead,
                "newest_change": newest.to_dict() if newest else None,
            }
        )
    return {"sources": sources, "counts": store.counts()}


def iso_time(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC text.

    >>> iso_time(0), iso_time(None)
    ('1970-01-01T00:00:00+00:00', None)
    """
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def parse_time(text: Any) -> float | None:
    """An ISO time (an atom ``<updated>``, a FHIR ``effective``) as epoch seconds; None when it
    is missing or malformed (a real feed has carried ``016-04-29T06:51:46Z``). A time without a
    zone is taken as UTC, a date alone as its midnight.

    >>> parse_time("2016-03-03T23:51:45Z"), parse_time("2016-03-04T01:51:45+02:00")
    (1457049105.0, 1457049105.0)
    >>> parse_time("2024-01-02")
    1704153600.0
    >>> parse_time("016-04-29T06:51:46Z"), parse_time(""), parse_time(None)
    (None, None, None)
    """
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stream_mark(stream: str, cursor: dict[str, Any] | None) -> StreamMark | None:
    """Where one stream's cursor stands, and the time of the newest change it covers.

    A feed follows its marker, whose entry ``updated`` is the newest feed entry stored; a
    snapshot, a ``_lastUpdated`` poll and a MySQL stream by time keep a watermark in epoch
    seconds (the newest resource or row time stored); ``mysql:obs`` keeps a row id, which is a
    position but no time. The voids re-check (``recheck:*``) is not a change stream.

    >>> mark = stream_mark("feed:patient", {"phase": "feed", "marker": {"entry_id": "e9",
    ...     "page_url": "p", "updated": "2016-03-03T23:51:45Z"}})
    >>> mark.at, mark.basis, mark.entry_id
    (1457049105.0, 'feed entry updated', 'e9')
    >>> stream_mark("poll:Observation", {"watermark": 1457049105, "boundary": {}}).at
    1457049105.0
    >>> stream_mark("mysql:obs", {"watermark": 812, "boundary": {}}).basis
    'row id'
    >>> stream_mark("recheck:Observation", {"after": "u"}) is None
    True
    """
    if not cursor or stream.startswith("recheck:"):
        return None
    watermark = _int_or_none(cursor.get("watermark"))
    if stream.startswith("feed:") and cursor.get("phase") != "snapshot":
        marker = cursor.get("marker")
        if not isinstance(marker, dict) or not marker.get("entry_id"):
            return None
        updated = parse_time(marker.get("updated"))
        return StreamMark(stream, updated, FEED_ENTRY, entry_id=str(marker["entry_id"]))
    if watermark is None:
        return None
    if stream in ID_WATERMARK_STREAMS:
        return StreamMark(stream, None, ROW_ID, watermark=watermark)
    basis = ROW_TIME if stream.startswith("mysql:") else RESOURCE_TIME
    return StreamMark(stream, float(watermark), basis, watermark=watermark)


def newest_change(cursors: dict[str, dict[str, Any]]) -> StreamMark | None:
    """The stream mark with the newest change time over all of a source's streams.

    >>> newest_change({"feed:patient": {"phase": "snapshot", "watermark": 50},
    ...                "feed:observation": {"phase": "snapshot", "watermark": 70},
    ...                "mysql:obs": {"watermark": 900}}).stream
    'feed:observation'
    >>> newest_change({"mysql:obs": {"watermark": 900}}) is None
    True
    """
    marks = [stream_mark(stream, cursor) for stream, cursor in cursors.items()]
    timed = [m for m in marks if m is not None and m.at is not None]
    return max(timed, key=lambda m: m.at or 0.0) if timed else None
