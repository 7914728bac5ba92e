"""Bearer tokens for the admin API: loaded from the environment or a file, kept only as hashes.

A token is a secret string; what sync2 keeps in memory is its SHA-256, and a presented token is
hashed and compared against every known hash with :func:`hmac.compare_digest`, so neither the
comparison nor the loop stops early on a near miss. Two roles exist:

- ``admin``: every endpoint;
- ``doctor``: ``POST sync-patient/{nationalId}`` and ``GET status`` only (as in the Patient
  Passport, where doctors may pull one patient's history now).

Sources, in order: the environment variable named by ``[admin].token_env`` (``role:token`` items
separated by commas; a bare token is an admin token; an unknown role is an error) and the file
named by ``[admin].token_file`` (one ``role name token`` or ``role name sha256:HEX`` a line).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._errors import ConfigError
from .._secrets import warn_if_readable

ROLES = ("admin", "doctor")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who called: the role decides what they may do, the name goes into the audit log."""

    role: str
    name: str

    @property
    def actor(self) -> str:
        """The audit log's ``actor`` for this caller, e.g. ``admin:ops``."""
        return f"{self.role}:{self.name}"


def hash_token(token: str) -> str:
    """The stored form of a token.

    >>> hash_token("s3cret")[:12]
    '1ec1c26b50d5'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    principal: Principal


class TokenAuth:
    """The known tokens (hashed) and the lookup of a presented one."""

    def __init__(self, entries: list[tuple[str, str, str]] | None = None) -> None:
        """``entries``: (role, name, sha256 hex digest) triples."""
        self._entries: list[_Entry] = []
        for role, name, digest in entries or []:
            self.add_hashed(role, name, digest)

    def __len__(self) -> int:
        return len(self._entries)

    def add_hashed(self, role: str, name: str, digest: str) -> None:
        if role not in ROLES:
            msg = f"token {name!r}: unknown role {role!r} (use {' or '.join(ROLES)})"
            raise ConfigError(msg)
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            msg = f"token {name!r}: sha256 digest must be 64 hex characters"
            raise ConfigError(msg)
        self._entries.append(_Entry(raw, Principal(role, name)))

    def add(self, role: str, name: str, token: str) -> None:
        if len(token) < 16:
            msg = f"token {name!r}: too short (use at least 16 characters)"
            raise ConfigError(msg)
        self.add_hashed(role, name, hash_token(token))

    def identify(self, token: str) -> Principal | None:
        """The caller a presented token belongs to, or None; checks every entry every time."""
        presented = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for entry in self._entries:
            if hmac.compare_digest(presented, entry.digest) and found is None:
                found = entry.principal
        return found


_ROLE_WORD = re.compile(r"^[A-Za-z][A-Za-z_-]*$")


def _role_and_token(item: str, where: str) -> tuple[str, str]:
    """``role:token`` or a bare token (an admin token); a word before ``:`` must be a role.

    A mistyped role (``Doctor:...``, ``viewer:...``) is an error, not an admin token: read
    loosely, it would give a doctor's token every right.

    >>> _role_and_token("doctor:abc", "T[0]"), _role_and_token("abc", "T[1]")
    (('doctor', 'abc'), ('admin', 'abc'))
    >>> _role_and_token("Doctor:abc", "T[2]")
    Traceback (most recent call last):
    ...
    sync2._errors.ConfigError: T[2]: unknown role 'Doctor' (use admin or doctor, in lower case)
    """
    role, sep, token = item.partition(":")
    if not sep or not _ROLE_WORD.match(role):
        return "admin", item
    if role not in ROLES:
        msg = f"{where}: unknown role {role!r} (use {' or '.join(ROLES)}, in lower case)"
        raise ConfigError(msg)
    return role, token


def load_tokens(
    env: Mapping[str, str], *, env_name: str, token_file: str | Path | None = None
) -> TokenAuth:
    """Every token from ``env[env_name]`` and ``token_file``.

    Raises:
        ConfigError: the file cannot be read, a line or item is malformed, a role is unknown.
    """
    auth = TokenAuth()
    raw = env.get(env_name, "")
    for index, item in enumerate(i.strip() for i in raw.split(",")):
        if not item:
            continue
        role, token = _role_and_token(item, f"{env_name}[{index}]")
        auth.add(role, f"{env_name}[{index}]", token)
    if token_file is not None:
        path = Path(token_file)
        warn_if_readable(path, "the API token file")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            msg = f"admin.token_file: cannot read {path}: {exc.strerror}"
            raise ConfigError(msg) from exc
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) != 3:
                msg = f"{path}:{number}: expected 'role name token' (3 fields, got {len(parts)})"
                raise ConfigError(msg)
            role, name, secret = parts
            if secret.startswith("sha256:"):
                auth.add_hashed(role, name, secret.removeprefix("sha256:"))
            else:
                auth.add(role, name, secret)
    return auth
