"""Fixtures for the patient-link end-to-end tests: two small simulated hospitals over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sync2.simulator import generate_hospitals, serve_hospitals
from tests.e2e.conftest import make_passport

__all__ = ["make_passport"]


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    """Two hospitals, few patients: the link tests add the patients they are about."""
    hospitals = generate_hospitals(n=2, patients=3, obs_per_patient=3, seed=11)
    with serve_hospitals(hospitals) as running:
        yield running
