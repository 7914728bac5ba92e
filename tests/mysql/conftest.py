"""A private MariaDB for the MySQL-source tests: started once per session, stopped at the end.

Databases: ``omrs`` (the B5 schema, 1.9+ columns) and ``omrs18`` (the same made 1.8-style),
both loaded from the OpenMRS DBUnit fixtures; ``omrs_rev`` adds the edit-chain fixture. Users:
``sync_ro`` (SELECT only) and ``sync_rw`` (can write; used to simulate the hospital and to test
the read-only check). Tests that change data get their own copy of ``omrs`` (``fresh_db``).
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest

from sync2.testing.mariadb import (
    MariaDBServer,
    MariaDBStartError,
    MariaDBUnavailable,
    create_openmrs_schema,
)
from tests.conftest import missing

RO_PASSWORD = "ro-secret-pw"
RW_PASSWORD = "rw-secret-pw"


@dataclass
class MariaDB:
    """The session's server, with the DSNs of the two test users."""

    server: MariaDBServer

    @property
    def port(self) -> int:
        return self.server.port

    def root(self, database: str | None = None) -> pymysql.connections.Connection[Any]:
        return self.server.root(database)

    def dsn(self, database: str, *, user: str = "sync_ro") -> str:
        pw = RO_PASSWORD if user == "sync_ro" else RW_PASSWORD
        return self.server.dsn(database, user=user, password=pw)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    # a throw-away server: no fsync per commit or table (durability the tests never need)
    server = MariaDBServer(
        tmp_path_factory.mktemp("mariadb"),
        extra_args=("--innodb-flush-log-at-trx-commit=0", "--skip-innodb-doublewrite"),
    )
    try:
        server.start()
    except MariaDBUnavailable as exc:
        missing(f"{exc} - MySQL tests skipped")
    except MariaDBStartError as exc:
        pytest.fail(str(exc))
    try:
        yield MariaDB(server)
    finally:
        server.stop()


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
    conn = mariadb.root()
    for db in ("omrs", "omrs18", "omrs_rev"):
        create_openmrs_schema(conn, db, legacy_18=db == "omrs18")
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
        missing(f"OpenMRS fixtures not found at {FIXTURES} (set SYNC2_FIXTURES)")
    return FIXTURES


_counter = itertools.count(1)


def dbunit_rows(path: Path, table: str) -> list[dict[str, Any]]:
    """The rows of ``table`` in a DBUnit flat-XML file, as the loader reads them."""
    return [
        {k: _value(v) for k, v in element.attrib.items()}
        for element in ET.parse(path).getroot()
        if element.tag == table
    ]


@dataclass
class Datasets:
    """Databases made of the standard dataset plus named DBUnit deltas, made once a session."""

    server: MariaDB
    dbunit: Path
    made: dict[tuple[tuple[str, ...], bool], str] = field(default_factory=dict)

    def db(self, *names: str, legacy_19: bool = False) -> str:
        """The database holding ``names`` on top of the standard dataset (1.9 schema: without
        the standard dataset's 2.x-shaped orders)."""
        key = (names, legacy_19)
        if key not in self.made:
            db = f"omrs_ds{len(self.made) + 1}"
            conn = self.server.root()
            create_openmrs_schema(conn, db, legacy_19=legacy_19)
            load_dbunit(conn, db, self.dbunit / "core_standardTestDataset.xml")
            if legacy_19:
                with conn.cursor() as cur:
                    cur.execute("DELETE FROM drug_order")
                    cur.execute("DELETE FROM orders")
            for name in names:
                load_dbunit(conn, db, self.dbunit / name)
            conn.close()
            self.made[key] = db
        return self.made[key]

    def rows(self, name: str, table: str) -> list[dict[str, Any]]:
        return dbunit_rows(self.dbunit / name, table)


@pytest.fixture(scope="session")
def datasets(openmrs: MariaDB, fixtures_dir_session: Path) -> Datasets:
    return Datasets(openmrs, fixtures_dir_session / "dbunit")


def clone(conn: Any, source: str, name: str) -> None:
    """Copy database ``source`` (tables and rows) to a new database ``name``."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"SHOW TABLES FROM `{source}`")
        for (table,) in cur.fetchall():
            cur.execute(f"CREATE TABLE `{name}`.`{table}` LIKE `{source}`.`{table}`")
            cur.execute(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{source}`.`{table}`")


@pytest.fixture
def fresh_db(openmrs: MariaDB) -> str:
    """A private copy of ``omrs`` for a test that changes data (sync_ro can read it)."""
    name = f"omrs_t{next(_counter)}"
    conn = openmrs.root()
    clone(conn, "omrs", name)
    conn.close()
    return name
