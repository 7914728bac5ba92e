"""``sync2 passport show``: group members under their group, the amended value in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sync2.cli import app
from sync2.demo import _most_shared_patient


def _config_file(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "show.toml"
    path.write_text(f'[passport]\nstore = "{store_url}"\n', encoding="utf-8")
    return path


def test_passport_show_groups_and_amendments(
    servers: list[Any], make_passport: Any, tmp_path: Path
) -> None:
    config, _store, pipeline = make_passport(servers)
    nid, uuids = _most_shared_patient(servers)
    assert len(uuids) == 3, "a shared patient is registered at all three hospitals"
    hospital = servers[0].hospital
    patient_uuid = uuids[hospital.id]
    group = hospital.add_observation(patient_uuid, "blood_pressure", (120, 80))
    weight = hospital.add_observation(patient_uuid, "weight", 70)
    pipeline.sync_all()
    amended = hospital.amend_observation(weight, 71)
    pipeline.sync_all()

    runner = CliRunner()
    path = _config_file(tmp_path, config.passport.store)
    shown = runner.invoke(app, ["passport", "show", nid, "--json", "-c", str(path)])
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.output)
    assert view["national_id"] == nid
    assert view["hospitals"] == sorted(uuids)
    by_uuid = {r["uuid"]: r for r in view["records"]}
    assert {r["source"] for r in view["records"]} == set(uuids)
    members = by_uuid[group]["members"]
    assert sorted(m["value"] for m in members) == ["120", "80"]
    member_uuids = {m["uuid"] for m in members}
    assert not member_uuids & set(by_uuid), "members are shown under their group, not beside it"
    assert by_uuid[amended]["value"] == "71"
    assert weight not in by_uuid, "the amended value replaces the old one"
    with_all = runner.invoke(app, ["passport", "show", nid, "--json", "--all", "-c", str(path)])
    old = {r["uuid"]: r for r in json.loads(with_all.output)["records"]}[weight]
    assert old["status"] == "superseded"

    text = runner.invoke(app, ["passport", "show", nid, "-c", str(path)])
    assert text.exit_code == 0
    assert "    └ " in text.output and "71 kg" in text.output
