"""The private MariaDB launcher, the packaged OpenMRS schema and the synthetic hospital."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from sync2.bench import _mysql
from sync2.testing import mariadb
from sync2.testing.mariadb import (
    MariaDBServer,
    MariaDBUnavailable,
    create_openmrs_schema,
    schema_statements,
)
from sync2.testing.openmrs_data import HospitalPlan, write_hospital
from tests.conftest import missing


def test_packaged_schema_is_found_and_split() -> None:
    statements = schema_statements("openmrs_schema.sql")
    tables = {s.split()[2] for s in statements if s.upper().startswith("CREATE TABLE")}
    assert {"obs", "patient", "concept_reference_map", "encounter_provider"} <= tables
    assert not any("--" in s for s in statements)
    assert any(s.startswith("RENAME TABLE") for s in schema_statements("openmrs_18.sql"))


def test_missing_binaries_raise_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mariadb, "find_binaries", lambda: None)
    with pytest.raises(MariaDBUnavailable, match="mariadbd"):
        MariaDBServer().start()


def test_bench_part_reports_a_missing_server_as_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(mariadb, "find_binaries", lambda: None)
    with pytest.raises(RuntimeError, match="skipped: mariadbd"):
        _mysql.mysql_phase({"obs": 100, "workdir": str(tmp_path)})


@pytest.fixture(scope="module")
def server() -> Iterator[MariaDBServer]:
    if mariadb.find_binaries() is None:
        missing("mariadbd not installed")
    with MariaDBServer() as srv:
        yield srv


def _scalar(conn: Any, sql: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def test_server_stops_and_cleans_up() -> None:
    if mariadb.find_binaries() is None:
        missing("mariadbd not installed")
    with MariaDBServer() as srv:
        assert srv.running
        base, port = srv.base_dir, srv.port
        assert base is not None and base.is_dir()
        conn = srv.root()
        assert _scalar(conn, "SELECT 1") == 1
        conn.close()
    assert not srv.running
    assert not base.exists()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_legacy_schema_has_18_tables(server: MariaDBServer) -> None:
    conn = server.root()
    create_openmrs_schema(conn, "legacy18", legacy_18=True)
    tables = {r[0] for r in _rows(conn, "SHOW TABLES")}
    conn.close()
    assert "concept_map" in tables and "concept_source" in tables
    assert "provider" not in tables and "concept_reference_map" not in tables


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_synthetic_hospital_counts(server: MariaDBServer) -> None:
    conn = server.root()
    create_openmrs_schema(conn, "hosp")
    totals = write_hospital(conn, "hosp", HospitalPlan(obs=230, edits=3, voids=2, seed=5))
    assert (totals.obs_rows, totals.edits, totals.voids, totals.valid_obs) == (230, 3, 2, 225)
    assert _scalar(conn, "SELECT COUNT(*) FROM obs") == 230
    assert _scalar(conn, "SELECT COUNT(*) FROM obs WHERE voided = 0") == totals.valid_obs
    # each edit points at a voided row of the same concept and patient
    assert _rows(
        conn,
        "SELECT COUNT(*), SUM(o.voided), SUM(o.concept_id = n.concept_id AND "
        "o.person_id = n.person_id) FROM obs n JOIN obs o ON o.obs_id = n.previous_version",
    )[0] == (3, 3, 3)
    assert _scalar(conn, "SELECT COUNT(*) FROM patient") == totals.patients
    assert (
        _scalar(
            conn,
            "SELECT COUNT(DISTINCT i.patient_id) FROM patient_identifier i "
            "JOIN patient_identifier_type t ON t.patient_identifier_type_id = i.identifier_type "
            "WHERE t.name = 'National ID'",
        )
        == totals.patients
    )
    assert _scalar(conn, "SELECT COUNT(*) FROM encounter_provider") == totals.encounters
    assert (
        _scalar(
            conn,
            "SELECT COUNT(*) FROM concept c LEFT JOIN concept_reference_map m "
            "ON m.concept_id = c.concept_id WHERE m.concept_id IS NULL",
        )
        == 0
    )
    conn.close()
