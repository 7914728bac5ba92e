"""``sync2 sync-record`` takes a uuid-like id only (the admin API's rule), checked up front."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sync2.cli import app


def _config_file(tmp_path: Path, store_url: str, server: Any) -> Path:
    path = tmp_path / "sync2.toml"
    h = server.hospital
    path.write_text(
        f'[passport]\nstore = "{store_url}"\n'
        f'[[sources]]\nid = "{h.id}"\nname = "{h.name}"\nbase_url = "{server.url}"\n'
        f'username = "{server.username}"\npassword = "{server.password}"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)  # it holds the simulator's password
    return path


#: Ids the admin API answers 422 for: a path, one character too long, a leading dash, a space,
#: a query string, nothing.
NOT_UUID_LIKE = ["../../ws/rest/v1/user", "a" * 39, "-leading-dash", "white space", "u?q=1", ""]


def test_sync_record_refuses_an_id_that_is_not_uuid_like(
    servers: list[Any], make_passport: Any, tmp_path: Path
) -> None:
    config, store, _pipeline = make_passport(servers[:1])
    path = _config_file(tmp_path, config.passport.store, servers[0])
    source = servers[0].hospital.id
    for bad in NOT_UUID_LIKE:
        args = ["sync-record", "-s", source, "-t", "Observation", "-c", str(path), "--", bad]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (bad, result.output)
        assert repr(bad) in result.output and "uuid-like" in result.output, result.output
    assert store.list_audit(kind="manual") == []  # nothing was fetched or written


def test_sync_record_brings_in_one_record_by_its_uuid(
    servers: list[Any], make_passport: Any, tmp_path: Path
) -> None:
    config, store, _pipeline = make_passport(servers[:1])
    hospital = servers[0].hospital
    patient = hospital.patients.rows[0].uuid
    obs = hospital.add_observation(patient, "weight", 64)
    path = _config_file(tmp_path, config.passport.store, servers[0])
    args = ["sync-record", obs, "-s", hospital.id, "-t", "Observation", "--json", "-c", str(path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["source"] == hospital.id and summary["ok"] is True
    assert summary["written"] >= 1
    # the passport was empty: the one observation it now holds is the one the command named
    assert [d["uuid"] for d in store.find_records(hospital.id, "Observation")] == [obs]
