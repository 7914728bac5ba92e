"""The OpenMRS 1.x MySQL source: read-only, introspected, watermarked with an overlap window.

One pass per stream (location, provider, patient, encounter, obs, voids), keyset-paged; each
page becomes one :class:`SourceBatch` whose cursor (``watermark`` + ``boundary``, see
``sources/_window.py``) is safe to commit once the batch is stored. Every read starts an
overlap behind the watermark, so rows committed out of order or stamped by a skewed clock are
still found; rows already delivered inside the overlap are dropped by the boundary, and what
slips through twice is absorbed by the store's idempotent upserts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from ..._errors import ConfigError
from ...config import SourceConfig
from .._base import Failure, FetchResult, Gone, Source, SourceBatch
from .._window import close_window
from ._changes import (
    ChangeQuery,
    change_queries,
    obs_rows_sql,
    replacement_sql,
    replacements_sql,
)
from ._connect import DRIVER_ERRORS, MySQLTarget, connect, driver_for, mysql_errors, parse_dsn
from ._grants import write_privileges
from ._lookup import Lookup
from ._readers import RESOURCE_TYPES, STREAM_KINDS, ClinicalReader
from ._schema import Schema

log = logging.getLogger(__name__)

_TABLES = {
    "Patient": (
        "patient pa JOIN person x ON x.person_id = pa.patient_id",
        "pa.patient_id",
        "x.uuid",
    ),
    "Encounter": ("encounter x", "x.encounter_id", "x.uuid"),
    "Observation": ("obs x", "x.obs_id", "x.uuid"),
    "Location": ("location x", "x.location_id", "x.uuid"),
}


class MySQLSource(Source):
    """A hospital on OpenMRS 1.9-1.12 (or 2.x without fhir2), read straight from MySQL.

    Args:
        config: the source's configuration (``dsn``, ``require_read_only``, ``tls_ca``).
        locale: the locale concept names are chosen in (``en``, ``en_GB``, ``fr``...).
        default_locale: the fallback locale, as OpenMRS's ``locale.default``.
        page_size: rows per keyset page (one batch each).
        id_overlap: how many obs ids behind the watermark each read starts.
        time_overlap: how many seconds behind the watermark each timed read starts.
        today: the date birth-date precision is judged against (tests pin it).
        now: the time order and allergy statuses are judged against (naive UTC; tests pin it).
        driver: ``mysqlclient`` or ``pymysql``; by default the C driver when it is installed
            and the connection is not TLS (see ``_connect``).
    """

    def __init__(
        self,
        config: SourceConfig,
        *,
        locale: str = "en",
        default_locale: str = "en",
        page_size: int = 500,
        id_overlap: int = 1000,
        time_overlap: int = 600,
        today: date | None = None,
        now: datetime | None = None,
        driver: str | None = None,
    ) -> None:
        if config.dsn is None:
            msg = f"sources[{config.id}]: dsn is required for kind = 'openmrs-mysql'"
            raise ConfigError(msg)
        self.config = config
        self.id = config.id
        self.name = config.name
        self.target: MySQLTarget = parse_dsn(config.dsn.get_secret_value(), tls_ca=config.tls_ca)
        self.driver = driver_for(self.target, driver)
        self.locale = locale
        self.default_locale = default_locale
        self.page_size = page_size
        self.id_overlap = id_overlap
        self.time_overlap = time_overlap
        self._today = today
        self._now = now
        self._clinical: ClinicalReader | None = None
        self._conns: dict[int, Any] = {}  # thread -> its own connection (see concurrent_reads)
        self._guard = threading.RLock()
        self._checked = False
        self._lookup: Lookup | None = None
        self.write_privileges: list[str] = []

    #: The engine reads the next page in one thread while it stores the current one and looks
    #: up patients and encounters in another: each thread has its own connection, so the
    #: server's work and the wire overlap the engine's (a DB-API connection is not shared).
    concurrent_reads = True

    # -- connection ------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[dict[str, Any]]:
        conn = self._connect()
        with mysql_errors(self.target, "reading"), conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _connect(self) -> Any:
        thread = threading.get_ident()
        conn = self._conns.get(thread)
        if conn is None:
            conn = connect(self.target, self.driver)
            with self._guard:
                self._conns[thread] = conn
                if not self._checked:  # once per source: the user is the same on every one
                    try:
                        self._check_grants()
                    except BaseException:
                        self.close()
                        raise
                    self._checked = True
        return conn

    def _check_grants(self) -> None:
        """Warn loudly (or refuse) when the user could write; never issues a write itself."""
        grants = [str(next(iter(r.values()))) for r in self._query("SHOW GRANTS", [])]
        self.write_privileges = write_privileges(grants, self.target.database)
        if not self.write_privileges:
            return
        privs = ", ".join(self.write_privileges)
        if self.config.require_read_only:
            msg = (
                f"sources[{self.id}]: MySQL user {self.target.user!r} on {self.target.where} "
                f"can write ({privs}) and require_read_only = true; grant it SELECT only"
            )
            raise ConfigError(msg)
        log.warning(
            "!!! sources[%s]: MySQL user %r on %s CAN WRITE (%s). sync2 only reads, but give "
            "it SELECT only, or set require_read_only = true to refuse such users. !!!",
            self.id,
            self.target.user,
            self.target.where,
            privs,
        )

    def lookup(self) -> Lookup:
        """The batched look-ups, built once the schema has been introspected."""
        with self._guard:
            if self._lookup is None:
                self._lookup = self._new_lookup()
            return self._lookup

    def _new_lookup(self) -> Lookup:
        """Introspect the schema (the caller holds the guard: built once, by one thread)."""
        schema = Schema.from_rows(
            self._query(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE()",
                [],
            )
        )
        if not schema.has("obs") or not schema.has("patient"):
            msg = f"MySQL {self.target.where} has no obs/patient tables: not an OpenMRS database"
            raise ConfigError(msg)
        today = self._today or datetime.now(UTC).date()
        return Lookup(
            self._query,
            schema,
            locale=self.locale,
            default_locale=self.default_locale,
            today=today,
        )

    def clinical(self) -> ClinicalReader:
        """The clinical kinds' reader; statuses are judged at the time it is first built."""
        if self._clinical is None:
            now = self._now or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            self._clinical = ClinicalReader(self.lookup(), now)
        return self._clinical

    def close(self) -> None:
        with self._guard:
            conns, self._conns = list(self._conns.values()), {}
            self._checked = False
            self._lookup = None
            self._clinical = None
        for conn in conns:
            with contextlib.suppress(*DRIVER_ERRORS):
                conn.close()

    # -- changes ---------------------------------------------------------------------------
    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        lookup = self.lookup()
        if self._now is None:
            self._clinical = None  # statuses are judged anew on every pass
        notes = (
            [
                f"MySQL user {self.target.user!r} on {self.target.where} can write "
                f"({', '.join(self.write_privileges)}); sync2 only reads"
            ]
            if self.write_privileges
            else []
        )
        for change in change_queries(lookup.schema):
            for batch in self._stream(change, cursors.get(change.stream) or {}):
                if notes:
                    batch.notes.extend(notes)
                    notes = []
                yield batch

    def _stream(self, change: ChangeQuery, cursor: dict[str, Any]) -> Iterator[SourceBatch]:
        watermark = cursor.get("watermark")
        boundary = {str(k): int(v) for k, v in (cursor.get("boundary") or {}).items()}
        overlap = self.time_overlap if change.by_time else self.id_overlap
        lower = max(0, int(watermark) - overlap) if watermark is not None else 0
        last_mark, last_pk = lower, -1
        while True:
            rows = self._query(
                change.sql,
                {
                    "lower": lower,
                    "last_mark": last_mark,
                    "last_pk": last_pk,
                    "limit": self.page_size,
                },
            )
            keyed = {
                (f"{r['pk']}@{r['mark']}" if change.versioned else str(r["pk"])): r for r in rows
            }
            result = close_window(
                [(k, int(r["mark"])) for k, r in keyed.items()], watermark, boundary, overlap
            )
            kept = [keyed[k] for k, _ in result.kept]
            pks = [int(r["pk"]) for r in kept]
            batch = SourceBatch(
                stream=change.stream,
                cursor={"watermark": result.watermark, "boundary": result.boundary},
            )
            if pks and change.full_rows:
                self._fill_obs(kept, batch)
            elif pks:
                self._fill(change.stream, pks, batch)
            if pks or result.watermark != watermark or result.boundary != boundary:
                yield batch
            watermark, boundary = result.watermark, result.boundary
            if len(rows) < self.page_size:
                return
            last_mark, last_pk = int(rows[-1]["mark"]), int(rows[-1]["pk"])

    def _fill(self, stream: str, pks: list[int], batch: SourceBatch) -> None:
        lookup = self.lookup()
        if stream == "mysql:location":
            batch.resources = lookup.locations(pks)
        elif stream == "mysql:provider":
            batch.resources = lookup.providers(pks)
        elif stream == "mysql:patient":
            batch.resources, batch.gone = lookup.patients(pks)
        elif stream == "mysql:encounter":
            batch.resources, batch.gone = lookup.encounters(pks)
        elif stream == "mysql:obs":
            self._fill_obs(self._obs_rows("o.obs_id IN ({ids})", pks), batch)
        elif stream in STREAM_KINDS:
            batch.resources, batch.gone = self.clinical().by_ids(STREAM_KINDS[stream], pks)
        elif stream == "mysql:voids":
            batch.gone.extend(self._voids(pks))

    def _voids(self, pks: list[int]) -> list[Gone]:
        """The voided obs, each with the uuid of the row that replaced it (an edit), if any."""
        lookup = self.lookup()
        sql = replacements_sql(lookup.schema)
        if sql is None:  # before 1.9: paired by value, one look-up per row
            rows = lookup.select_in(replacement_sql(lookup.schema), pks)
        else:
            replaced_by: dict[int, str] = {}
            for row in lookup.select_in(sql, pks):
                replaced_by.setdefault(int(row["previous_version"]), str(row["uuid"]))
            rows = [
                {**row, "replaced_by": replaced_by.get(int(row["obs_id"]))}
                for row in lookup.select_in(
                    "SELECT o.obs_id, o.uuid FROM obs o WHERE o.obs_id IN ({ids}) "
                    "ORDER BY o.obs_id",
                    pks,
                )
            ]
        return [
            Gone("Observation", str(row["uuid"]), "voided", replaced_by=row.get("replaced_by"))
            for row in rows
        ]

    def _obs_rows(self, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        lookup = self.lookup()
        return lookup.select_in(obs_rows_sql(lookup.schema, where), ids)

    def _fill_obs(self, rows: list[dict[str, Any]], batch: SourceBatch) -> None:
        batch.resources = self.lookup().observations(rows)
        built = {r["id"] for r in batch.resources}
        for row in rows:
            if row.get("previous_uuid"):
                batch.gone.append(
                    Gone(
                        "Observation",
                        str(row["previous_uuid"]),
                        "voided",
                        replaced_by=str(row["uuid"]),
                    )
                )
            if not _voided(row) and str(row["uuid"]) not in built:
                batch.failures.append(
                    Failure(
                        error=f"obs {row['obs_id']}: concept {row['concept_id']} not found",
                        resource_type="Observation",
                        uuid=str(row["uuid"]),
                        payload_ref=f"obs/{row['obs_id']}",
                    )
                )

    # -- point look-ups --------------------------------------------------------------------
    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        wanted = sorted(set(uuids))
        result = FetchResult()
        if not wanted:
            return result
        lookup = self.lookup()
        if resource_type == "Practitioner":
            resources = self._fetch_practitioners(wanted)
        elif resource_type in RESOURCE_TYPES.values():
            resources, gone = self.clinical().by_uuids(resource_type, wanted)
            result.gone.extend(gone)
        elif resource_type in _TABLES:
            table, pk, uuid = _TABLES[resource_type]
            ids = [
                int(r["pk"])
                for r in lookup.select_in(
                    f"SELECT {pk} AS pk FROM {table} WHERE {uuid} IN ({{ids}})", wanted
                )
            ]
            gone: list[Gone] = []
            if resource_type == "Patient":
                resources, gone = lookup.patients(ids)
            elif resource_type == "Encounter":
                resources, gone = lookup.encounters(ids)
            elif resource_type == "Observation":
                rows = self._obs_rows("o.obs_id IN ({ids})", ids)
                resources = lookup.observations(rows)
                gone = [Gone("Observation", str(r["uuid"]), "voided") for r in rows if _voided(r)]
            else:
                resources = lookup.locations(ids)
            result.gone.extend(gone)
        else:
            msg = f"sources[{self.id}]: the MySQL source does not serve {resource_type}"
            raise ConfigError(msg)
        result.found = {str(r["id"]): r for r in resources}
        known = set(result.found) | {g.uuid for g in result.gone}
        result.gone.extend(Gone(resource_type, u, "deleted") for u in wanted if u not in known)
        return result

    def _fetch_practitioners(self, uuids: list[str]) -> list[dict[str, Any]]:
        lookup = self.lookup()
        if lookup.schema.providers:
            ids = [
                int(r["provider_id"])
                for r in lookup.select_in(
                    "SELECT provider_id FROM provider WHERE uuid IN ({ids})", uuids
                )
            ]
        else:  # 1.8: 'prov' + the person uuid's tail (see legacy_provider_uuid)
            ids = [
                int(r["person_id"])
                for r in lookup.select_in(
                    "SELECT person_id FROM person "
                    "WHERE CONCAT('prov', SUBSTRING(uuid, 5)) IN ({ids})",
                    uuids,
                )
            ]
        return lookup.providers(ids)

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        lookup = self.lookup()
        found = self.fetch("Patient", [patient_uuid]).found
        if not found:
            return
        yield from found.values()
        pid_rows = self._query("SELECT person_id FROM person WHERE uuid = %s", [patient_uuid])
        pid = int(pid_rows[0]["person_id"])
        last = -1
        while True:
            ids = [
                int(r["encounter_id"])
                for r in self._query(
                    "SELECT encounter_id FROM encounter WHERE patient_id = %s AND voided = 0 "
                    "AND encounter_id > %s ORDER BY encounter_id LIMIT %s",
                    [pid, last, self.page_size],
                )
            ]
            if ids:
                yield from lookup.encounters(ids)[0]
            if len(ids) < self.page_size:
                break
            last = ids[-1]
        last = -1
        while True:
            rows = self._query(
                "SELECT obs_id FROM obs WHERE person_id = %s AND voided = 0 AND obs_id > %s "
                "ORDER BY obs_id LIMIT %s",
                [pid, last, self.page_size],
            )
            ids = [int(r["obs_id"]) for r in rows]
            if ids:
                yield from lookup.observations(self._obs_rows("o.obs_id IN ({ids})", ids))
            if len(ids) < self.page_size:
                break
            last = ids[-1]
        yield from self.clinical().for_patient(pid)

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        ids = [
            int(r["patient_id"])
            for r in self._query(
                "SELECT DISTINCT patient_id FROM patient_identifier WHERE identifier = %s "
                "AND voided = 0",
                [identifier],
            )
        ]
        return self.lookup().patients(ids)[0] if ids else []


def _voided(row: dict[str, Any]) -> bool:
    value = row.get("voided")
    if isinstance(value, bytes | bytearray):
        return any(value)
    return bool(value)
