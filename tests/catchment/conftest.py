"""Simulated hospitals on 127.0.0.1 and passports built for them (as tests/e2e does)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync2.config import Config
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.store import PassportStore, open_store


@pytest.fixture
def make_passport(
    passport_url: Callable[..., str],
) -> Iterator[Callable[..., tuple[Config, PassportStore, Pipeline]]]:
    opened: list[tuple[PassportStore, Pipeline]] = []

    def _make(
        servers: list[Any], name: str = "passport", **options: Any
    ) -> tuple[Config, PassportStore, Pipeline]:
        config = config_for_servers(servers, passport_url(name), **options)
        store = open_store(config.passport.store)
        pipeline = Pipeline(config, store)
        opened.append((store, pipeline))
        return config, store, pipeline

    yield _make
    for store, pipeline in opened:
        pipeline.close()
        store.close()
