"""The closed-window watermark: read ``>= watermark - overlap``, drop what was already seen.

A watermark over rows that commit out of order (a lower ``obs_id`` committed after a higher one
was read) or whose timestamps come from skewed clocks cannot be a strict ``>``: a late row would
fall behind it forever. So every read starts ``overlap`` before the watermark, and the cursor
keeps the keys seen inside that overlap (``boundary``) to drop the rows delivered last time.
With ``overlap = 0`` this is the plain closed window of STYLE.md ("Cursors and commits"): poll
``ge`` the watermark and keep the ids seen exactly at it.

A row's ``key`` names one *version* of a row (``"uuid"`` for immutable rows, ``"uuid@version"``
for rows that change in place), so a changed row is delivered again while a re-read is not.
Marks are integers (an auto-increment id or epoch seconds) so the cursor stays plain JSON.

The function is pure; the MySQL source and the FHIR ``_lastUpdated`` poller both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple


class WindowResult(NamedTuple):
    """``kept``: rows to deliver; ``watermark``/``boundary``: the cursor once they are stored."""

    kept: list[tuple[str, int]]
    watermark: int | None
    boundary: dict[str, int]


def close_window(
    rows: Iterable[tuple[str, int]],
    watermark: int | None,
    boundary: Mapping[str, int],
    overlap: int,
) -> WindowResult:
    """Deduplicate one read against the previous boundary and move the watermark.

    Args:
        rows: ``(key, mark)`` pairs read with ``mark >= watermark - overlap`` (any order).
        watermark: the previous watermark (``None`` before the first read).
        boundary: key -> mark of the rows already delivered inside the previous overlap.
        overlap: how far behind the watermark the next read starts (ids or seconds, >= 0).

    Returns:
        ``(kept, new_watermark, boundary_ids)``: the rows not delivered before (first copy of
        each key, in input order), the highest mark seen, and every key (old or new) whose mark
        lies in the next read's overlap ``[new_watermark - overlap, new_watermark]``.

    >>> close_window([("a", 5), ("b", 7)], None, {}, 2)
    WindowResult(kept=[('a', 5), ('b', 7)], watermark=7, boundary={'a': 5, 'b': 7})
    >>> close_window([("a", 5), ("c", 6), ("b", 7)], 7, {"a": 5, "b": 7}, 2)
    WindowResult(kept=[('c', 6)], watermark=7, boundary={'a': 5, 'b': 7, 'c': 6})
    """
    if overlap < 0:
        msg = f"overlap must be >= 0, got {overlap}"
        raise ValueError(msg)
    seen: dict[str, int] = dict(boundary)
    kept: list[tuple[str, int]] = []
    new_watermark = watermark
    for key, mark in rows:
        if new_watermark is None or mark > new_watermark:
            new_watermark = mark
        if key in seen:
            continue
        seen[key] = mark
        kept.append((key, mark))
    if new_watermark is None:
        return WindowResult(kept, None, {})
    floor = new_watermark - overlap
    return WindowResult(kept, new_watermark, {k: m for k, m in seen.items() if m >= floor})
