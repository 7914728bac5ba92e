"""End-to-end fixtures: simulated hospitals served over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync2.config import Config
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import PassportStore, open_store


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=3, patients=8, obs_per_patient=6, seed=3)
    with serve_hospitals(hospitals) as running:
        yield running


@pytest.fixture
def make_passport(
    passport_url: Callable[..., str],
) -> Iterator[Callable[..., tuple[Config, PassportStore, Pipeline]]]:
    """Build (config, store, pipeline) for the running servers; closes them at the end."""
    opened: list[tuple[PassportStore, Pipeline]] = []

    def _make(
        servers: list[Any], name: str = "passport", **options: Any
    ) -> tuple[Config, PassportStore, Pipeline]:
        pipeline_options = options.pop("pipeline_options", {})
        config = config_for_servers(servers, passport_url(name), **options)
        store = open_store(config.passport.store)
        pipeline = Pipeline(config, store, **pipeline_options)
        opened.append((store, pipeline))
        return config, store, pipeline

    yield _make
    for store, pipeline in opened:
        pipeline.close()
        store.close()
