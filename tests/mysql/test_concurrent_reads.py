"""Pages read in one thread while point look-ups run in another, as the engine does when it
prefetches (``concurrent_reads``): both see the same data as a sequential read, and neither
trips over the other's half-read result (one shared DB-API connection would).
"""

from __future__ import annotations

from typing import Any

import pytest

from sync2.engine.prefetch import Prefetcher

from .test_mysql_source import PATIENT_7, WEIGHT_OBS, drain, source

pytestmark = pytest.mark.mysql


def test_pages_and_look_ups_in_two_threads(openmrs):
    sequential = source(openmrs.dsn("omrs"), page_size=1)
    expected, _, _ = drain(sequential, {})
    want_patient = sequential.fetch("Patient", [PATIENT_7]).found
    sequential.close()
    assert WEIGHT_OBS in expected and want_patient

    src = source(openmrs.dsn("omrs"), page_size=1)
    assert src.concurrent_reads
    found: dict[str, Any] = {}
    looked_up = 0
    with Prefetcher(src.batches({}), depth=1) as pages:
        for batch in pages:  # the worker reads the next page while this thread looks up
            for resource in batch.resources:
                found[resource["id"]] = resource
            assert src.fetch("Patient", [PATIENT_7]).found == want_patient
            looked_up += 1
    src.close()
    assert looked_up > 10
    assert found == expected
