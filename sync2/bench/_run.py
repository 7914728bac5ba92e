"""Run every part of the benchmark and print one table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass(slots=True)
class BenchPlan:
    """Sizes of one run; ``quick()`` is the CI smoke test, the default is the documented run."""

    backfill_hospitals: int = 3
    backfill_patients: int = 400
    backfill_obs_per_patient: int = 50
    scale: tuple[int, ...] = (1, 10, 100)
    scale_obs_per_hospital: int = 1000
    live_seconds: float = 15.0
    live_interval: float = 1.0
    concurrency: int = 4
    processes: int = 3  # worker processes for the backfill (0 = threads only)
    mysql_obs: int = 50_000
    parts: tuple[str, ...] = ("a", "b", "c", "d", "e")
    notes: list[str] = field(default_factory=list)

    @classmethod
    def quick(cls) -> BenchPlan:
        return cls(
            backfill_hospitals=2,
            backfill_patients=40,
            backfill_obs_per_patient=20,
            scale=(1, 5),
            scale_obs_per_hospital=200,
            live_seconds=4.0,
            mysql_obs=2000,
        )


def _phase(name: str, args: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "sync2.bench", "phase", name, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        msg = f"bench part {name} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_bench(plan: BenchPlan, console: Console | None = None) -> dict[str, Any]:
    """Run the plan; returns every figure (also printed as one table)."""
    console = console or Console()
    workdir = tempfile.mkdtemp(prefix="sync2-bench-")
    results: dict[str, Any] = {"plan": {k: getattr(plan, k) for k in BenchPlan.__slots__}}
    try:
        if {"a", "b"} & set(plan.parts):
            console.print("[dim]bench: (a)+(b) backfill ...[/]")
            results["backfill"] = _phase(
                "backfill",
                {
                    "hospitals": plan.backfill_hospitals,
                    "patients": plan.backfill_patients,
                    "obs_per_patient": plan.backfill_obs_per_patient,
                    "concurrency": plan.concurrency,
                    "processes": plan.processes,
                    "raw_store": "b" in plan.parts,
                    "workdir": f"{workdir}/a",
                },
            )
        if "c" in plan.parts:
            console.print("[dim]bench: (c) live latency ...[/]")
            results["live"] = _phase(
                "live",
                {
                    "seconds": plan.live_seconds,
                    "interval": plan.live_interval,
                    "workdir": f"{workdir}/c",
                },
            )
        if "d" in plan.parts:
            results["scale"] = []
            for hospitals in plan.scale:
                console.print(f"[dim]bench: (d) scale, {hospitals} hospitals ...[/]")
                results["scale"].append(
                    _phase(
                        "backfill",
                        {
                            "hospitals": hospitals,
                            "patients": max(1, plan.scale_obs_per_hospital // 20),
                            "obs_per_patient": 20,
                            "concurrency": plan.concurrency,
                            # threads: the per-obs cost, not worker start-up, is compared
                            "processes": 0,
                            "raw_store": False,
                            "workdir": f"{workdir}/d{hospitals}",
                        },
                    )
                )
        if "e" in plan.parts:
            console.print("[dim]bench: (e) MySQL 1.x adapter ...[/]")
            try:
                results["mysql"] = _phase(
                    "mysql", {"obs": plan.mysql_obs, "workdir": f"{workdir}/e"}
                )
            except RuntimeError as exc:
                results["mysql"] = {"skipped": str(exc).splitlines()[-1][:300]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    console.print(render_table(results))
    return results


def _fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return format(value, spec)
    return str(value)


def render_table(results: dict[str, Any]) -> Table:
    table = Table(title="sync2 bench (one run; ratios are what to compare)")
    table.add_column("part")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target")
    b = results.get("backfill")
    if b:
        table.add_row(
            "(a) backfill",
            f"{b['hospitals']} hospitals, {b['obs']:,} obs (expected {b['expected_obs']:,})",
            "",
            "",
        )
        table.add_row("", "obs/s end to end", _fmt(b["obs_per_s"]), ">= 5,000")
        table.add_row("", "CPU seconds per obs", _fmt(b["cpu_s_per_obs"], ".6f"), "")
        table.add_row("", "peak RSS (MB)", _fmt(b["peak_rss_mb"], ",.0f"), "< 300")
        if "raw_obs_per_s" in b:
            table.add_row("(b) store alone", "obs/s raw bulk insert", _fmt(b["raw_obs_per_s"]), "")
            table.add_row(
                "", "ratio (a)/(b)", _fmt(b["obs_per_s"] / b["raw_obs_per_s"], ".2f"), ">= 0.3"
            )
    c = results.get("live")
    if c:
        table.add_row(
            "(c) live",
            f"poll every {c['interval_s']:.0f}s, {c['new_obs']} new obs "
            f"({c['missing']} not arrived)",
            "",
            "",
        )
        table.add_row("", "p50 seconds", _fmt(c["p50_s"], ".2f"), "")
        table.add_row("", "p95 seconds", _fmt(c["p95_s"], ".2f"), "<= 2")
    d = results.get("scale")
    if d:
        base = d[0]["cpu_s_per_obs"] or 1e-9
        for row in d:
            table.add_row(
                "(d) scale",
                f"{row['hospitals']} hospitals, {row['obs']:,} obs",
                f"{row['cpu_s_per_obs'] / base:.2f}x per-obs CPU ({_fmt(row['obs_per_s'])} obs/s)",
                "<= 1.5x",
            )
    e = results.get("mysql")
    if e:
        if "skipped" in e:
            table.add_row("(e) MySQL 1.x", "skipped", e["skipped"], "")
        else:
            table.add_row("(e) MySQL 1.x", f"{e['obs']:,} obs", f"{_fmt(e['obs_per_s'])} obs/s", "")
    return table
