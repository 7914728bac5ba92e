"""Each source's state as the passport records it: last run, last success, open failures.

``sync2 status``, the admin API's ``GET status`` and the console's overview all read a source's
last run from here, so the three cannot disagree on which run was last or whether it failed.
The service lays the scheduler's live state (running, leased, breaker) over these figures.
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


@dataclass(slots=True)
class SourceStatus:
    """What the passport knows about one source's runs and failures."""

    config: SourceConfig
    last_run: AuditEntry | None
    last_success: float | None
    failed_open: int
    failed_dead: int

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
        cursors = store.get_cursors(sc.id)
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
            }
        )
    return {"sources": sources, "counts": store.counts()}
