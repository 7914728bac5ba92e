"""Helpers for the clinical-type tests: drain a source, read the database's own truth."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sync2.config import SourceConfig
from sync2.sources.mysql import MySQLSource

#: The clock the tests judge order and allergy statuses at.
NOW = datetime(2024, 1, 1)


def source(dsn: str) -> MySQLSource:
    cfg = SourceConfig(id="h1", name="Hospital 1", kind="openmrs-mysql", dsn=dsn)
    return MySQLSource(cfg, today=date(2024, 1, 1), now=NOW)


def drain(
    src: MySQLSource, cursors: dict[str, Any] | None = None, prefix: str = ""
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[Any]]:
    """Every batch of the streams starting with ``prefix``: (resources by id, gone by uuid,
    failures); ``cursors`` are advanced as the engine would."""
    cursors = {} if cursors is None else cursors
    found: dict[str, dict[str, Any]] = {}
    gone: dict[str, Any] = {}
    failures: list[Any] = []
    for batch in src.batches(cursors):
        cursors[batch.stream] = batch.cursor
        if not batch.stream.startswith(prefix):
            continue
        found.update({r["id"]: r for r in batch.resources})
        gone.update({g.uuid: g for g in batch.gone})
        failures.extend(batch.failures)
    return found, gone, failures


def truth(server: Any, db: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows straight from the database (root), as dicts."""
    conn = server.root(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        conn.close()


def uuids(server: Any, db: str, table: str, key: str) -> dict[int, str]:
    return {
        int(r[key]): str(r["uuid"]) for r in truth(server, db, f"SELECT {key}, uuid FROM {table}")
    }


def iso(value: str | None) -> str | None:
    """A DBUnit datetime ('2005-01-01 00:00:00.0') as the ISO instant fhir2 writes."""
    if not value:
        return None
    return datetime.fromisoformat(value.split(".")[0]).isoformat() + "+00:00"


def voided(row: dict[str, Any]) -> bool:
    """A DBUnit boolean: ``true``/``false`` (read as 1/0) or a literal ``1``/``0``."""
    return str(row.get("voided")) in ("1", "true")
