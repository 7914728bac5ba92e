"""The Patient Passport's environment variables as a sync2 :class:`~sync2.config.Config`.

Its users switch without rewriting anything: with no config file, ``sync2 serve`` / ``sync2 run``
read the variables the Passport's Node.js sync service read. Every ``HOSPITAL_N_*`` group is one
OpenMRS 1.x MySQL source (``kind = "openmrs-mysql"``)::

    HOSPITAL_N_NAME         hospital name (required for the group to count)
    HOSPITAL_N_DB_HOST      MySQL host (required)
    HOSPITAL_N_DB_PORT      default 3306
    HOSPITAL_N_DB_NAME      default openmrs
    HOSPITAL_N_DB_USER      default openmrs_readonly
    HOSPITAL_N_DB_PASSWORD  default empty
    HOSPITAL_N_ENABLED      "false" disables the hospital (anything else, or unset, enables it)
    OPENMRS_SYNC_INTERVAL   minutes between syncs of each hospital (default 5)
    OPENMRS_MAX_RECORDS     accepted and validated; sync2 pages by itself (see docs/service.md)
    OPENMRS_AUTO_START_SYNC "true": the scheduler starts with the server (else POST start)

The passport store comes from ``SYNC2_STORE`` (default ``sqlite:///passport.db``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from .._errors import ConfigError
from ..config import Config

_GROUP = re.compile(r"^HOSPITAL_(\d+)_(NAME|DB_HOST)$")
_FALSE = {"false", "0", "no", "off"}


def has_env_config(env: Mapping[str, str]) -> bool:
    """True when the environment describes at least one Patient Passport hospital."""
    return any(_GROUP.match(name) for name in env)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        msg = f"environment variable {name} must be an integer >= {minimum} (got {raw!r})"
        raise ConfigError(msg)
    return value


def config_from_env(env: Mapping[str, str]) -> Config:
    """Build the config from Patient Passport variables.

    Raises:
        ConfigError: no ``HOSPITAL_N_*`` group, a group without name or host, or a bad number.
    """
    numbers = sorted({int(m.group(1)) for name in env if (m := _GROUP.match(name))})
    if not numbers:
        msg = "no config file and no HOSPITAL_N_NAME / HOSPITAL_N_DB_HOST environment variables"
        raise ConfigError(msg)
    minutes = _int(env, "OPENMRS_SYNC_INTERVAL", 5)
    _int(env, "OPENMRS_MAX_RECORDS", 1000)
    sources: list[dict[str, Any]] = []
    for n in numbers:
        prefix = f"HOSPITAL_{n}_"
        name = env.get(prefix + "NAME", "").strip()
        host = env.get(prefix + "DB_HOST", "").strip()
        if not name or not host:
            missing = prefix + ("NAME" if not name else "DB_HOST")
            msg = f"hospital {n}: environment variable {missing} is not set"
            raise ConfigError(msg)
        port = _int(env, prefix + "DB_PORT", 3306)
        database = env.get(prefix + "DB_NAME", "").strip() or "openmrs"
        user = env.get(prefix + "DB_USER", "").strip() or "openmrs_readonly"
        password = env.get(prefix + "DB_PASSWORD", "")
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        sources.append(
            {
                "id": f"hospital-{n}",
                "name": name,
                "kind": "openmrs-mysql",
                "enabled": env.get(prefix + "ENABLED", "").strip().lower() not in _FALSE,
                "dsn": f"mysql://{auth}@{host}:{port}/{quote(database, safe='')}",
                "interval_seconds": float(minutes * 60),
            }
        )
    data: dict[str, Any] = {
        "passport": {"store": env.get("SYNC2_STORE", "").strip() or "sqlite:///passport.db"},
        "admin": {"auto_start": env.get("OPENMRS_AUTO_START_SYNC", "").strip().lower() == "true"},
        "sources": sources,
    }
    # validated directly: a password containing "${" is a value, not a reference to expand
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        msg = f"Patient Passport environment variables are invalid: {exc}"
        raise ConfigError(msg) from exc
