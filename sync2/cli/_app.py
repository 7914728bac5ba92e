"""The ``sync2`` application and its command groups; the commands register on them."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="sync2: pull OpenMRS hospitals into one patient passport. Every command that reads "
    "or writes the passport takes --config (default ./sync2.toml). Exit 1: a source failed; "
    "exit 2: a configuration or usage error.",
)
passport_app = typer.Typer(no_args_is_help=True, help="Read the passport.")
failed_app = typer.Typer(no_args_is_help=True, help="The failed-events queue.")
conflicts_app = typer.Typer(no_args_is_help=True, help="The conflict queue (passport vs hospital).")
edit_app = typer.Typer(no_args_is_help=True, help="Correct the passport (audited).")
app.add_typer(passport_app, name="passport")
app.add_typer(failed_app, name="failed")
app.add_typer(conflicts_app, name="conflicts")
passport_app.add_typer(edit_app, name="edit")


@app.callback()
def _main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug")
    ] = 0,
) -> None:
    """sync2: pull OpenMRS hospitals into one patient passport."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
