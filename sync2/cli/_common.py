"""What every command shares: the options, one session over the passport, one way to print.

A command opens a :func:`session` and does its work inside it; the session loads the config,
opens the store (and a pipeline when the command asks for one), closes them in every case, and
turns a sync2 error into one clear message and exit 2. Output goes through :func:`output`
(a table for people, stable JSON for scripts) and run summaries through :func:`report`, which
exits 1 when a source failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .._errors import Sync2Error
from ..config import Config, load_config
from ..pipeline import Pipeline, SyncSummary
from ..store import PassportStore, open_store

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The TOML config file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who does this (audited).")]
DEFAULT_CONFIG = Path("sync2.toml")

#: Exit codes: a source failed during the run; the config or the command line is wrong.
EXIT_SOURCE_FAILED = 1
EXIT_USAGE = 2

#: What an edit or a resolution refuses with: an unknown id, a value that does not fit.
USAGE_ERRORS: tuple[type[Exception], ...] = (LookupError, ValueError)


def fail(exc: Exception) -> typer.Exit:
    """Print ``exc`` as one line on stderr; the caller raises the returned exit 2."""
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(EXIT_USAGE)


class Session:
    """The config and the store of one command, and a pipeline built only when used."""

    def __init__(self, config: Config, store: PassportStore) -> None:
        self.config = config
        self.store = store
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline(self.config, self.store)
        return self._pipeline

    def close(self) -> None:
        try:
            if self._pipeline is not None:
                self._pipeline.close()
        finally:
            self.store.close()


@contextmanager
def session(config_path: Path, *, also: tuple[type[Exception], ...] = ()) -> Iterator[Session]:
    """Load ``config_path``, open its passport, and close both however the command ends.

    A :class:`Sync2Error` (a bad config names its key) and any of ``also`` become exit 2.
    """
    try:
        config = load_config(config_path)
        store = open_store(config.passport.store)
    except Sync2Error as exc:
        raise fail(exc) from None
    opened = Session(config, store)
    caught: tuple[type[Exception], ...] = (Sync2Error, *also)
    try:
        yield opened
    except caught as exc:
        raise fail(exc) from None
    finally:
        opened.close()


def output(data: Any, as_json: bool, render: Callable[[], Any]) -> None:
    """``data`` as indented JSON, or what ``render`` returns printed (it may print itself and
    return None)."""
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    shown = render()
    if shown is not None:
        console.print(shown)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """A table whose long cells wrap rather than cut."""
    shown = Table(title=title)
    for col in columns:
        shown.add_column(col, overflow="fold")
    for row in rows:
        shown.add_row(*row)
    return shown


#: The counts of a run the summary table shows, in its column order.
SUMMARY_COUNTS = ("resources", "written", "unchanged", "invalidated", "failed", "parked", "skipped")


def summary_table(summaries: list[SyncSummary]) -> Table:
    """The table at the end of a sync: one row per source."""
    rows = [
        (
            s.source,
            "yes" if s.ok else "[red]NO[/]",
            *(str(getattr(s, name)) for name in SUMMARY_COUNTS),
            f"{s.seconds:.1f}",
            s.error or "",
        )
        for s in summaries
    ]
    return table("sync summary", ("source", "ok", *SUMMARY_COUNTS, "seconds", "error"), rows)


def report(summaries: list[SyncSummary], as_json: bool, *, data: Any = None) -> None:
    """Print the summaries (table, or ``data`` / their dicts as JSON); exit 1 when one failed."""
    shown = [s.to_dict() for s in summaries] if data is None else data
    output(shown, as_json, lambda: summary_table(summaries))
    if not all(s.ok for s in summaries):
        raise typer.Exit(EXIT_SOURCE_FAILED)
