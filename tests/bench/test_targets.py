"""Every benchmark target is printed beside its figure with a plain verdict, met or not."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from sync2.bench._run import render_table
from sync2.bench._targets import CLINICAL_ROWS, MET, MISSED, NOT_MEASURED, TARGETS, verdicts

#: Figures of the run quoted in the performance issue (hand-copied, not computed here).
ISSUE_RUN = {
    "backfill": {"obs_per_s": 5036.0, "raw_obs_per_s": 14376.0, "peak_rss_mb": 180.0},
    "live": {"p95_s": 0.95},
    "scale": [{"cpu_s_per_obs": 0.0004}, {"cpu_s_per_obs": 0.0003}, {"cpu_s_per_obs": 0.0006}],
    "mysql": {"obs_per_s": 3277.0, "rows": 50_000, "peak_rss_mb": 120.0},
}


def _by_measure(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["part"], row["measure"]): row for row in verdicts(results)}


def test_the_issue_run_gets_its_verdicts() -> None:
    rows = _by_measure(ISSUE_RUN)
    assert rows[("(a) backfill", "obs/s end to end (HTTP)")]["verdict"] == MISSED
    assert rows[("(b) store alone", "obs/s bulk through the store")]["verdict"] == MISSED
    ratio = rows[("(a)/(b)", "end to end over store alone")]
    assert abs(ratio["value"] - 5036 / 14376) < 1e-9 and ratio["verdict"] == MISSED
    assert rows[("(c) live", "p95 seconds, 1 s polling")]["verdict"] == MET
    scale = rows[("(d) scale", "worst per-obs CPU vs 1 hospital")]
    assert abs(scale["value"] - 1.5) < 1e-9 and scale["verdict"] == MET  # 0.0006 / 0.0004
    assert rows[("(e) MySQL 1.x", "obs/s")]["verdict"] == MISSED
    assert rows[("(e) MySQL 1.x", "obs in the run")]["verdict"] == MISSED
    assert rows[("storage", "bytes per obs, MongoDB")]["verdict"] == NOT_MEASURED


def test_no_target_is_dropped_from_the_printed_table() -> None:
    for results in ({}, ISSUE_RUN, {"mysql": {"skipped": "no mariadbd"}}):
        console = Console(record=True, width=200)
        console.print(render_table(results))
        text = console.export_text()
        for target in TARGETS:
            assert target.measure in text, target.measure
        if not results:
            assert text.count(NOT_MEASURED) == len(TARGETS)


def test_hospital_cost_and_clinical_rows_get_their_verdicts() -> None:
    steps = [{"resource_type": t, "records": 10, "expected": 10} for t in CLINICAL_ROWS]
    steps[3] = {**steps[3], "records": 9}  # one type lost a record
    results = {
        "hospital_cost": {
            "snapshot": {"requests_per_1000_obs": 28.0},
            "incremental": {"requests_per_1000_obs": 2500.0},
        },
        "rest": {"requests_per_1000_obs": 1055.0},
        "clinical": {"steps": steps},
        "mongo": {"skipped": "nx-27017 is not installed"},
    }
    rows = _by_measure(results)
    snapshot = rows[
        ("(g) hospital cost", "fhir2 snapshot: requests per 1,000 obs (Sync 2.0: 2,200)")
    ]
    assert snapshot["verdict"] == MET and snapshot["value"] == 28.0
    incremental = (
        "(g) hospital cost",
        "fhir2 incremental: requests per 1,000 obs (Sync 2.0: 2,200)",
    )
    assert rows[incremental]["verdict"] == MISSED
    rest = rows[("(g) hospital cost", "REST first sync: requests per 1,000 obs (Sync 2.0: 2,200)")]
    assert rest["verdict"] == MET
    clinical = rows[("(k) clinical types", "types with their own row, count = simulator's (of 7)")]
    assert clinical["value"] == len(CLINICAL_ROWS) - 1 and clinical["verdict"] == MISSED
    assert rows[("storage", "bytes per obs, MongoDB")]["verdict"] == NOT_MEASURED
