"""Reliability fixtures: simulated hospitals over real HTTP, passports built with fast retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync2.config import Config
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.sources.breaker import CircuitBreaker
from sync2.sources.http import HttpTransport
from sync2.sources.openmrs_fhir import OpenMRSFhirSource
from sync2.store import PassportStore, open_store
from sync2.store._base import FAILED_OPEN_STATES

Sleeps = list[float]


def fast_source(
    config: Config, source_id: str, sleeps: Sleeps | None = None, **breaker: Any
) -> OpenMRSFhirSource:
    """An OpenMRS source whose retries wait a hundredth of the real time (and record it)."""
    sc = config.source(source_id)
    assert sc.base_url is not None
    recorded = sleeps if sleeps is not None else []

    def _sleep(seconds: float) -> None:
        recorded.append(seconds)

    transport = HttpTransport(
        sc.base_url,
        username=sc.username,
        password=sc.password.get_secret_value() if sc.password else None,
        config=config.http,
        sleep=_sleep,
        backoff_seconds=0.001,
        max_retry_after=0.01,
        breaker=CircuitBreaker(
            source_id,
            threshold=breaker.get("threshold", 5),
            cooldown_seconds=breaker.get("cooldown_seconds", 0.05),
        ),
    )
    return OpenMRSFhirSource(sc, config.http, transport=transport)


@pytest.fixture
def make_passport(
    passport_url: Callable[..., str],
) -> Iterator[Callable[..., tuple[Config, PassportStore, Pipeline]]]:
    """Build (config, store, pipeline) over running servers; ``fast=True`` injects fast sources."""
    opened: list[tuple[PassportStore, Pipeline]] = []

    def _make(
        servers: list[Any], name: str = "passport", *, fast: bool = False, **options: Any
    ) -> tuple[Config, PassportStore, Pipeline]:
        pipeline_options = options.pop("pipeline_options", {})
        config = config_for_servers(servers, passport_url(name), **options)
        config.retry.backoff_seconds = 0.01
        config.retry.max_attempts = 3
        store = open_store(config.passport.store)
        if fast:
            pipeline_options["sources"] = {
                sc.id: fast_source(config, sc.id) for sc in config.sources
            }
        pipeline = Pipeline(config, store, **pipeline_options)
        opened.append((store, pipeline))
        return config, store, pipeline

    yield _make
    for store, pipeline in opened:
        pipeline.close()
        store.close()


def open_failed(store: PassportStore) -> list[Any]:
    return store.list_failed(states=FAILED_OPEN_STATES)
