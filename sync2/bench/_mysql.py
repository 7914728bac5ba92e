"""(e) The OpenMRS 1.x MySQL adapter: a first sync of a synthetic hospital into SQLite.

Runs in its own process (``python -m sync2.bench phase mysql ARGS``). It starts a private
MariaDB, fills it with a 1.9-style hospital of ``obs`` obs rows, and times one
``Pipeline.sync_source`` through a SELECT-only user into a fresh SQLite passport. Only the
sync is timed; the server start and the data load are not. A missing ``mariadbd`` raises
``RuntimeError``, which ``run_bench`` shows as the part being skipped.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..config import Config, MatchingConfig, PassportConfig, SourceConfig
from ..pipeline import Pipeline
from ..store import open_store
from ..testing.mariadb import MariaDBServer, MariaDBUnavailable, create_openmrs_schema
from ..testing.openmrs_data import NATIONAL_ID_TYPE, HospitalPlan, write_hospital
from ._phases import SQLITE_BYTES, passport_bytes

_DATABASE = "openmrs"
_RO_USER, _RO_PASSWORD = "sync_ro", "bench-ro-pw"
_SOURCE_ID = "mysql-1x"


def _usage() -> tuple[float, int]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def mysql_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Sync ``args["obs"]`` obs from a private MariaDB; returns the figures of part (e).

    Raises:
        RuntimeError: MariaDB is not installed or did not start, the sync failed, or the
            passport does not hold exactly the expected valid obs.
    """
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # the obs path alone, as before the clinical tables: part (e) compares obs per second
    plan = HospitalPlan(
        obs=int(args.get("obs", 50_000)), seed=int(args.get("seed", 1)), clinical=False
    )
    server = MariaDBServer(
        buffer_pool_mb=128,
        extra_args=("--innodb-flush-log-at-trx-commit=2", "--max-allowed-packet=64M"),
    )
    try:
        server.start()
    except MariaDBUnavailable as exc:
        msg = f"skipped: {exc}"
        raise RuntimeError(msg) from exc
    try:
        conn = server.root()
        try:
            create_openmrs_schema(conn, _DATABASE)
            t0 = time.perf_counter()
            totals = write_hospital(conn, _DATABASE, plan)
            load_s = time.perf_counter() - t0
        finally:
            conn.close()
        server.create_user(_RO_USER, _RO_PASSWORD, grant="SELECT", on=f"`{_DATABASE}`.*")
        dsn = server.dsn(_DATABASE, user=_RO_USER, password=_RO_PASSWORD)
        result = _sync(dsn, workdir / "mysql.db")
    finally:
        server.stop()
    result.update(
        rows=totals.obs_rows,
        expected_obs=totals.valid_obs,
        patients=totals.patients,
        encounters=totals.encounters,
        load_s=load_s,
    )
    if result["obs"] != totals.valid_obs:
        msg = (
            f"MySQL part: the passport holds {result['obs']} valid obs, "
            f"expected {totals.valid_obs} (of {totals.obs_rows} rows)"
        )
        raise RuntimeError(msg)
    return result


def _sync(dsn: str, passport: Path) -> dict[str, Any]:
    """One timed first sync; counts the valid and not-valid obs the passport then holds."""
    store_url = f"sqlite:///{passport}"
    source = SourceConfig(  # type: ignore[call-arg]
        id=_SOURCE_ID,
        name="Old District Hospital",
        kind="openmrs-mysql",
        dsn=SecretStr(dsn),
        require_read_only=True,
    )
    config = Config(  # type: ignore[call-arg]
        passport=PassportConfig(store=store_url),  # type: ignore[call-arg]
        matching=MatchingConfig(identifier_types=[NATIONAL_ID_TYPE], on_unmatched="create"),
        sources=[source],
    )
    store = open_store(store_url)
    pipeline = Pipeline(config, store)
    try:
        cpu0, _ = _usage()
        t0 = time.perf_counter()
        summary = pipeline.sync_source(_SOURCE_ID)
        wall = time.perf_counter() - t0
        cpu1, rss = _usage()
        pipeline_driver = str(getattr(pipeline.source(_SOURCE_ID), "driver", "?"))
    finally:
        pipeline.close()
    try:
        if not summary.ok:
            msg = f"MySQL part: the sync of {_SOURCE_ID} failed: {summary.error}"
            raise RuntimeError(msg)
        # counted by the store, not loaded: a million documents in memory take ~12 GB
        valid = store.count_records(_SOURCE_ID, "Observation", valid_only=True)
        stored = store.count_records(_SOURCE_ID, "Observation")
        failed = store.counts().get("failed_events", 0)
    finally:
        store.close()
    size = passport_bytes(passport)
    return {
        "passport_bytes": size,
        "bytes_per_obs": size / valid if valid else None,
        "bytes_measured_as": SQLITE_BYTES,
        "driver": pipeline_driver,
        "obs": valid,
        "not_valid_obs": stored - valid,
        "failed_events": failed,
        "wall_s": wall,
        "obs_per_s": valid / wall if wall else 0.0,
        "cpu_s_per_obs": (cpu1 - cpu0) / valid if valid else 0.0,
        "peak_rss_mb": rss / 2**20,
    }
