"""The printed table: every figure of the run, then every target beside its figure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table

from ._targets import verdicts

Rows = list[tuple[str, str, str]]


def _fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return format(value, spec)
    return str(value)


def render_table(results: dict[str, Any]) -> Table:
    """The run's figures, then every target beside its figure with a plain verdict."""
    table = Table(title="sync2 bench (one run; ratios are what to compare)")
    table.add_column("part")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for part, measure, value in figures(results):
        table.add_row(part, measure, value)
    targets = Table(title="targets (a missed target stays here, marked MISSED)")
    for name in ("part", "measure", "value", "target", "verdict"):
        targets.add_column(name, justify="right" if name == "value" else "left")
    for row in results.get("targets") or verdicts(results):
        spec = ",.2f" if isinstance(row["value"], float) and row["value"] < 100 else ",.0f"
        targets.add_row(
            row["part"], row["measure"], _fmt(row["value"], spec), row["target"], row["verdict"]
        )
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(targets)
    return outer


def _backfill(results: dict[str, Any]) -> Rows:
    b = results.get("backfill")
    if not b:
        return []
    what = f"{b.get('hospitals')} hospitals, {_fmt(b.get('obs'))} obs"
    rows = [
        ("(a) backfill", what, _fmt(b.get("obs_per_s")) + " obs/s"),
        ("", "CPU seconds per obs", _fmt(b.get("cpu_s_per_obs"), ".6f")),
        (
            "",
            "SQLite bytes per obs (file after WAL checkpoint / obs)",
            _fmt(b.get("bytes_per_obs")),
        ),
    ]
    if "raw_obs_per_s" in b:
        rows.append(("(b) store alone", "obs/s bulk insert", _fmt(b["raw_obs_per_s"])))
    if "floor_obs_per_s" in b:
        rows.append(("(f) floor", "obs/s plain executemany", _fmt(b["floor_obs_per_s"])))
    return rows


def _live_and_scale(results: dict[str, Any]) -> Rows:
    rows: Rows = []
    c = results.get("live")
    if c:
        what = f"poll every {c.get('interval_s')}s, {c.get('new_obs')} new obs"
        rows.append(("(c) live", what, f"p50 {_fmt(c.get('p50_s'), '.2f')} s"))
    for row in results.get("scale") or []:
        base = results["scale"][0]["cpu_s_per_obs"] or 1e-9
        ratio = row["cpu_s_per_obs"] / base
        rows.append(
            (
                "(d) scale",
                f"{row.get('hospitals')} hospitals, {_fmt(row.get('obs'))} obs",
                f"{ratio:.2f}x per-obs CPU ({_fmt(row.get('obs_per_s'))} obs/s)",
            )
        )
    return rows


def _mysql(results: dict[str, Any]) -> Rows:
    e = results.get("mysql")
    if e and "skipped" in e:
        return [("(e) MySQL 1.x", "skipped", e["skipped"])]
    if e:
        return [
            ("(e) MySQL 1.x", f"{_fmt(e.get('obs'))} obs", f"{_fmt(e.get('obs_per_s'))} obs/s"),
            (
                "",
                "SQLite bytes per obs (file after WAL checkpoint / obs)",
                _fmt(e.get("bytes_per_obs")),
            ),
        ]
    return []


def _cost_pair(label: str, block: dict[str, Any], sync20: bool = True) -> Rows:
    requests, size = block.get("requests_per_1000_obs"), block.get("bytes_per_1000_obs")
    value = f"{_fmt(requests)} requests, {_fmt((size or 0) / 1e6, ',.2f')} MB"
    rows = [(label, f"per 1,000 obs ({_fmt(block.get('obs'))} obs)", value)]
    if sync20:
        theirs = block.get("sync20_requests_per_1000_obs")
        mb = (block.get("sync20_bytes_per_1000_obs") or 0) / 1e6
        rows.append(
            ("", "Sync 2.0 algorithm, same entries", f"{_fmt(theirs)} requests, {mb:,.2f} MB")
        )
    return rows


def _cost(results: dict[str, Any]) -> Rows:
    g = results.get("hospital_cost")
    rows: Rows = []
    if g:
        rows += _cost_pair("(g) fhir2 snapshot", g.get("snapshot") or {})
        rows += _cost_pair("(g) fhir2 incremental", g.get("incremental") or {})
    r = results.get("rest")
    if r:
        what = f"{_fmt(r.get('obs'))} obs, classic feed + /ws/rest/v1"
        rows.append(("(r) REST source", what, _fmt(r.get("obs_per_s")) + " obs/s"))
        rows += _cost_pair("(g) REST first sync", r, sync20=False)
    return rows


def _clinical(results: dict[str, Any]) -> Rows:
    k = results.get("clinical")
    if not k:
        return []
    a_rate = (results.get("backfill") or {}).get("obs_per_s")
    rows: Rows = []
    for step in k.get("steps") or []:
        rate = step.get("records_per_s")
        vs_a = f", {rate / a_rate:.2f}x (a)'s obs/s" if rate and a_rate else ""
        cpu = step.get("cpu_vs_obs")
        value = f"{_fmt(rate)} rec/s ({_fmt(cpu, '.2f')}x CPU/obs{vs_a})"
        what = (
            f"{step['resource_type']}: {_fmt(step.get('records'))} of {_fmt(step.get('expected'))}"
        )
        rows.append(("(k) clinical" if not rows else "", what, value))
    return rows


def _mongo(results: dict[str, Any]) -> Rows:
    m = results.get("mongo")
    if m and "skipped" in m:
        return [("(m) MongoDB", "skipped", m["skipped"])]
    if not m:
        return []
    return [
        (
            "(m) MongoDB",
            f"end to end, {_fmt(m.get('obs'))} obs",
            f"{_fmt(m.get('obs_per_s'))} obs/s",
        ),
        ("", "store alone, bulk apply", f"{_fmt(m.get('raw_obs_per_s'))} obs/s"),
        (
            "",
            "bytes per obs: raw BSON of every document + the server's index sizes",
            _fmt(m.get("bytes_per_obs")),
        ),
        ("", "server", str(m.get("server"))),
    ]


def _face(results: dict[str, Any]) -> Rows:
    p = results.get("face")
    if not p:  # figures only: no number is promised for them
        return []
    return [
        (
            "(p) FHIR face",
            f"{_fmt(p.get('served'))} obs paged, _count=1000",
            _fmt(p.get("served_per_s")) + " resources/s",
        ),
        (
            "(p) chain",
            f"{_fmt(p.get('chain_obs'))} obs, district -> national",
            _fmt(p.get("chain_obs_per_s")) + " obs/s",
        ),
    ]


_SECTIONS: tuple[Callable[[dict[str, Any]], Rows], ...] = (
    _backfill,
    _live_and_scale,
    _mysql,
    _cost,
    _clinical,
    _mongo,
    _face,
)


def figures(results: dict[str, Any]) -> Rows:
    """(part, measure, value) rows of every part the run has."""
    return [row for section in _SECTIONS for row in section(results)]
