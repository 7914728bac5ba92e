"""The benchmark's targets, each printed beside its figure with a plain verdict.

A target is a promise: it stays in the output whether it is met, missed or not measured in this
run, so a reader never mistakes a silent row for a met one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mappers.documents import RECORD_RESOURCE_TYPES

MET = "met"
MISSED = "MISSED"
NOT_MEASURED = "not measured"

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True, slots=True)
class Target:
    """One promised figure: ``figure(results)`` is compared with ``bound`` by ``op``."""

    part: str
    measure: str
    op: str
    bound: float
    unit: str
    figure: Callable[[dict[str, Any]], float | int | None]

    @property
    def label(self) -> str:
        return f"{self.op} {self.bound:,.10g}{self.unit}"

    def verdict(self, results: dict[str, Any]) -> tuple[float | int | None, str]:
        try:
            value = self.figure(results)
        except (KeyError, TypeError, ZeroDivisionError, IndexError):
            value = None
        if value is None:
            return None, NOT_MEASURED
        return value, MET if _OPS[self.op](value, self.bound) else MISSED


def _get(results: dict[str, Any], part: str, key: str) -> float | None:
    block = results.get(part)
    if not isinstance(block, dict) or "skipped" in block:
        return None
    value = block.get(key)
    return float(value) if isinstance(value, int | float) else None


def _ratio(results: dict[str, Any], part: str, top: str, bottom: str) -> float | None:
    num, den = _get(results, part, top), _get(results, part, bottom)
    return num / den if num is not None and den else None


def _worst_scale(results: dict[str, Any]) -> float | None:
    rows = results.get("scale") or []
    if len(rows) < 2 or not rows[0].get("cpu_s_per_obs"):
        return None
    base = rows[0]["cpu_s_per_obs"]
    return float(max(row["cpu_s_per_obs"] / base for row in rows[1:]))


def _nested(results: dict[str, Any], part: str, *keys: str) -> float | None:
    block: Any = results.get(part)
    for key in keys:
        if not isinstance(block, dict) or "skipped" in block:
            return None
        block = block.get(key)
    return float(block) if isinstance(block, int | float) else None


#: the resource types part (k) gives a row each: every passport record type but the encounter
#: (synced in every step), obs first as the per-obs baseline
CLINICAL_ROWS = tuple(t for t in RECORD_RESOURCE_TYPES if t != "Encounter")


def _clinical_rows(results: dict[str, Any]) -> int | None:
    """How many of the types got a row whose count is the simulator's (None: part not run)."""
    steps = (results.get("clinical") or {}).get("steps")
    if not steps:
        return None
    return sum(
        1
        for step in steps
        if step.get("resource_type") in CLINICAL_ROWS
        and step.get("records") == step.get("expected")
    )


TARGETS: tuple[Target, ...] = (
    Target(
        "(a) backfill",
        "obs/s end to end (HTTP)",
        ">=",
        10_000,
        "",
        lambda r: _get(r, "backfill", "obs_per_s"),
    ),
    Target(
        "(a) backfill", "peak RSS (MB)", "<", 300, "", lambda r: _get(r, "backfill", "peak_rss_mb")
    ),
    Target(
        "(b) store alone",
        "obs/s bulk through the store",
        ">=",
        40_000,
        "",
        lambda r: _get(r, "backfill", "raw_obs_per_s"),
    ),
    Target(
        "(a)/(b)",
        "end to end over store alone",
        ">=",
        0.5,
        "",
        lambda r: _ratio(r, "backfill", "obs_per_s", "raw_obs_per_s"),
    ),
    Target(
        "(b)/(f)",
        "store over plain executemany",
        ">=",
        0.5,
        "",
        lambda r: _ratio(r, "backfill", "raw_obs_per_s", "floor_obs_per_s"),
    ),
    Target(
        "(c) live", "p95 seconds, 1 s polling", "<=", 1.0, " s", lambda r: _get(r, "live", "p95_s")
    ),
    Target("(d) scale", "worst per-obs CPU vs 1 hospital", "<=", 1.5, "x", _worst_scale),
    Target("(e) MySQL 1.x", "obs/s", ">=", 20_000, "", lambda r: _get(r, "mysql", "obs_per_s")),
    Target(
        "(e) MySQL 1.x", "obs in the run", ">=", 1_000_000, "", lambda r: _get(r, "mysql", "rows")
    ),
    Target(
        "(e) MySQL 1.x", "peak RSS (MB)", "<", 300, "", lambda r: _get(r, "mysql", "peak_rss_mb")
    ),
    Target(
        "storage",
        "bytes per obs, SQLite",
        "<=",
        1536,
        " B",
        lambda r: _get(r, "backfill", "bytes_per_obs"),
    ),
    Target(
        "storage",
        "bytes per obs, MongoDB",
        "<=",
        1536,
        " B",
        lambda r: _get(r, "mongo", "bytes_per_obs"),
    ),
    # The Sync 2.0 algorithm's floor: one feed page per 5 entries and two GETs per entry.
    Target(
        "(g) hospital cost",
        "fhir2 snapshot: requests per 1,000 obs (Sync 2.0: 2,200)",
        "<",
        2_200,
        "",
        lambda r: _nested(r, "hospital_cost", "snapshot", "requests_per_1000_obs"),
    ),
    Target(
        "(g) hospital cost",
        "fhir2 incremental: requests per 1,000 obs (Sync 2.0: 2,200)",
        "<",
        2_200,
        "",
        lambda r: _nested(r, "hospital_cost", "incremental", "requests_per_1000_obs"),
    ),
    Target(
        "(g) hospital cost",
        "REST first sync: requests per 1,000 obs (Sync 2.0: 2,200)",
        "<",
        2_200,
        "",
        lambda r: _get(r, "rest", "requests_per_1000_obs"),
    ),
    Target(
        "(k) clinical types",
        "types with their own row, count = simulator's (of 7)",
        ">=",
        len(CLINICAL_ROWS),
        "",
        _clinical_rows,
    ),
)


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with this run's figure and verdict (``met``, ``MISSED``, ``not measured``)."""
    out = []
    for target in TARGETS:
        value, verdict = target.verdict(results)
        out.append(
            {
                "part": target.part,
                "measure": target.measure,
                "value": value,
                "target": target.label,
                "verdict": verdict,
            }
        )
    return out
