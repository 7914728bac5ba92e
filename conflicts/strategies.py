"""Three-way decisions over plain field dicts: base (as last synced), passport, incoming.

The same rules serve clinical records and patient demographics, so a record's ``value`` and a
patient's ``birth_date`` are reconciled the same way. Nothing here knows where the dicts came
from or where the answer goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Strategy = Literal["source-wins", "passport-wins", "latest-wins", "manual", "merge"]
#: What ``merge`` falls back to for a field both sides changed differently.
Fallback = Literal["source-wins", "passport-wins", "latest-wins", "manual"]
STRATEGIES: tuple[Strategy, ...] = (
    "source-wins",
    "passport-wins",
    "latest-wins",
    "manual",
    "merge",
)
FALLBACKS: tuple[Fallback, ...] = ("source-wins", "passport-wins", "latest-wins", "manual")

#: ``echo``: nothing changed; ``keep``: only the passport changed; ``apply``: only the source
#: changed (or both reached the same content); ``resolved``: both changed and the strategy chose
#: ``fields``; ``conflict``: both changed and a human must choose.
Action = Literal["echo", "keep", "apply", "resolved", "conflict"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one incoming change, and why (the reason goes to the audit log)."""

    action: Action
    #: The passport-visible content to write (``apply`` / ``resolved``), else None.
    fields: dict[str, Any] | None = None
    reason: str = ""
    #: The strategy that decided a both-changed case.
    strategy: str | None = None
    #: Field paths both sides changed differently (merge reports them).
    overlapping: tuple[str, ...] = field(default_factory=tuple)


def decide(
    base: dict[str, Any],
    passport: dict[str, Any],
    incoming: dict[str, Any],
    *,
    strategy: Strategy,
    fallback: Fallback = "source-wins",
    source_time: str | None = None,
    passport_time: str | None = None,
) -> Decision:
    """Compare the three sides field by field and apply ``strategy`` when both changed.

    ``source_time`` is the source's ``meta.lastUpdated``, ``passport_time`` the passport edit
    time; ``latest-wins`` compares them, ties going to the source.

    >>> base = {"value": "7", "unit": "kg"}
    >>> decide(base, base, base, strategy="manual").action
    'echo'
    >>> decide(base, {"value": "8", "unit": "kg"}, base, strategy="manual").action
    'keep'
    >>> decide(base, base, {"value": "9", "unit": "kg"}, strategy="manual").fields
    {'value': '9', 'unit': 'kg'}
    >>> decide(base, {"value": "8", "unit": "kg"}, {"value": "9", "unit": "kg"},
    ...        strategy="manual").action
    'conflict'
    >>> decide(base, {"value": "8", "unit": "kg"}, {"value": "7", "unit": "lb"},
    ...        strategy="merge").fields
    {'value': '8', 'unit': 'lb'}
    """
    source_changed = incoming != base
    passport_changed = passport != base
    if not source_changed and not passport_changed:
        return Decision("echo", reason="no change")
    if not source_changed:
        return Decision("keep", reason="only the passport changed")
    if not passport_changed:
        return Decision("apply", dict(incoming), reason="only the source changed")
    if passport == incoming:
        return Decision("apply", dict(incoming), reason="both sides made the same change")
    if strategy == "merge":
        return _merge(base, passport, incoming, fallback, source_time, passport_time)
    return _whole(strategy, passport, incoming, source_time, passport_time)


def _whole(
    strategy: Fallback,
    passport: dict[str, Any],
    incoming: dict[str, Any],
    source_time: str | None,
    passport_time: str | None,
) -> Decision:
    """One side's whole content wins (or a human decides)."""
    if strategy == "source-wins":
        return Decision("resolved", dict(incoming), "both changed: the source wins", strategy)
    if strategy == "passport-wins":
        return Decision("resolved", dict(passport), "both changed: the passport wins", strategy)
    if strategy == "latest-wins":
        winner = latest(source_time, passport_time)
        if winner == "source":
            return Decision(
                "resolved", dict(incoming), "both changed: the source change is later", strategy
            )
        if winner == "passport":
            return Decision(
                "resolved", dict(passport), "both changed: the passport edit is later", strategy
            )
        return Decision(
            "conflict", reason="both changed and the source has no time", strategy=strategy
        )
    return Decision("conflict", reason="both changed (manual)", strategy=strategy)


def _merge(
    base: dict[str, Any],
    passport: dict[str, Any],
    incoming: dict[str, Any],
    fallback: Fallback,
    source_time: str | None,
    passport_time: str | None,
) -> Decision:
    merged, overlapping = merge_fields(base, passport, incoming)
    if not overlapping:
        return Decision(
            "resolved", merged, "both changed different fields: merged", "merge", overlapping
        )
    names = ", ".join(overlapping)
    if fallback == "manual":
        return Decision(
            "conflict",
            reason=f"both changed {names} (merge -> manual)",
            strategy="merge",
            overlapping=overlapping,
        )
    winner: str | None = fallback.removesuffix("-wins")
    if fallback == "latest-wins":
        winner = latest(source_time, passport_time)
        if winner is None:
            return Decision(
                "conflict",
                reason=f"both changed {names} and the source has no time (merge -> latest-wins)",
                strategy="merge",
                overlapping=overlapping,
            )
    side = incoming if winner == "source" else passport
    for path in overlapping:
        _set_path(merged, path, _get_path(side, path))
    return Decision(
        "resolved",
        merged,
        f"both changed {names}: {winner} kept (merge -> {fallback})",
        "merge",
        overlapping,
    )


def merge_fields(
    base: dict[str, Any], passport: dict[str, Any], incoming: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Each side's non-overlapping changes, and the dotted paths both changed differently.

    Nested dicts (a record's ``data``) merge key by key; lists and scalars are single values.
    Overlapping paths keep the passport value in the result, for the caller to overrule.

    >>> merge_fields({"a": 1, "d": {"x": 1, "y": 1}}, {"a": 2, "d": {"x": 2, "y": 1}},
    ...              {"a": 3, "d": {"x": 1, "y": 3}})
    ({'a': 2, 'd': {'x': 2, 'y': 3}}, ('a',))
    """
    merged: dict[str, Any] = {}
    overlapping: list[str] = []
    for key in _keys(base, passport, incoming):
        b, p, i = base.get(key), passport.get(key), incoming.get(key)
        if p == b:
            value = i
        elif i == b or p == i:
            value = p
        elif isinstance(p, dict) and isinstance(i, dict) and isinstance(b, dict | None):
            value, inner = merge_fields(b or {}, p, i)
            overlapping.extend(f"{key}.{name}" for name in inner)
        else:
            value = p
            overlapping.append(key)
        if value is not None or key in passport or key in incoming:
            merged[key] = value
    return merged, tuple(overlapping)


def latest(
    source_time: str | None, passport_time: str | None
) -> Literal["source", "passport"] | None:
    """Which side changed last; ties and an unknown passport time go to the source.

    None when only the passport time is known: nothing to compare against, so a human decides
    (Sync 2.0's newIsTheBest behaves the same).

    >>> latest("2024-06-01T10:00:00+00:00", "2024-06-01T09:00:00Z")
    'source'
    >>> latest("2024-06-01T10:00:00+02:00", "2024-06-01T09:00:00Z")
    'passport'
    >>> latest(None, None), latest(None, "2024-01-01")
    ('source', None)
    """
    src, pas = parse_time(source_time), parse_time(passport_time)
    if pas is None:
        return "source"
    if src is None:
        return None
    return "source" if src >= pas else "passport"


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 instant (naive means UTC); None when absent or unreadable.

    >>> parse_time("2024-06-25T10:56:16.000+0000").isoformat()
    '2024-06-25T10:56:16+00:00'
    >>> parse_time("not a date") is None
    True
    """
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _keys(*dicts: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for d in dicts:
        for k in d:
            seen.setdefault(k, None)
    return list(seen)


def _get_path(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
        child = dict(child)
        node[part] = child
        node = child
    node[last] = value
