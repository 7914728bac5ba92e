"""sync2 as a service: the scheduler, the admin HTTP API, metrics, tokens and structured logs.

``sync2 serve`` runs :func:`serve` (API + scheduler), ``sync2 run`` runs :func:`run_scheduler`.
Tests and embedders build a :class:`Service` and pass it to :func:`create_app`.
"""

from __future__ import annotations

from ._api import create_app
from ._auth import Principal, TokenAuth, hash_token, load_tokens
from ._envconfig import config_from_env, has_env_config
from ._http import PREFIX
from ._logging import JsonFormatter, KeyValueFormatter, setup_logging
from ._metrics import Metrics
from ._runner import TlsFiles, api_auth, is_loopback, load_service_config, run_scheduler, serve
from ._scheduler import Scheduler, SourceBusy, SourceState, audit_problems
from ._service import ResolveUnavailable, Service

__all__ = [
    "PREFIX",
    "JsonFormatter",
    "KeyValueFormatter",
    "Metrics",
    "Principal",
    "ResolveUnavailable",
    "Scheduler",
    "Service",
    "SourceBusy",
    "SourceState",
    "TlsFiles",
    "TokenAuth",
    "api_auth",
    "audit_problems",
    "config_from_env",
    "create_app",
    "has_env_config",
    "hash_token",
    "is_loopback",
    "load_service_config",
    "load_tokens",
    "run_scheduler",
    "serve",
    "setup_logging",
]
