"""A side-by-side field diff of a conflict: base, passport and incoming per field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One field of a conflict; ``changed_by`` says which side moved it away from the base."""

    field: str
    base: Any
    passport: Any
    incoming: Any

    @property
    def changed_by(self) -> str:
        """``""``, ``passport``, ``source``, ``both`` (same change) or ``conflict``."""
        p, i = self.passport != self.base, self.incoming != self.base
        if p and i:
            return "both" if self.passport == self.incoming else "conflict"
        return "passport" if p else "source" if i else ""


def field_diff(
    base: Mapping[str, Any] | None,
    passport: Mapping[str, Any],
    incoming: Mapping[str, Any],
    *,
    fields: tuple[str, ...] | None = None,
    only_changed: bool = False,
) -> list[DiffRow]:
    """Rows for ``fields`` (default: every key of the three sides); nested dicts are flattened
    to dotted paths so ``data.result`` shows on its own line.

    >>> rows = field_diff({"value": "7", "unit": "kg"}, {"value": "8", "unit": "kg"},
    ...                   {"value": "9", "unit": "kg"}, only_changed=True)
    >>> [(r.field, r.passport, r.incoming, r.changed_by) for r in rows]
    [('value', '8', '9', 'conflict')]
    """
    b, p, i = _flat(base or {}), _flat(passport), _flat(incoming)
    names: list[str] = []
    for flat in (b, p, i):
        names.extend(n for n in flat if n not in names)
    if fields is not None:
        names = [n for n in names if n.split(".", 1)[0] in fields]
    rows = [DiffRow(n, b.get(n), p.get(n), i.get(n)) for n in names]
    return [r for r in rows if r.changed_by] if only_changed else rows


def show(value: Any) -> str:
    """A short printable form of a field value.

    >>> show(None), show("x"), show(["a", 1])
    ('', 'x', '["a", 1]')
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _flat(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out
