"""Warnings about secrets kept in files that other users of the machine can read."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

log = logging.getLogger("sync2.security")


def readable_by_others(path: str | Path) -> bool:
    """True when the group or anyone else may read ``path`` (mode bits g+r or o+r)."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def warn_if_readable(path: str | Path, what: str) -> bool:
    """Log a warning (never the secret) when a file holding secrets is readable by others.

    Returns whether it warned. The fix is ``chmod 600``; sync2 still runs, because refusing
    would stop a hospital's sync over a permissions slip.
    """
    if not readable_by_others(path):
        return False
    log.warning(
        "%s %s is readable by other users of this machine; run: chmod 600 %s", what, path, path
    )
    return True
