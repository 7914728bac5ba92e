"""``sync2 serve`` and ``sync2 run``: load the config, build the service, run until signalled."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from .._errors import ConfigError
from ..config import Config, load_config
from ._auth import TokenAuth, load_tokens
from ._envconfig import config_from_env, has_env_config
from ._service import SHUTDOWN_GRACE_SECONDS, Service

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("sync2.toml")
#: systemd and Kubernetes stop a service with SIGTERM, a terminal with SIGINT: both are graceful.
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The admin API's certificate (PEM, the chain after the leaf) and private key."""

    certfile: str
    keyfile: str

    def check(self) -> None:
        """Raises ConfigError naming a file that cannot be read (before the port is opened)."""
        for what, name in (("certificate", self.certfile), ("key", self.keyfile)):
            try:
                Path(name).read_bytes()
            except OSError as exc:
                msg = f"TLS {what} {name}: cannot read it: {exc.strerror}"
                raise ConfigError(msg) from exc


def load_service_config(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """The config file when given (or ``./sync2.toml`` exists), else the Passport's variables.

    Raises:
        ConfigError: a named file is missing or invalid, or there is neither file nor variables.
    """
    env = os.environ if env is None else env
    if path is not None:
        return load_config(path, env=env)
    if DEFAULT_CONFIG.exists():
        return load_config(DEFAULT_CONFIG, env=env)
    if has_env_config(env):
        return config_from_env(env)
    msg = (
        f"no config: pass --config, create {DEFAULT_CONFIG}, or set the Patient Passport's "
        "HOSPITAL_N_* environment variables"
    )
    raise ConfigError(msg)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_auth(
    config: Config, host: str, *, insecure_local: bool, env: Mapping[str, str] | None = None
) -> TokenAuth | None:
    """The API's tokens; None (no auth) only with ``insecure_local`` on a loopback address.

    Raises:
        ConfigError: no token at all and not (``insecure_local`` and loopback); or
            ``insecure_local`` on a non-loopback address.
    """
    env = os.environ if env is None else env
    if insecure_local:
        if not is_loopback(host):
            msg = f"--insecure-local is only allowed on a loopback address, not {host!r}"
            raise ConfigError(msg)
        return None
    auth = load_tokens(env, env_name=config.admin.token_env, token_file=config.admin.token_file)
    if len(auth) == 0:
        msg = (
            f"the admin API has no token: set {config.admin.token_env} or admin.token_file "
            "(or use --insecure-local on 127.0.0.1)"
        )
        raise ConfigError(msg)
    return auth


def _wait_for_signal() -> None:
    done = threading.Event()

    def _handler(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    for sig in _STOP_SIGNALS:
        signal.signal(sig, _handler)
    done.wait()


def run_scheduler(config: Config) -> None:
    """``sync2 run``: the scheduler alone until SIGINT/SIGTERM; runs in progress finish."""
    service = Service.build(config)
    try:
        service.scheduler.start()
        log.info("worker running", extra={"worker": service.scheduler.owner})
        _wait_for_signal()
    finally:
        service.close()


class _Server(uvicorn.Server):
    """uvicorn, minus one habit: after a graceful stop it re-raises the signal it caught, which
    for SIGTERM kills the process before the scheduler's runs can end and release their leases.
    Here SIGTERM is handled like SIGINT: the server stops, then :func:`serve` closes the service.
    """

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    insecure_local: bool = False,
    start_scheduler: bool | None = None,
    tls: TlsFiles | None = None,
    grace: float = SHUTDOWN_GRACE_SECONDS,
    reload: Callable[[], Config] | None = None,
    mounts: Callable[[Service, TokenAuth | None], Mapping[str, ASGIApp]] | None = None,
) -> None:
    """``sync2 serve``: the admin API (uvicorn) and the scheduler until SIGINT/SIGTERM.

    ``mounts`` builds the apps served beside the API once the service exists (the console:
    :func:`sync2.console.serve` passes it).

    On either signal the API stops taking requests (those in flight get ``grace`` seconds),
    then runs in progress get ``grace`` seconds to finish before they stop at a checkpoint,
    and their leases are released: a restart (or another worker) can sync at once.
    """
    from ._api import create_app

    host = host or config.admin.host
    port = config.admin.port if port is None else port
    auth = api_auth(config, host, insecure_local=insecure_local)
    if tls is not None:
        tls.check()
    service = Service.build(config)
    service.reload = reload
    try:
        if config.admin.auto_start if start_scheduler is None else start_scheduler:
            service.start(interval_seconds=None, actor="system")
        app = create_app(service, auth, mounts=mounts(service, auth) if mounts else None)
        # access_log off: its lines carry request paths, and sync-patient's path holds a
        # national ID; the API logs the route template instead.
        server = _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=max(1, int(grace)),
                ssl_certfile=tls.certfile if tls else None,
                ssl_keyfile=tls.keyfile if tls else None,
            )
        )
        log.info(
            "admin API listening",
            extra={"host": host, "port": port, "scheme": "https" if tls else "http"},
        )
        server.run()
        log.info("admin API stopped; ending the runs in progress")
    finally:
        service.close(grace=grace)
    log.info("sync2 serve stopped")
