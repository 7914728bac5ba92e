"""Simulator fixtures: small generated hospitals served over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sync2.simulator import HospitalServer, generate_hospitals, serve_hospitals


@pytest.fixture(scope="module")
def served() -> Iterator[list[HospitalServer]]:
    """Two read-only hospitals shared by a module (tests here must not mutate them)."""
    hospitals = generate_hospitals(n=2, patients=12, obs_per_patient=12, seed=7)
    with serve_hospitals(hospitals) as servers:
        yield servers


@pytest.fixture
def server() -> Iterator[HospitalServer]:
    """A fresh hospital per test, free to mutate."""
    hospitals = generate_hospitals(n=1, patients=6, obs_per_patient=8, seed=3)
    with serve_hospitals(hospitals) as servers:
        yield servers[0]


@pytest.fixture
def fhir(server: HospitalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.fhir_base, auth=(server.username, server.password)) as c:
        yield c


@pytest.fixture
def feed(server: HospitalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/ws/atomfeed") as c:
        yield c
