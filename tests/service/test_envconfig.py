"""The Patient Passport's environment variables, read as a sync2 config."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync2 import ConfigError
from sync2.service import config_from_env, load_service_config
from sync2.sources.mysql._connect import parse_dsn

PASSPORT_ENV = {
    "OPENMRS_AUTO_START_SYNC": "true",
    "OPENMRS_SYNC_INTERVAL": "5",
    "OPENMRS_MAX_RECORDS": "1000",
    "HOSPITAL_1_ENABLED": "true",
    "HOSPITAL_1_ID": "673b1a2b3c4d5e6f7a8b9c0d",
    "HOSPITAL_1_NAME": "Central Hospital",
    "HOSPITAL_1_DB_HOST": "192.168.1.10",
    "HOSPITAL_1_DB_PORT": "3307",
    "HOSPITAL_1_DB_NAME": "openmrs",
    "HOSPITAL_1_DB_USER": "passport_sync",
    "HOSPITAL_1_DB_PASSWORD": "p@ss:w/rd${x}",
    "HOSPITAL_2_NAME": "District Hospital",
    "HOSPITAL_2_DB_HOST": "192.168.1.20",
    "HOSPITAL_2_ENABLED": "false",
}


def test_passport_variables_become_mysql_sources() -> None:
    config = config_from_env(PASSPORT_ENV)
    first, second = config.sources
    assert (first.id, first.name, first.kind, first.enabled) == (
        "hospital-1",
        "Central Hospital",
        "openmrs-mysql",
        True,
    )
    assert first.interval_seconds == 300.0
    assert first.dsn is not None
    target = parse_dsn(first.dsn.get_secret_value())
    assert (target.host, target.port, target.database) == ("192.168.1.10", 3307, "openmrs")
    assert (target.user, target.password) == ("passport_sync", "p@ss:w/rd${x}")
    assert second.enabled is False
    assert second.dsn is not None
    defaults = parse_dsn(second.dsn.get_secret_value())
    assert (defaults.port, defaults.database, defaults.user) == (
        3306,
        "openmrs",
        "openmrs_readonly",
    )
    assert config.admin.auto_start is True


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"HOSPITAL_1_DB_HOST": ""}, "HOSPITAL_1_DB_HOST is not set"),
        ({"OPENMRS_SYNC_INTERVAL": "five"}, "OPENMRS_SYNC_INTERVAL must be an integer"),
        ({"OPENMRS_MAX_RECORDS": "0"}, "OPENMRS_MAX_RECORDS must be an integer >= 1"),
        ({"HOSPITAL_1_DB_PORT": "x"}, "HOSPITAL_1_DB_PORT must be an integer"),
    ],
)
def test_bad_variables_are_named(changes: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        config_from_env({**PASSPORT_ENV, **changes})


def test_auto_start_is_off_unless_true() -> None:
    env = {k: v for k, v in PASSPORT_ENV.items() if k != "OPENMRS_AUTO_START_SYNC"}
    assert config_from_env(env).admin.auto_start is False


def test_no_config_file_falls_back_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert [s.id for s in load_service_config(None, PASSPORT_ENV).sources] == [
        "hospital-1",
        "hospital-2",
    ]
    with pytest.raises(ConfigError, match="no config: pass --config"):
        load_service_config(None, {})
    (tmp_path / "sync2.toml").write_text(
        '[[sources]]\nid = "x"\nname = "X"\nbase_url = "http://h"\n', encoding="utf-8"
    )
    assert [s.id for s in load_service_config(None, PASSPORT_ENV).sources] == ["x"]
