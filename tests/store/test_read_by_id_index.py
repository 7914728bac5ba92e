"""A read by id (the FHIR face's ``GET Observation/{id}``) seeks the uuid index; it does not walk
every record of the type in change order (linear: 249 ms at a million records, docs/scaling.md).

The plan is SQLite's own answer (EXPLAIN QUERY PLAN) for the exact clause the store builds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync2.store import open_store
from sync2.store._changes import ChangeScan, sqlite_where


def _plan(db: Path, scan: ChangeScan) -> str:
    where, params = sqlite_where(scan, links=False)
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            f"EXPLAIN QUERY PLAN SELECT doc FROM medicalrecords WHERE {where} "
            "ORDER BY updated_at, source, resource_type, uuid",
            params,
        ).fetchall()
    finally:
        con.close()
    return " | ".join(str(r[-1]) for r in rows)


def test_a_read_by_id_seeks_the_uuid_index_and_a_type_scan_keeps_the_change_index(
    tmp_path: Path,
) -> None:
    db = tmp_path / "p.db"
    by_id = ChangeScan(resource_types=("Observation",), uuids=("x",), exclude_sources=("a",))
    with open_store(f"sqlite:///{db}") as store:
        assert store.scan_records(by_id) == []  # the first scan builds the change indexes
    assert "medicalrecords_uuid" in _plan(db, by_id)
    assert "medicalrecords_changes" in _plan(db, ChangeScan(resource_types=("Observation",)))


def test_a_sources_last_run_is_one_seek_in_the_audit(tmp_path: Path) -> None:
    """The scheduler reads a source's last successful run before each run
    (``list_audit(limit=1, kind="sync", source=...)``): without an index it walks back through
    every source's audit entries, the whole log for a source that never succeeded."""
    db = tmp_path / "p.db"
    with open_store(f"sqlite:///{db}") as store:
        assert store.list_audit(limit=1, kind="sync", source="a") == []
    con = sqlite3.connect(db)
    try:
        plan = " | ".join(
            str(r[-1])
            for r in con.execute(
                "EXPLAIN QUERY PLAN SELECT ts, kind, source, actor, message, details "
                "FROM auditlogs WHERE 1=1 AND kind=? AND source=? ORDER BY id DESC LIMIT ?",
                ("sync", "a", 1),
            )
        )
    finally:
        con.close()
    assert "auditlogs_source_kind" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
