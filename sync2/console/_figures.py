"""The overview's figures: one row per hospital and the runs chart.

Every figure the admin API also reports comes from the API's own function,
``Service.status()``, so the page and ``GET status`` cannot disagree. What the API does not
report (records, parked and open conflicts per hospital, run history) is read here from the
store, through the same store methods the API's list endpoints use.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..service import Service
from ..sources import RESOURCE_TYPES
from ..store import AuditEntry

#: The runs chart covers this many days back.
CHART_DAYS = 3
#: Most run entries read for the chart (per outcome); older runs fall off the chart.
CHART_RUNS = 2000


@dataclass(slots=True)
class HospitalRow:
    """One hospital on the overview."""

    id: str
    name: str
    state: str
    shown_state: str
    lag_seconds: float | None
    running_for: float | None
    last_run_at: float | None
    last_run: dict[str, Any] | None
    last_error: str | None
    records: int
    failed_open: int
    failed_dead: int
    parked: int
    conflicts: int
    breaker: str
    enabled: bool
    #: the newest change in the passport (``lag_seconds`` is now minus its time), or None
    newest_change: dict[str, Any] | None = None
    lag_reason: str | None = None
    since_success_seconds: float | None = None
    #: what the run in progress has stored so far, or None
    progress: dict[str, Any] | None = None


@dataclass(slots=True)
class Overview:
    """Everything the overview page shows."""

    scheduler: dict[str, Any]
    rows: list[HospitalRow]
    counts: dict[str, int]
    chart: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return any(r.state == "running" for r in self.rows)


def shown_state(source: dict[str, Any]) -> str:
    """The one word an admin scans for: running, leased elsewhere, breaker open, failing, idle.

    >>> shown_state({"state": "idle", "breaker": "open", "last_error": None})
    'breaker open'
    >>> shown_state({"state": "idle", "breaker": "closed", "last_error": "HTTP 500"})
    'failing'
    >>> shown_state({"state": "leased-elsewhere", "breaker": "closed", "last_error": None})
    'leased elsewhere'
    """
    state = str(source.get("state") or "idle")
    if state in ("running", "disabled"):
        return state
    if state == "leased-elsewhere":
        return "leased elsewhere"
    if source.get("breaker") not in (None, "closed", "unknown"):
        return "breaker open" if source.get("breaker") == "open" else f"breaker {source['breaker']}"
    if source.get("last_error"):
        return "failing"
    return state


def overview(service: Service, *, now: float | None = None) -> Overview:
    """The overview of every configured hospital, now."""
    now = time.time() if now is None else now
    status = service.status()
    runs = recent_runs(service, since=now - CHART_DAYS * 86400)
    parked = service.store.parked_per_source()
    conflicts = Counter(c.source for c in service.store.list_conflicts(state="open"))
    live = service.scheduler.states()
    rows = []
    for src in status["sources"]:
        sid = src["id"]
        started = live[sid].last_started if sid in live else None
        rows.append(
            HospitalRow(
                id=sid,
                name=src["name"],
                state=src["state"],
                shown_state=shown_state(src),
                lag_seconds=src["lag_seconds"],
                running_for=now - started if src["state"] == "running" and started else None,
                last_run_at=src["last_run_at"],
                last_run=src["last_run"],
                last_error=src["last_error"],
                records=sum(service.store.count_records(sid, t) for t in RESOURCE_TYPES),
                failed_open=src["failed_open"],
                failed_dead=src["failed_dead"],
                parked=parked.get(sid, 0),
                conflicts=conflicts.get(sid, 0),
                breaker=src["breaker"],
                enabled=src["enabled"],
                newest_change=src["newest_change"],
                lag_reason=src["lag_reason"],
                since_success_seconds=src["since_success_seconds"],
                progress=src["progress"],
            )
        )
    return Overview(status["scheduler"], rows, status["counts"], runs_chart(runs, rows))


def recent_runs(service: Service, *, since: float) -> list[AuditEntry]:
    """Every run (ok or failed) audited since ``since``, oldest first."""
    entries = [
        e
        for kind in ("sync", "sync-failed")
        for e in service.store.list_audit(limit=CHART_RUNS, kind=kind)
        if e.ts >= since and e.source
    ]
    return sorted(entries, key=lambda e: e.ts)


def runs_chart(runs: list[AuditEntry], rows: list[HospitalRow]) -> dict[str, Any]:
    """uPlot data: x = run end times; one "written" series per hospital; one "errors" series.

    A run's errors are its failed events plus one when the run itself failed.

    >>> ok = AuditEntry("sync", "", source="a", details={"written": 5, "failed": 1, "ok": True},
    ...                 ts=10.0)
    >>> bad = AuditEntry("sync-failed", "", source="b", details={"ok": False}, ts=20.0)
    >>> row = lambda i: HospitalRow(i, i, "idle", "idle", None, None, None, None, None, 0, 0,
    ...                             0, 0, 0, "closed", True)
    >>> chart = runs_chart([ok, bad], [row("a"), row("b")])
    >>> chart["x"], chart["series"], chart["labels"]
    ([10.0, 20.0], [[5, None], [None, 0], [1, 1]], ['written a', 'written b', 'errors'])
    """
    ids = [r.id for r in rows]
    written: dict[str, list[int | None]] = {i: [None] * len(runs) for i in ids}
    errors: list[int] = []
    for index, run in enumerate(runs):
        details = run.details or {}
        if run.source in written:
            written[run.source][index] = int(details.get("written") or 0)
        failed_run = run.kind == "sync-failed" or details.get("ok") is False
        errors.append(int(details.get("failed") or 0) + (1 if failed_run else 0))
    return {
        "x": [r.ts for r in runs],
        "series": [written[i] for i in ids] + [errors],
        "labels": [f"written {i}" for i in ids] + ["errors"],
    }
