"""Structured logs: one ``key=value`` (or JSON) line per record, with its level.

Fields passed through ``extra={...}`` become keys of the line. At INFO the service logs only
ids, counts and timings: record uuids and source ids, never patient names or national IDs (the
API's own request log names the route template, ``/sync-patient/{national_id}``, not the path).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

#: Libraries whose INFO lines carry request URLs, and so national IDs
#: (``Patient?identifier=NID-...``, ``/sync-patient/NID-...``): kept at WARNING.
QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access")

#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI copy of msg
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            fields[key] = value
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    return fields


def _quote(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n'):
        return text
    return json.dumps(text)


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=INFO logger=sync2.service msg="run finished" source=central written=3``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_quote(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def setup_logging(
    level: int | str = logging.INFO, *, json_lines: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one structured handler; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
