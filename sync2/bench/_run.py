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

from ._targets import verdicts


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
    rest_patients: int = 200  # (r): one REST-only hospital, 20 obs a patient
    face_obs: int = 100_000  # (p): obs in the district passport its FHIR face serves
    parts: tuple[str, ...] = ("a", "b", "c", "d", "e", "r", "p")
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
            rest_patients=10,
            face_obs=2000,
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
        if "r" in plan.parts:
            console.print("[dim]bench: (r) REST source ...[/]")
            results["rest"] = _phase(
                "rest",
                {"patients": plan.rest_patients, "obs_per_patient": 20, "workdir": f"{workdir}/r"},
            )
        if "p" in plan.parts:
            console.print("[dim]bench: (p) passport FHIR face and chain ...[/]")
            results["face"] = _phase("face", {"obs": plan.face_obs, "workdir": f"{workdir}/p"})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["targets"] = verdicts(results)
    console.print(render_table(results))
    return results


def _fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return format(value, spec)
    return str(value)


def render_table(results: dict[str, Any]) -> Table:
    """The run's figures, then every target beside its figure with a plain verdict."""
    table = Table(title="sync2 bench (one run; ratios are what to compare)")
    table.add_column("part")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for part, measure, value in _figures(results):
        table.add_row(part, measure, value)
    targets = Table(title="targets (a missed target stays here, marked MISSED)")
    for name in ("part", "measure", "value", "target", "verdict"):
        targets.add_column(name, justify="right" if name == "value" else "left")
    for row in results.get("targets") or verdicts(results):
        spec = ",.2f" if isinstance(row["value"], float) and row["value"] < 100 else ",.0f"
        targets.add_row(
            row["part"], row["measure"], _fmt(row["value"], spec), row["target"], row["verdict"]
        )
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(targets)
    return outer


def _figures(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    b = results.get("backfill")
    if b:
        what = f"{b.get('hospitals')} hospitals, {_fmt(b.get('obs'))} obs"
        rows.append(("(a) backfill", what, _fmt(b.get("obs_per_s")) + " obs/s"))
        rows.append(("", "CPU seconds per obs", _fmt(b.get("cpu_s_per_obs"), ".6f")))
        if "raw_obs_per_s" in b:
            rows.append(("(b) store alone", "obs/s bulk insert", _fmt(b["raw_obs_per_s"])))
        if "floor_obs_per_s" in b:
            rows.append(("(f) floor", "obs/s plain executemany", _fmt(b["floor_obs_per_s"])))
    c = results.get("live")
    if c:
        what = f"poll every {c.get('interval_s')}s, {c.get('new_obs')} new obs"
        rows.append(("(c) live", what, f"p50 {_fmt(c.get('p50_s'), '.2f')} s"))
    for row in results.get("scale") or []:
        base = results["scale"][0]["cpu_s_per_obs"] or 1e-9
        ratio = row["cpu_s_per_obs"] / base
        rows.append(
            (
                "(d) scale",
                f"{row.get('hospitals')} hospitals, {_fmt(row.get('obs'))} obs",
                f"{ratio:.2f}x per-obs CPU ({_fmt(row.get('obs_per_s'))} obs/s)",
            )
        )
    e = results.get("mysql")
    if e and "skipped" in e:
        rows.append(("(e) MySQL 1.x", "skipped", e["skipped"]))
    elif e:
        rows.append(
            ("(e) MySQL 1.x", f"{_fmt(e.get('obs'))} obs", f"{_fmt(e.get('obs_per_s'))} obs/s")
        )
    r = results.get("rest")
    if r:
        what = f"{_fmt(r.get('obs'))} obs, classic feed + /ws/rest/v1"
        rows.append(("(r) REST source", what, _fmt(r.get("obs_per_s")) + " obs/s"))
        rows.append(("", "requests per 1,000 obs", _fmt(r.get("requests_per_1000_obs"))))
    p = results.get("face")
    if p:  # figures only: no number is promised for them
        what = f"{_fmt(p.get('served'))} obs paged, _count=1000"
        rows.append(("(p) FHIR face", what, _fmt(p.get("served_per_s")) + " resources/s"))
        what = f"{_fmt(p.get('chain_obs'))} obs, district -> national"
        rows.append(("(p) chain", what, _fmt(p.get("chain_obs_per_s")) + " obs/s"))
    return rows
