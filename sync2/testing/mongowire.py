"""A throw-away MongoDB wire-protocol server on 127.0.0.1, for tests, the demo and the benchmark.

No real ``mongod`` can be installed on the build machines, and an in-process fake (mongomock)
answers one call at a time, so it hides what a server shows: bulk-write error details, upserts
racing from several processes, lease races. ``nx-27017`` (PyPI, a test extra) speaks the wire
protocol over SQLite files. This starts it on a free port with its own temporary data directory,
waits until it answers ``ping``, and stops it by its PID at the end::

    with WireMongoServer() as server:
        store = open_store(server.url("passport"))

It is not MongoDB; ``docs/mongodb.md`` lists the differences the store code allows for.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

__all__ = ["WireMongoServer", "WireMongoUnavailable", "free_port"]


class WireMongoUnavailable(RuntimeError):
    """``nx-27017`` is not installed (``pip install -e '.[test]'`` brings it)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    """The server's console script beside this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("nx-27017")
    found = str(beside) if beside.exists() else shutil.which("nx-27017")
    if found is None:
        msg = "nx-27017 is not installed; pip install -e '.[test]' brings it"
        raise WireMongoUnavailable(msg)
    return [found]


class WireMongoServer:
    """``nx-27017`` in the foreground, one SQLite file per database in a temporary folder."""

    def __init__(self, start_timeout: float = 20.0) -> None:
        self.start_timeout = start_timeout
        self.port = 0
        self.pid: int | None = None
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "") -> str:
        """A ``mongodb://`` URL for ``database`` on this server (direct, no replica set)."""
        return f"mongodb://127.0.0.1:{self.port}/{database}?directConnection=true"

    def start(self) -> WireMongoServer:
        command = _command()
        self._dir = Path(tempfile.mkdtemp(prefix="sync2-nx27017-"))
        self.port = free_port()
        log = self._dir / "server.log"
        (self._dir / "data").mkdir()
        self._proc = subprocess.Popen(
            [
                *command,
                "--data-dir",
                str(self._dir / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-file",
                str(log),
                "--pid-file",
                str(self._dir / "server.pid"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            cwd=self._dir,
        )
        self.pid = self._proc.pid
        self._wait_until_up(log)
        return self

    def _wait_until_up(self, log: Path) -> None:
        deadline = time.monotonic() + self.start_timeout
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                with MongoClient(self.url(), serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                return
            except PyMongoError:
                time.sleep(0.1)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        self.stop()
        msg = f"nx-27017 did not answer on 127.0.0.1:{self.port}: {tail}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Terminate the server by its PID (kill it if it hangs) and remove its folder."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=10)
        self._proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> WireMongoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
