"""Prometheus metrics of one service, on a private registry (no global state between tests).

Counters and histograms are fed by :meth:`Metrics.observe_run` after every run of a source; the
queue sizes are read from the store when Prometheus scrapes, so they are never stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..pipeline import SyncSummary
from ..store import PassportStore
from ..store._base import FAILED_DEAD, FAILED_OPEN_STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _QueueCollector(Collector):
    """Failed (open and dead), parked and open-conflict counts, read at scrape time."""

    def __init__(self, store: PassportStore, sources: list[str]) -> None:
        self._store = store
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        failed = GaugeMetricFamily(
            "sync2_failed_events",
            "Failed events by source and state group.",
            labels=["source", "state"],
        )
        for source in self._sources:
            open_ = len(self._store.list_failed(states=FAILED_OPEN_STATES, source=source))
            dead = len(self._store.list_failed(states=[FAILED_DEAD], source=source))
            failed.add_metric([source, "open"], open_)
            failed.add_metric([source, "dead"], dead)
        yield failed
        yield GaugeMetricFamily(
            "sync2_parked_records",
            "Records waiting for their patient to appear in the passport.",
            value=len(self._store.list_parked()),
        )
        yield GaugeMetricFamily(
            "sync2_open_conflicts",
            "Conflicts waiting for a resolution.",
            value=len(self._store.list_conflicts(state="open")),
        )


class Metrics:
    """The service's metrics; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self, sources: Iterable[str], store: PassportStore | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["source"]
        self.records_written = Counter(
            "sync2_records_written",
            "Records written to the passport.",
            labels,
            registry=self.registry,
        )
        self.records_failed = Counter(
            "sync2_records_failed",
            "Changes sent to the failed-events queue.",
            labels,
            registry=self.registry,
        )
        self.records_skipped = Counter(
            "sync2_records_skipped",
            "Changes skipped (catchment, on_unmatched = skip).",
            labels,
            registry=self.registry,
        )
        self.runs = Counter(
            "sync2_runs",
            "Runs of a source, by outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "sync2_run_duration_seconds",
            "Duration of one run of a source.",
            labels,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.last_success = Gauge(
            "sync2_last_success_timestamp_seconds",
            "Unix time of the last successful run of a source (0: never).",
            labels,
            registry=self.registry,
        )
        self.sources = list(sources)
        for source in self.sources:  # every series exists from the start, at zero
            for metric in (self.records_written, self.records_failed, self.records_skipped):
                metric.labels(source=source)
            self.runs.labels(source=source, outcome="ok")
            self.runs.labels(source=source, outcome="failed")
            self.run_seconds.labels(source=source)
            self.last_success.labels(source=source)
        if store is not None:
            self.registry.register(_QueueCollector(store, self.sources))

    def observe_run(self, summary: SyncSummary, *, finished_at: float) -> None:
        """Count one run (scheduled or manual) of one source."""
        source = summary.source
        self.records_written.labels(source=source).inc(summary.written)
        self.records_failed.labels(source=source).inc(summary.failed)
        self.records_skipped.labels(source=source).inc(summary.skipped)
        self.runs.labels(source=source, outcome="ok" if summary.ok else "failed").inc()
        self.run_seconds.labels(source=source).observe(summary.seconds)
        if summary.ok:
            self.last_success.labels(source=source).set(finished_at)

    def observe_records(self, summary: SyncSummary) -> None:
        """Count what a manual sync (one patient, one record, a retry) wrote or failed."""
        self.records_written.labels(source=summary.source).inc(summary.written)
        self.records_failed.labels(source=summary.source).inc(summary.failed)
        self.records_skipped.labels(source=summary.source).inc(summary.skipped)

    def render(self) -> bytes:
        return generate_latest(self.registry)
