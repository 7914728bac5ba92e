"""Run every part of the benchmark and print one table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from ._table import render_table
from ._targets import verdicts

__all__ = ["ALL_PARTS", "BenchPlan", "render_table", "run_bench"]

#: every part, in the order they run: (a)+(b)+(f) backfill, (c) live, (d) scale, (e) MySQL 1.x,
#: (g) hospital cost, (k) clinical types, (m) MongoDB over the wire, (r) REST, (p) FHIR face
ALL_PARTS = "abcdegkmrp"


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
    cost_patients: int = 200  # (g): one hospital, 50 obs a patient
    cost_new_obs: int = 1000  # (g): obs written at the hospital before the incremental sync
    clinical_hospitals: int = 2  # (k)
    clinical_patients: int = 1500
    clinical_obs_per_patient: int = 6
    mongo_patients: int = 20  # (m): one hospital, 50 obs a patient (nx-27017 slows as it grows)
    rest_patients: int = 200  # (r): one REST-only hospital, 20 obs a patient
    face_obs: int = 100_000  # (p): obs in the district passport its FHIR face serves
    parts: tuple[str, ...] = tuple(ALL_PARTS)
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
            cost_patients=10,
            cost_new_obs=100,
            clinical_hospitals=1,
            clinical_patients=40,
            clinical_obs_per_patient=5,
            mongo_patients=4,
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


def _skippable(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A part that needs something the machine may lack (mariadbd, nx-27017): its failure is
    printed as skipped, and its targets then read ``not measured``."""
    try:
        return _phase(name, args)
    except RuntimeError as exc:
        return {"skipped": str(exc).splitlines()[-1][:300]}


def _backfill(plan: BenchPlan, workdir: str) -> Any:
    return _phase(
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


def _live(plan: BenchPlan, workdir: str) -> Any:
    args = {"seconds": plan.live_seconds, "interval": plan.live_interval, "workdir": f"{workdir}/c"}
    return _phase("live", args)


def _scale(plan: BenchPlan, workdir: str) -> Any:
    return [
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
        for hospitals in plan.scale
    ]


def _mysql(plan: BenchPlan, workdir: str) -> Any:
    return _skippable("mysql", {"obs": plan.mysql_obs, "workdir": f"{workdir}/e"})


def _cost(plan: BenchPlan, workdir: str) -> Any:
    args = {"patients": plan.cost_patients, "new_obs": plan.cost_new_obs, "workdir": f"{workdir}/g"}
    return _phase("cost", args)


def _clinical(plan: BenchPlan, workdir: str) -> Any:
    args = {
        "hospitals": plan.clinical_hospitals,
        "patients": plan.clinical_patients,
        "obs_per_patient": plan.clinical_obs_per_patient,
        "workdir": f"{workdir}/k",
    }
    return _phase("clinical", args)


def _mongo(plan: BenchPlan, workdir: str) -> Any:
    return _skippable("mongo", {"patients": plan.mongo_patients})


def _rest(plan: BenchPlan, workdir: str) -> Any:
    args = {"patients": plan.rest_patients, "obs_per_patient": 20, "workdir": f"{workdir}/r"}
    return _phase("rest", args)


def _face(plan: BenchPlan, workdir: str) -> Any:
    return _phase("face", {"obs": plan.face_obs, "workdir": f"{workdir}/p"})


#: (parts that ask for it, results key, what the progress line says, runner)
_RUNNERS: tuple[tuple[str, str, str, Callable[[BenchPlan, str], Any]], ...] = (
    ("ab", "backfill", "(a)+(b) backfill", _backfill),
    ("c", "live", "(c) live latency", _live),
    ("d", "scale", "(d) scale", _scale),
    ("e", "mysql", "(e) MySQL 1.x adapter", _mysql),
    ("g", "hospital_cost", "(g) hospital cost, fhir2 path", _cost),
    ("k", "clinical", "(k) clinical types", _clinical),
    ("m", "mongo", "(m) MongoDB over the wire", _mongo),
    ("r", "rest", "(r) REST source", _rest),
    ("p", "face", "(p) passport FHIR face and chain", _face),
)


def run_bench(plan: BenchPlan, console: Console | None = None) -> dict[str, Any]:
    """Run the plan; returns every figure (also printed as one table)."""
    console = console or Console()
    workdir = tempfile.mkdtemp(prefix="sync2-bench-")
    results: dict[str, Any] = {"plan": {k: getattr(plan, k) for k in BenchPlan.__slots__}}
    try:
        for letters, key, what, runner in _RUNNERS:
            if set(letters) & set(plan.parts):
                console.print(f"[dim]bench: {what} ...[/]")
                results[key] = runner(plan, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["targets"] = verdicts(results)
    console.print(render_table(results))
    return results
