"""A private MariaDB for the MySQL-source tests: started once per session, stopped at the end.

Databases: ``omrs`` (the B5 schema, 1.9+ columns) and ``omrs18`` (the same made 1.8-style),
both loaded from the OpenMRS DBUnit fixtures; ``omrs_rev`` adds the edit-chain fixture. Users:
``sync_ro`` (SELECT only) and ``sync_rw`` (can write; used to simulate the hospital and to test
the read-only check). Tests that change data get their own copy of ``omrs`` (``fresh_db``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

HERE = Path(__file__).parent
RO_PASSWORD = "ro-secret-pw"
RW_PASSWORD = "rw-secret-pw"


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MariaDB:
    port: int

    def root(self, database: str | None = None) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            autocommit=True,
            charset="utf8mb4",
        )

    def dsn(self, database: str, *, user: str = "sync_ro") -> str:
        pw = RO_PASSWORD if user == "sync_ro" else RW_PASSWORD
        return f"mysql://{user}:{pw}@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    server, install = _binary("mariadbd") or _binary("mysqld"), _binary("mariadb-install-db")
    if not server or not install:
        if os.environ.get("CI"):
            pytest.fail("mariadbd / mariadb-install-db not found, and CI is set")
        pytest.skip("mariadbd not installed (apt-get install mariadb-server) - MySQL tests skipped")
    base = tmp_path_factory.mktemp("mariadb")
    data = base / "data"
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={base}/sock",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-networking=0",
            "--user=root",
            "--skip-log-bin",
            f"--pid-file={base}/pid",
            f"--log-error={base}/err.log",
            "--innodb-buffer-pool-size=16M",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = MariaDB(port)
    deadline = time.monotonic() + 30
    while True:
        try:
            db.root().close()
            break
        except pymysql.err.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"mariadbd did not start: {(base / 'err.log').read_text()[-2000:]}")
            time.sleep(0.1)
    try:
        yield db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _statements(sql: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _columns(cur: Any, database: str) -> dict[str, set[str]]:
    cur.execute(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s",
        [database],
    )
    out: dict[str, set[str]] = {}
    for table, column in cur.fetchall():
        out.setdefault(table, set()).add(column)
    return out


def _value(raw: str) -> Any:
    if raw == "[NULL]":
        return None
    if raw in ("true", "false"):
        return 1 if raw == "true" else 0
    return raw


def load_dbunit(conn: Any, database: str, path: Path) -> int:
    """Load a DBUnit flat-XML file with REFRESH semantics (REPLACE), only known tables/columns."""
    loaded = 0
    with conn.cursor() as cur:
        cur.execute(f"USE `{database}`")
        cur.execute("SET SESSION sql_mode = ''")  # real fixtures hold odd dates and defaults
        known = _columns(cur, database)
        for element in ET.parse(path).getroot():
            table = element.tag if isinstance(element.tag, str) else ""
            if table not in known:
                continue
            cols = [c for c in element.attrib if c in known[table]]
            if not cols:
                continue
            cur.execute(
                f"REPLACE INTO `{table}` ({', '.join(cols)}) "
                f"VALUES ({', '.join(['%s'] * len(cols))})",
                [_value(element.attrib[c]) for c in cols],
            )
            loaded += 1
    return loaded


@pytest.fixture(scope="session")
def openmrs(mariadb: MariaDB, fixtures_dir_session: Path) -> MariaDB:
    dbunit = fixtures_dir_session / "dbunit"
    schema = (HERE / "openmrs_schema.sql").read_text()
    conn = mariadb.root()
    with conn.cursor() as cur:
        for db in ("omrs", "omrs18", "omrs_rev"):
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{db}`")
            for stmt in _statements(schema):
                cur.execute(stmt)
        cur.execute("USE omrs18")
        for stmt in _statements((HERE / "openmrs_18.sql").read_text()):
            cur.execute(stmt)
    standard = dbunit / "core_standardTestDataset.xml"
    for db in ("omrs", "omrs18", "omrs_rev"):
        load_dbunit(conn, db, standard)
    load_dbunit(conn, "omrs", dbunit / "fhir2_FhirObservationDaoImplTest_initial_data_2.1.xml")
    load_dbunit(conn, "omrs_rev", dbunit / "core_ObsServiceTest-RevisionObs.xml")
    with conn.cursor() as cur:  # what the 1.9 upgrade migrated, put back the 1.8 way
        cur.execute(
            "INSERT INTO omrs18.concept_map "
            "(source, source_code, creator, date_created, concept_id, uuid) "
            "SELECT t.concept_source_id, t.code, m.creator, m.date_created, m.concept_id, m.uuid "
            "FROM omrs_rev.concept_reference_map m JOIN omrs_rev.concept_reference_term t "
            "ON t.concept_reference_term_id = m.concept_reference_term_id"
        )
        cur.execute(
            "INSERT INTO omrs18.concept_source SELECT * FROM omrs_rev.concept_reference_source"
        )
        cur.execute(
            "UPDATE omrs18.encounter e JOIN omrs.encounter_provider ep "
            "ON ep.encounter_id = e.encounter_id JOIN omrs.provider p "
            "ON p.provider_id = ep.provider_id SET e.provider_id = p.person_id"
        )
        cur.execute(f"CREATE USER 'sync_ro'@'%' IDENTIFIED BY '{RO_PASSWORD}'")
        cur.execute(f"CREATE USER 'sync_rw'@'%' IDENTIFIED BY '{RW_PASSWORD}'")
        cur.execute("GRANT SELECT ON `omrs%`.* TO 'sync_ro'@'%'")
        cur.execute("GRANT ALL PRIVILEGES ON `omrs%`.* TO 'sync_rw'@'%'")
    conn.close()
    return mariadb


@pytest.fixture(scope="session")
def fixtures_dir_session() -> Path:
    from tests.conftest import FIXTURES

    if not FIXTURES.is_dir():
        pytest.skip(f"OpenMRS fixtures not found at {FIXTURES} (set SYNC2_FIXTURES)")
    return FIXTURES


_counter = itertools.count(1)


@pytest.fixture
def fresh_db(openmrs: MariaDB) -> str:
    """A private copy of ``omrs`` for a test that changes data (sync_ro can read it)."""
    name = f"omrs_t{next(_counter)}"
    conn = openmrs.root()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute("SHOW TABLES FROM omrs")
        for (table,) in cur.fetchall():
            cur.execute(f"CREATE TABLE `{name}`.`{table}` LIKE omrs.`{table}`")
            cur.execute(f"INSERT INTO `{name}`.`{table}` SELECT * FROM omrs.`{table}`")
    conn.close()
    return name
