"""Service fixtures: simulated hospitals over real HTTP, a Service on them, an API client."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sync2.config import Config
from sync2.demo import config_for_servers
from sync2.service import Service, TokenAuth, create_app
from sync2.simulator import generate_hospitals, serve_hospitals

with warnings.catch_warnings():  # starlette warns about its own httpx use at import time
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN_TOKEN = "admin-token-0123456789abcdef"
DOCTOR_TOKEN = "doctor-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DOCTOR = {"Authorization": f"Bearer {DOCTOR_TOKEN}"}


@pytest.fixture(scope="module")
def servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=2, patients=5, obs_per_patient=3, seed=3)
    with serve_hospitals(hospitals) as running:
        yield running


@pytest.fixture
def config(servers: list[Any], passport_url: Callable[..., str]) -> Config:
    return config_for_servers(servers, passport_url())


@pytest.fixture
def make_service() -> Iterator[Callable[..., Service]]:
    built: list[Service] = []

    def _make(config: Config, **options: Any) -> Service:
        service = Service.build(config, **{"tick": 0.02, **options})
        built.append(service)
        return service

    yield _make
    for service in built:
        service.close()


@pytest.fixture
def service(config: Config, make_service: Callable[..., Service]) -> Service:
    return make_service(config)


@pytest.fixture
def auth() -> TokenAuth:
    tokens = TokenAuth()
    tokens.add("admin", "ops", ADMIN_TOKEN)
    tokens.add("doctor", "dr-who", DOCTOR_TOKEN)
    return tokens


@pytest.fixture
def client(service: Service, auth: TokenAuth) -> Iterator[TestClient]:
    with TestClient(create_app(service, auth)) as c:
        yield c


def write_config(path: Path, servers: list[Any], store: Path) -> Path:
    """A sync2.toml over running simulated hospitals, as a user writes one."""
    lines = [f'[passport]\nstore = "sqlite:///{store}"\n']
    for s in servers:
        lines.append(
            f'[[sources]]\nid = "{s.hospital.id}"\nname = "{s.hospital.name}"\n'
            f'base_url = "{s.url}"\nusername = "{s.username}"\npassword = "{s.password}"\n'
            'feeds = ["location", "patient", "encounter", "observation"]\n'
            "interval_seconds = 3600\n"
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def national_ids(servers: list[Any]) -> list[set[str]]:
    """The national IDs of each hospital, written as that hospital writes them."""
    found = []
    for s in servers:
        values = set()
        for p in s.hospital.valid_resources("Patient"):
            for ident in p.get("identifier") or []:
                if "National" in str(ident.get("type", {})):
                    values.add(ident["value"])
        found.append(values)
    return found


def national_id_at_every_hospital(servers: list[Any]) -> str:
    """A national ID written identically at every hospital."""
    shared = set.intersection(*national_ids(servers))
    assert shared, "the simulator made no patient known (identically) at every hospital"
    return sorted(shared)[0]


def national_id_written_differently(servers: list[Any]) -> str:
    """A national ID (as the first hospital writes it) that another writes with other separators."""
    from mappers import normalise_national_id

    first, *others = national_ids(servers)
    for value in sorted(first):
        for other in others:
            same = {o for o in other if normalise_national_id(o) == normalise_national_id(value)}
            if same and value not in same:
                return value
    raise AssertionError("the simulator wrote every shared national ID the same way")


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on 127.0.0.1; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started, "the API did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def api(service: Service, auth: TokenAuth) -> Iterator[str]:
    """The admin API over real HTTP: its base URL."""
    with serve_app(create_app(service, auth)) as url:
        yield url
