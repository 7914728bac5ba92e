"""SQLite failed events, parked records, conflicts, audit and leases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from ..._errors import StoreError
from .._types import (
    FAILED_OPEN_STATES,
    AuditEntry,
    Conflict,
    FailedEvent,
    ParkedRecord,
    now_ts,
)
from ._conn import SQLiteBase, _record_from_dict


class SQLiteQueues(SQLiteBase):
    """The work queues, the audit log and the leases."""

    # -- failed events ---------------------------------------------------------------------
    def list_failed(
        self, *, states: Iterable[str] | None = None, source: str | None = None, limit: int = 1000
    ) -> list[FailedEvent]:
        sql = "SELECT * FROM failed_events WHERE 1=1"
        params: list[Any] = []
        if states is not None:
            states = list(states)
            sql += f" AND state IN ({','.join('?' * len(states))})"
            params.extend(states)
        if source is not None:
            sql += " AND source=?"
            params.append(source)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [self._failed_from_row(r) for r in self._query(sql, params)]

    def get_failed(self, failed_id: int) -> FailedEvent | None:
        rows = self._query("SELECT * FROM failed_events WHERE id=?", (failed_id,))
        return self._failed_from_row(rows[0]) if rows else None

    @staticmethod
    def _failed_from_row(row: tuple[Any, ...]) -> FailedEvent:
        (
            fid,
            source,
            stream,
            rtype,
            uuid,
            action,
            error,
            ref,
            position,
            payload,
            attempts,
            state,
            next_at,
            created,
            updated,
        ) = row
        return FailedEvent(
            id=fid,
            source=source,
            stream=stream,
            resource_type=rtype,
            uuid=uuid,
            action=action,
            error=error,
            payload_ref=ref,
            position=orjson.loads(position),
            payload=payload,
            attempts=attempts,
            state=state,
            next_attempt_at=next_at,
            created_at=created,
            updated_at=updated,
        )

    def update_failed(self, event: FailedEvent) -> None:
        if event.id is None:
            msg = "update_failed needs a stored failed event (id is None)"
            raise StoreError(msg)
        with self._transaction() as conn:
            conn.execute(
                "UPDATE failed_events SET error=?, attempts=?, state=?, next_attempt_at=?, "
                "updated_at=? WHERE id=?",
                (
                    event.error,
                    event.attempts,
                    event.state,
                    event.next_attempt_at,
                    now_ts(),
                    event.id,
                ),
            )

    def open_failed_keys(self, source: str) -> set[tuple[str, str]]:
        marks = ",".join("?" * len(FAILED_OPEN_STATES))
        rows = self._query(
            f"SELECT DISTINCT resource_type, uuid FROM failed_events WHERE source=? AND "
            f"state IN ({marks}) AND resource_type IS NOT NULL AND uuid IS NOT NULL",
            (source, *FAILED_OPEN_STATES),
        )
        return {(t, u) for t, u in rows}

    # -- parked ----------------------------------------------------------------------------
    def list_parked(self, limit: int = 1000) -> list[ParkedRecord]:
        rows = self._query(
            "SELECT national_id, doc FROM parked ORDER BY created_at LIMIT ?", (limit,)
        )
        return [ParkedRecord(nid, _record_from_dict(orjson.loads(doc))) for nid, doc in rows]

    def parked_per_source(self) -> dict[str, int]:
        rows = self._query("SELECT source, COUNT(*) FROM parked GROUP BY source")
        return {source: count for source, count in rows}

    # -- conflicts -------------------------------------------------------------------------
    def list_conflicts(self, *, state: str | None = "open") -> list[Conflict]:
        if state is None:
            rows = self._query("SELECT * FROM conflicts ORDER BY id")
        else:
            rows = self._query("SELECT * FROM conflicts WHERE state=? ORDER BY id", (state,))
        return [self._conflict_from_row(r) for r in rows]

    def get_conflict(self, conflict_id: int) -> Conflict | None:
        rows = self._query("SELECT * FROM conflicts WHERE id=?", (conflict_id,))
        return self._conflict_from_row(rows[0]) if rows else None

    @staticmethod
    def _conflict_from_row(row: tuple[Any, ...]) -> Conflict:
        (cid, source, rtype, uuid, base, passport, incoming, reason, state, resolution, created) = (
            row
        )
        return Conflict(
            id=cid,
            source=source,
            resource_type=rtype,
            uuid=uuid,
            base=orjson.loads(base) if base else None,
            passport=orjson.loads(passport),
            incoming=orjson.loads(incoming),
            reason=reason,
            state=state,
            resolution=resolution,
            created_at=created,
        )

    def close_conflict(self, conflict_id: int, resolution: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE conflicts SET state='resolved', resolution=? WHERE id=?",
                (resolution, conflict_id),
            )

    # -- audit -----------------------------------------------------------------------------
    def list_audit(
        self, *, limit: int = 100, kind: str | None = None, source: str | None = None
    ) -> list[AuditEntry]:
        sql = "SELECT ts, kind, source, actor, message, details FROM auditlogs WHERE 1=1"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind=?"
            params.append(kind)
        if source is not None:
            sql += " AND source=?"
            params.append(source)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [
            AuditEntry(ts=ts, kind=k, source=s, actor=a, message=m, details=orjson.loads(d))
            for ts, k, s, a, m, d in self._query(sql, params)
        ]

    def prune_audit(self, older_than: float) -> int:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM auditlogs WHERE ts < ?", (older_than,)).rowcount

    # -- leases ----------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take ``name`` if free, expired or ours; BEGIN IMMEDIATE makes check-and-set atomic."""
        now = now_ts()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT owner, expires_at FROM leases WHERE name=?", (name,)
            ).fetchone()
            if row is not None and row[0] != owner and row[1] >= now:
                return False
            conn.execute(
                "INSERT INTO leases (name, owner, expires_at) VALUES (?,?,?) ON CONFLICT(name) "
                "DO UPDATE SET owner=excluded.owner, expires_at=excluded.expires_at",
                (name, owner, now + ttl_seconds),
            )
        return True

    def renew_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend a lease we still hold; an expired one is lost (someone may have taken it)."""
        now = now_ts()
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires_at=? WHERE name=? AND owner=? AND expires_at>=?",
                (now + ttl_seconds, name, owner, now),
            )
            return cur.rowcount == 1

    def release_lease(self, name: str, owner: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM leases WHERE name=? AND owner=?", (name, owner))
