"""A private, throw-away MariaDB server on 127.0.0.1, for tests and the benchmark.

The MySQL source has to be tested against a real server (introspection, grants, out-of-order
commits), and nobody should need a system database for that. This starts ``mariadbd`` on a free
port with its own temporary data directory and ``--no-defaults`` (so no ``/etc/mysql`` setting
leaks in), waits until it answers, and stops it at the end::

    with MariaDBServer() as server:
        conn = server.root()
        create_openmrs_schema(conn, "openmrs")
        dsn = server.dsn("openmrs", user="root")

Root logs in over TCP with an empty password; the server only listens on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Any

import pymysql

__all__ = [
    "MariaDBServer",
    "MariaDBStartError",
    "MariaDBUnavailable",
    "create_openmrs_schema",
    "find_binaries",
    "schema_statements",
]


class MariaDBUnavailable(RuntimeError):
    """``mariadbd`` / ``mariadb-install-db`` are not installed: callers skip, not fail."""


class MariaDBStartError(RuntimeError):
    """The binaries are there but the server did not come up (the message holds its log)."""


def _binary(*names: str) -> str | None:
    """The first of ``names`` on PATH or in /usr/sbin, /usr/bin (sbin is often off PATH)."""
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()),
            None,
        )
        if found:
            return found
    return None


def find_binaries() -> tuple[str, str] | None:
    """``(server, install_db)`` paths, or ``None`` when MariaDB is not installed."""
    server = _binary("mariadbd", "mysqld")
    install = _binary("mariadb-install-db", "mysql_install_db")
    return (server, install) if server and install else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MariaDBServer:
    """One private ``mariadbd``; a context manager (``start`` on enter, ``stop`` on exit).

    Args:
        base_dir: where the data directory, socket, pid file and error log go; a new temporary
            directory (removed by ``stop``) when not given. Keep it short: a Unix socket path
            is limited to about 100 bytes.
        buffer_pool_mb: ``innodb_buffer_pool_size``; small for tests, larger for bulk loads.
        startup_timeout: seconds to wait for the server to answer.
        extra_args: more ``mariadbd`` options (``--innodb-flush-log-at-trx-commit=2`` ...).
    """

    def __init__(
        self,
        base_dir: Path | str | None = None,
        *,
        buffer_pool_mb: int = 16,
        startup_timeout: float = 30.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.buffer_pool_mb = buffer_pool_mb
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> MariaDBServer:
        """Initialise a data directory, start the server and wait until root can log in.

        Raises:
            MariaDBUnavailable: MariaDB is not installed.
            MariaDBStartError: initialisation failed or the server did not answer in time.
        """
        binaries = find_binaries()
        if binaries is None:
            msg = "mariadbd / mariadb-install-db not found (apt-get install mariadb-server)"
            raise MariaDBUnavailable(msg)
        server, install = binaries
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="sync2-mariadb-"))
        base = self.base_dir
        base.mkdir(parents=True, exist_ok=True)
        data = base / "data"
        init = subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if init.returncode != 0:
            msg = f"mariadb-install-db failed (exit {init.returncode}): {init.stderr[-2000:]}"
            raise MariaDBStartError(msg)
        self.port = _free_port()
        self._proc = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={base}/sock",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-networking=0",
                "--user=root",
                "--skip-log-bin",
                f"--pid-file={base}/pid",
                f"--log-error={base}/err.log",
                f"--innodb-buffer-pool-size={self.buffer_pool_mb}M",
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                self.root().close()
                return
            except pymysql.err.OperationalError:
                proc = self._proc
                if proc is None or proc.poll() is not None or time.monotonic() > deadline:
                    log = self.error_log()[-2000:]
                    self.stop()
                    msg = f"mariadbd did not start on 127.0.0.1:{self.port}: {log}"
                    raise MariaDBStartError(msg) from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s); remove a temporary base_dir."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._own_dir and self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def error_log(self) -> str:
        """The server's error log (empty when there is none yet)."""
        if self.base_dir is None:
            return ""
        path = self.base_dir / "err.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> MariaDBServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------------
    def root(
        self, database: str | None = None, **kwargs: Any
    ) -> pymysql.connections.Connection[Any]:
        """A new autocommit root connection over TCP (``kwargs`` go to ``pymysql.connect``)."""
        options: dict[str, Any] = {"autocommit": True, "charset": "utf8mb4", **kwargs}
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            **options,
        )

    def dsn(self, database: str, *, user: str = "root", password: str = "") -> str:
        """``mysql://user:password@127.0.0.1:port/database``, as sync2's source config takes."""
        auth = f"{user}:{password}" if password else user
        return f"mysql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_user(
        self, user: str, password: str, *, grant: str = "SELECT", on: str = "*.*"
    ) -> None:
        """Create ``user``@'%' and grant it ``grant`` on ``on`` (e.g. SELECT on ``omrs%``.*)."""
        conn = self.root()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", [password])
                cur.execute(f"GRANT {grant} ON {on} TO '{user}'@'%'")
        finally:
            conn.close()


# -- the OpenMRS schema ------------------------------------------------------------------------
def schema_statements(name: str) -> list[str]:
    """The statements of a packaged SQL file (``openmrs_schema.sql``, ``openmrs_18.sql``).

    The files are plain DDL with ``--`` comments and ``;`` terminators (no ``;`` in strings).
    """
    sql = files("sync2.testing").joinpath("sql", name).read_text(encoding="utf-8")
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def create_openmrs_schema(
    conn: Any, database: str, *, legacy_18: bool = False, legacy_19: bool = False
) -> None:
    """Create ``database`` with the OpenMRS tables the MySQL source reads (empty).

    The schema is 2.x's, with the columns later releases added (research B5). ``legacy_19``
    turns its clinical tables into OpenMRS 1.9's (active list, 1.9 orders); ``legacy_18`` does
    that and then makes the rest 1.8-style (no provider / concept_reference_* tables,
    ``encounter.provider_id``, ``concept_map``). Leaves ``conn`` using ``database``.
    """
    files = ["openmrs_schema.sql"]
    if legacy_18 or legacy_19:
        files.append("openmrs_19.sql")
    if legacy_18:
        files.append("openmrs_18.sql")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{database}`")
        for name in files:
            for stmt in schema_statements(name):
                cur.execute(stmt)
