"""Structured logs, and no patient names or national IDs in them at INFO."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mappers import normalise_national_id
from sync2.service import setup_logging
from sync2.service._logging import QUIET_LOGGERS

from .conftest import ADMIN, DOCTOR, national_id_at_every_hospital, national_ids

P = "/api/openmrs-sync"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    setup_logging(logging.INFO, stream=stream)
    yield stream
    _restore(*saved)


def _restore(handlers: list[logging.Handler], level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_key_value_lines_carry_level_and_extra_fields(log_stream: io.StringIO) -> None:
    logging.getLogger("sync2.test").info("run finished", extra={"source": "central", "n": 3})
    line = log_stream.getvalue().strip()
    assert ' level=INFO logger=sync2.test msg="run finished" source=central n=3' in line


def test_json_lines() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(logging.INFO, json_lines=True, stream=stream)
        logging.getLogger("sync2.test").warning("lease lost", extra={"source": "a"})
        record = json.loads(stream.getvalue())
        assert (record["level"], record["msg"], record["source"]) == ("WARNING", "lease lost", "a")
    finally:
        _restore(*saved)


def test_no_patient_names_or_national_ids_at_info(
    log_stream: io.StringIO, client: Any, servers: Any
) -> None:
    nid = national_id_at_every_hospital(servers)
    assert client.post(f"{P}/sync-all?wait=true", headers=ADMIN).status_code == 200
    assert client.post(f"{P}/sync-patient/{nid}", headers=DOCTOR).status_code == 200
    output = log_stream.getvalue()
    assert "msg=request" in output and "route=/api/openmrs-sync/sync-patient/{national_id}" in (
        output
    )
    assert 'msg="run finished"' in output
    secrets: set[str] = set()
    for values in national_ids(servers):
        secrets |= values | {normalise_national_id(v) for v in values}
    for s in servers:
        for patient in s.hospital.valid_resources("Patient"):
            for name in patient.get("name") or []:
                secrets |= {name.get("family", ""), *name.get("given", [])}
    secrets = {x for x in secrets if len(x) > 2}
    assert secrets
    leaked = sorted(x for x in secrets if x in output)
    assert leaked == []
