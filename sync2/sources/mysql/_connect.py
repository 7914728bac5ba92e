"""Connecting to a hospital's MySQL: the DSN, TLS, the driver, and its errors turned into sync2's.

Everything that touches a driver's exceptions is here, so the rest of the package only sees the
sync2 error tree. Messages name the host and database, never the password.

Two drivers speak the same DB-API: ``mysqlclient`` (``MySQLdb``, C) decodes rows several times
faster than PyMySQL's pure-Python row reader, which dominated a first sync's CPU; PyMySQL stays
the fallback when the C driver is not installed, and serves TLS connections, whose verification
options (``check_hostname``, ``verify_mode``) it takes as Python's own ``ssl`` does.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql
import pymysql.cursors

from ..._errors import ConfigError, SourceAuthError, TransientSourceError

_mysqldb: ModuleType | None
try:
    import MySQLdb as _mysqldb
    import MySQLdb.cursors
except ImportError:  # the C driver is optional: PyMySQL reads the same rows, slower
    _mysqldb = None

#: MySQL error codes that mean "your credentials or rights are wrong".
_AUTH_CODES = frozenset({1044, 1045, 1142, 1143, 1227, 1698})
#: Codes that mean "the configuration names something that is not there".
_CONFIG_CODES = frozenset({1049, 1146, 1054, 1064, 2005})
#: The drivers this package can use, fastest first.
DRIVERS = ("mysqlclient", "pymysql")


def _errors(name: str) -> tuple[type[BaseException], ...]:
    """The DB-API exception class ``name`` of every importable driver."""
    found: list[type[BaseException]] = [getattr(pymysql.err, name)]
    if _mysqldb is not None:
        found.append(getattr(_mysqldb, name))
    return tuple(found)


_OPERATIONAL = _errors("OperationalError")
_PROGRAMMING = _errors("ProgrammingError")
_INTERNAL = _errors("InternalError")
_INTERFACE = _errors("InterfaceError")
#: Any driver error (closing a connection that is already gone raises one).
DRIVER_ERRORS = _errors("Error")


@dataclass(frozen=True, slots=True)
class MySQLTarget:
    """A parsed ``mysql://user:password@host:port/db?ssl=...`` DSN."""

    host: str
    port: int
    user: str
    password: str
    database: str
    tls: bool = False
    tls_verify: bool = True
    tls_ca: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float | None = 300.0

    @property
    def where(self) -> str:
        """``host:port/db`` for messages (no user, no password)."""
        return f"{self.host}:{self.port}/{self.database}"


def parse_dsn(dsn: str, *, tls_ca: str | None = None) -> MySQLTarget:
    """Read a DSN; query options ``ssl``/``tls`` (true|false), ``ssl_verify``, ``connect_timeout``.

    >>> parse_dsn("mysql://ro:p%40ss@db.example:3307/openmrs?ssl=true").where
    'db.example:3307/openmrs'

    Raises:
        ConfigError: not a mysql:// URL, or no host, user or database (the message never
            repeats the DSN, which holds the password).
    """
    try:
        parts = urlsplit(dsn)
        port = parts.port or 3306
    except ValueError as exc:
        msg = "dsn is not a valid mysql://user:password@host:port/db URL (bad port or syntax)"
        raise ConfigError(msg) from exc
    if parts.scheme not in ("mysql", "mysql+pymysql", "mariadb"):
        msg = f"dsn must start with mysql:// (got {parts.scheme or 'no scheme'}://)"
        raise ConfigError(msg)
    database = parts.path.lstrip("/")
    if not parts.hostname or not parts.username or not database:
        msg = "dsn needs a user, a host and a database: mysql://user:${PASSWORD}@host:3306/openmrs"
        raise ConfigError(msg)
    options = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}

    def _bool(name: str, default: bool) -> bool:
        value = options.get(name)
        if value is None:
            return default
        return value.lower() in ("1", "true", "yes", "required", "verify_identity", "on")

    tls = _bool("ssl", False) or _bool("tls", False) or tls_ca is not None
    try:
        timeout = float(options.get("connect_timeout", 10))
    except ValueError as exc:
        msg = f"dsn option connect_timeout is not a number for {parts.hostname}/{database}"
        raise ConfigError(msg) from exc
    return MySQLTarget(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        database=database,
        tls=tls,
        tls_verify=_bool("ssl_verify", True),
        tls_ca=tls_ca or options.get("ssl_ca"),
        connect_timeout=timeout,
    )


@contextmanager
def mysql_errors(target: MySQLTarget, doing: str) -> Iterator[None]:
    """Translate PyMySQL exceptions raised inside the block into the sync2 error tree."""
    try:
        yield
    except _OPERATIONAL as exc:
        code = exc.args[0] if exc.args else None
        if code in _AUTH_CODES:
            msg = f"MySQL {target.where} refused user {target.user!r} while {doing} ({code})"
            raise SourceAuthError(msg) from exc
        if code in _CONFIG_CODES:
            msg = f"MySQL {target.where}: {doing} failed ({code}: {_reason(exc)})"
            raise ConfigError(msg) from exc
        msg = f"MySQL {target.where}: connection problem while {doing} ({code})"
        raise TransientSourceError(msg) from exc
    except _PROGRAMMING as exc:
        code = exc.args[0] if exc.args else None
        msg = f"MySQL {target.where}: {doing} failed ({code}: {_reason(exc)})"
        raise ConfigError(msg) from exc
    except _INTERNAL as exc:
        msg = f"MySQL {target.where}: server error while {doing}"
        raise TransientSourceError(msg) from exc
    except (*_INTERFACE, OSError) as exc:
        msg = f"MySQL {target.where}: connection lost while {doing}"
        raise TransientSourceError(msg) from exc


def _reason(exc: Exception) -> str:
    text = str(exc.args[1]) if len(exc.args) > 1 else ""
    return text[:200]


def driver_for(target: MySQLTarget, wanted: str | None = None) -> str:
    """The driver a connection to ``target`` uses: ``wanted`` if given, else the fastest fit.

    Raises:
        ConfigError: ``wanted`` is not a known driver, or is ``mysqlclient`` and not installed.
    """
    if wanted is not None:
        if wanted not in DRIVERS:
            msg = f"unknown MySQL driver {wanted!r} (one of {', '.join(DRIVERS)})"
            raise ConfigError(msg)
        if wanted == "mysqlclient" and _mysqldb is None:
            msg = "MySQL driver 'mysqlclient' is not installed (pip install mysqlclient)"
            raise ConfigError(msg)
        return wanted
    return "mysqlclient" if _mysqldb is not None and not target.tls else "pymysql"


def connect(target: MySQLTarget, driver: str | None = None) -> Any:
    """A read-only-minded session: autocommit reads, UTC session zone, dict rows.

    The session time zone is UTC so that ``UNIX_TIMESTAMP(datetime)`` reads the hospital's
    naive DATETIMEs the same way the mappers do. ``SET SESSION TRANSACTION READ ONLY`` makes
    the server itself refuse writes where it supports it (MySQL >= 5.6.5, MariaDB >= 10.0).
    """
    with mysql_errors(target, "connecting"):
        if driver_for(target, driver) == "mysqlclient":
            conn = _connect_c(target)
        else:
            conn = _connect_py(target)
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            # an old server has no read-only sessions; the grants check still runs
            with contextlib.suppress(*DRIVER_ERRORS):
                cur.execute("SET SESSION TRANSACTION READ ONLY")
    return conn


def _connect_c(target: MySQLTarget) -> Any:
    """mysqlclient, over TCP like PyMySQL (the C library reads "localhost" as the socket)."""
    assert _mysqldb is not None
    timeouts = {"connect_timeout": max(1, math.ceil(target.connect_timeout))}
    if target.read_timeout is not None:
        timeouts["read_timeout"] = math.ceil(target.read_timeout)
    return _mysqldb.connect(
        host="127.0.0.1" if target.host == "localhost" else target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.database,
        charset="utf8mb4",
        cursorclass=MySQLdb.cursors.DictCursor,
        autocommit=True,
        **timeouts,
    )


def _connect_py(target: MySQLTarget) -> Any:
    ssl: dict[str, Any] | None = None
    if target.tls:
        ssl = {"check_hostname": target.tls_verify}
        if target.tls_ca:
            ssl["ca"] = target.tls_ca
        if not target.tls_verify:
            ssl["verify_mode"] = 0
    return pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.database,
        charset="utf8mb4",
        cursorclass=pymysql.cursors.DictCursor,
        autocommit=True,
        connect_timeout=target.connect_timeout,
        read_timeout=target.read_timeout,
        ssl=ssl,
    )
