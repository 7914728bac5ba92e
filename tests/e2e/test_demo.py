"""The README's demo command: it finishes and prints a timeline from more than one hospital."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from sync2.cli import app

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d  (?P<hospital>[A-Z][a-z]+ Hospital)  ")


def test_demo_prints_a_timeline_from_several_hospitals(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(
        app, ["demo", "--store", store, "--patients", "6", "--obs-per-patient", "5"]
    )
    assert result.exit_code == 0, result.output
    hospitals = {m["hospital"] for line in result.output.splitlines() if (m := LINE.match(line))}
    assert len(hospitals) >= 2, result.output
    assert "records written from 3 hospitals" in result.output


def test_demo_live_shows_new_observations_arrive(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--store",
            store,
            "--hospitals",
            "2",
            "--patients",
            "4",
            "--obs-per-patient",
            "3",
            "--live",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    arrived = [line for line in result.output.splitlines() if line.startswith("  + ")]
    assert arrived, result.output
    assert re.search(r"live: \d+ new records, median lag \d+\.\d+s", result.output)
