"""What waits for a person: failed events, conflicts; and the audit log of what was done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..store import AuditEntry
from ._app import app, conflicts_app, failed_app
from ._common import (
    DEFAULT_CONFIG,
    USAGE_ERRORS,
    ActorOpt,
    ConfigOpt,
    JsonOpt,
    console,
    fail,
    output,
    session,
    table,
)

ConflictIdArg = Annotated[int, typer.Argument(help="The conflict id (from list).")]


@failed_app.command("list")
def failed_list(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
    state: Annotated[str | None, typer.Option(help="pending|retrying|blocked|dead|done")] = None,
) -> None:
    """Failed events with their state, attempts and last error."""
    with session(config) as s:
        events = s.store.list_failed(states=[state] if state else None)
    rows = [
        (
            str(e.id),
            e.source,
            f"{e.resource_type}/{e.uuid}" if e.uuid else (e.payload_ref or "-"),
            e.state,
            str(e.attempts),
            e.error[:200],
        )
        for e in events
    ]
    columns = ("id", "source", "record", "state", "attempts", "error")
    output([e.to_dict() for e in events], as_json, lambda: table("failed events", columns, rows))


@failed_app.command("retry")
def failed_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Failed event ids (default: all open).")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Retry failed events now (dead ones too when named by id)."""
    with session(config) as s:
        counts = s.pipeline.retry_failed(ids=ids or None, only_due=False, actor="cli")
    console.print(counts)


@app.command()
def audit(
    config: ConfigOpt = DEFAULT_CONFIG,
    limit: int = 50,
    kind: str | None = None,
    source: str | None = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit log, newest first."""
    with session(config) as s:
        entries = s.store.list_audit(limit=limit, kind=kind, source=source)
    output([e.to_dict() for e in entries], as_json, lambda: _print_audit(entries))


def _print_audit(entries: list[AuditEntry]) -> None:
    from datetime import UTC, datetime

    for e in entries:
        when = datetime.fromtimestamp(e.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        console.print(
            f"{when}  {e.kind:<12} {e.source or '-':<10} {e.actor:<8} {e.message}",
            highlight=False,
            markup=False,
        )


@conflicts_app.command("list")
def conflicts_list(
    config: ConfigOpt = DEFAULT_CONFIG,
    show_all: Annotated[bool, typer.Option("--all", help="Also resolved conflicts.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Open conflicts (or every one with --all), oldest first."""
    with session(config) as s:
        found = s.store.list_conflicts(state=None if show_all else "open")
    data = [
        {k: v for k, v in c.to_dict().items() if k not in ("base", "passport", "incoming")}
        for c in found
    ]
    rows = [
        (str(c.id), c.state, c.source, f"{c.resource_type}/{c.uuid}", c.reason, c.resolution or "")
        for c in found
    ]
    columns = ("id", "state", "source", "record", "reason", "resolution")
    output(data, as_json, lambda: table(f"{len(found)} conflicts", columns, rows))


@conflicts_app.command("show")
def conflicts_show(
    conflict_id: ConflictIdArg,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """A side-by-side field diff: base (last synced), passport, incoming (hospital)."""
    from conflicts import show

    with session(config, also=(LookupError,)) as s:
        conflict = s.store.get_conflict(conflict_id)
        if conflict is None:
            msg = f"no conflict {conflict_id}"
            raise LookupError(msg)
        diff = s.pipeline.conflict_diff(conflict_id)
    head = {k: v for k, v in conflict.to_dict().items() if k not in ("passport", "base")}
    head["incoming"] = {k: v for k, v in conflict.incoming.items() if k != "raw"}
    title = (
        f"conflict {conflict.id} ({conflict.state}): {conflict.resource_type}/{conflict.uuid} "
        f"from {conflict.source}: {conflict.reason}"
    )
    marks = {"conflict": "[bold red]both (differ)[/]", "both": "both (same)"}
    rows = [
        (
            str(row["field"]),
            show(row["base"]),
            show(row["passport"]),
            show(row["incoming"]),
            marks.get(str(row["changed_by"]), str(row["changed_by"])),
        )
        for row in diff
    ]
    columns = ("field", "base", "passport", "incoming", "changed by")
    output({"conflict": head, "fields": diff}, as_json, lambda: table(title, columns, rows))


def _read_merged(merged_file: Path) -> dict[str, Any]:
    """The fields of ``--file``: a JSON object, or a clear error naming the file."""
    try:
        loaded = json.loads(merged_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(ValueError(f"cannot read {merged_file}: {exc}")) from None
    if not isinstance(loaded, dict):
        raise fail(ValueError(f"{merged_file} must hold a JSON object of fields"))
    return loaded


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict_id: ConflictIdArg,
    take: Annotated[
        str | None, typer.Option("--take", help="source | passport: keep that side's content.")
    ] = None,
    merged_file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="JSON object of the fields to show (others keep the passport's)."
        ),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    actor: ActorOpt = "cli",
) -> None:
    """Settle a conflict; the hospital's content becomes the new base. Audited."""
    merged = _read_merged(merged_file) if merged_file is not None else None
    with session(config, also=USAGE_ERRORS) as s:
        done = s.pipeline.resolve_conflict(conflict_id, take=take, merged=merged, actor=actor)
    console.print(f"conflict {conflict_id}: {done.resolution}", highlight=False)
