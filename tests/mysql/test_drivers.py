"""The C driver (mysqlclient) and PyMySQL read the same hospital into the same resources.

The C driver is the fast path and PyMySQL the fallback, so every value type the fixtures hold
(DATETIME, DOUBLE, DECIMAL, TINYINT flags, TEXT, NULLs) must come out of both identically.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from sync2._errors import ConfigError

from .test_mysql_source import PATIENT_7, WEIGHT_OBS, drain, source

pytestmark = pytest.mark.mysql


def _require_c_driver() -> None:
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("mysqlclient is not installed, and CI is set (.ci/run installs it)")
        pytest.skip("mysqlclient is not installed")


def _read(dsn: str, driver: str) -> tuple[dict[str, Any], list[Any], list[Any]]:
    src = source(dsn, driver=driver)
    try:
        assert src.driver == driver
        found, gone, failures = drain(src, {})
        fetched = src.fetch("Patient", [PATIENT_7]).found
    finally:
        src.close()
    return {**found, **{f"fetched/{k}": v for k, v in fetched.items()}}, gone, failures


@pytest.mark.parametrize("db", ["omrs", "omrs18", "omrs_rev"])
def test_both_drivers_read_the_same_resources(openmrs, db):
    _require_c_driver()
    c_found, c_gone, c_failures = _read(openmrs.dsn(db), "mysqlclient")
    py_found, py_gone, py_failures = _read(openmrs.dsn(db), "pymysql")
    assert WEIGHT_OBS in py_found  # the comparison is over a real hospital, not two empties
    assert f"fetched/{PATIENT_7}" in py_found
    assert sorted(c_found) == sorted(py_found)
    for key, resource in py_found.items():
        assert c_found[key] == resource, key
    assert c_gone == py_gone
    assert [f.error for f in c_failures] == [f.error for f in py_failures]


def test_unknown_driver_is_a_config_error(openmrs):
    with pytest.raises(ConfigError, match="unknown MySQL driver 'odbc'"):
        source(openmrs.dsn("omrs"), driver="odbc")
