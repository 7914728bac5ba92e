"""The API with the console mounted: what ``sync2 serve`` runs.

The service knows nothing of the console (it is built on the service, so the service may not
import it); this layer above both puts them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from ..config import Config
from ..service import Service, TokenAuth
from ..service import create_app as create_api
from ..service import serve as serve_api
from ._app import create_console

#: where the console lives under the API's root
CONSOLE_PATH = "/admin"


def console_mounts(service: Service, auth: TokenAuth | None) -> Mapping[str, ASGIApp]:
    """The console over ``service``, keyed by the path it is mounted at."""
    return {CONSOLE_PATH: create_console(service, auth)}


def create_app(service: Service, auth: TokenAuth | None, **options: Any) -> FastAPI:
    """The admin API with the console at ``/admin``; ``options`` as for the API's factory."""
    return create_api(service, auth, mounts=console_mounts(service, auth), **options)


def serve(config: Config, **options: Any) -> None:
    """``sync2 serve``: the API, the console and the scheduler; ``options`` as for
    :func:`sync2.service.serve`."""
    serve_api(config, mounts=console_mounts, **options)
