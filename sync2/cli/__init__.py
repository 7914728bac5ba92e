"""The ``sync2`` command line.

Every command that touches the passport takes ``--config`` (default ``./sync2.toml``). Errors of
the sync2 tree print as one clear message and exit 2; a sync in which a source failed exits 1.
The commands live in one module per group; importing a group registers its commands on ``app``,
in the order ``sync2 --help`` lists them.
"""

from __future__ import annotations

from ..admin.status import source_paths, status_report
from ._app import app
from ._common import summary_table

# isort: split
from . import _sync  # noqa: F401

# isort: split
from . import _queues  # noqa: F401

# isort: split
from . import _passport, _run  # noqa: F401

__all__ = ["app", "main", "source_paths", "status_report", "summary_table"]


def main() -> None:  # pragma: no cover - console script entry
    app()
