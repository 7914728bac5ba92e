"""Can this MySQL user write? Read from ``SHOW GRANTS`` before reading anything else.

sync2 never writes to a hospital (DESIGN invariant 5), but a user that *could* write is a risk
an implementer should hear about loudly, and may refuse (``require_read_only = true``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Privileges that let a user change data or schema.
WRITE_PRIVILEGES = frozenset(
    {
        "ALL",
        "ALL PRIVILEGES",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "ALTER",
        "INDEX",
        "TRIGGER",
        "CREATE VIEW",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "EXECUTE",
        "REFERENCES",
        "DELETE HISTORY",
        "CREATE TEMPORARY TABLES",
        "LOCK TABLES",
        "FILE",
        "SUPER",
    }
)
_GRANT = re.compile(r"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?P<obj>\S+)\s+TO\s", re.IGNORECASE)


def _applies(obj: str, database: str) -> bool:
    scope = obj.split(".", 1)[0].strip("`'\"")
    if scope in ("*",):
        return True
    pattern = re.escape(scope).replace("%", ".*").replace("_", ".")
    pattern = pattern.replace(r"\.\*", ".*")
    return scope == database or re.fullmatch(pattern, database) is not None


def write_privileges(grants: Iterable[str], database: str) -> list[str]:
    """Write privileges in ``SHOW GRANTS`` lines that apply to ``database`` (sorted, unique).

    Column-level grants (``UPDATE (col)``) count as writes too.

    >>> write_privileges(["GRANT USAGE ON *.* TO `ro`@`%`",
    ...                   "GRANT SELECT, SHOW VIEW ON `openmrs`.* TO `ro`@`%`"], "openmrs")
    []
    >>> write_privileges(["GRANT SELECT, INSERT, UPDATE ON `openmrs`.* TO `rw`@`%`"], "openmrs")
    ['INSERT', 'UPDATE']
    >>> write_privileges(["GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION"], "x")
    ['ALL PRIVILEGES']
    """
    found: set[str] = set()
    for line in grants:
        match = _GRANT.match(line.strip())
        if not match or not _applies(match.group("obj"), database):
            continue
        privs = re.sub(r"\([^)]*\)", "", match.group("privs"))
        for priv in privs.split(","):
            name = " ".join(priv.split()).upper()
            if name in WRITE_PRIVILEGES:
                found.add(name)
    return sorted(found)
