"""Run hospitals over real HTTP: uvicorn in a background thread on 127.0.0.1.

Shaped like httpx's own test server (``serve_in_thread``): bind the socket first so the port is
known before the thread starts, poll ``started``, and ask the server to exit on the way out.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from types import TracebackType

import uvicorn

from ._app import SimulatorApp
from ._faults import FaultConfig, FaultPicker
from ._hospital import Hospital


class HospitalServer:
    """One hospital served on ``url`` (the OpenMRS root; FHIR at ``url + "/ws/fhir2/R4"``).

    ``faults`` may be replaced while the server runs; ``stats`` counts requests by kind
    (``feed_pages``, ``fhir_reads``, ``fhir_searches``, ``fhir_pages``, ``fhir_resources``,
    ``unauthorized``, ``gone``, ``not_found``, ``faults``, ``fault_<kind>``...).
    """

    def __init__(
        self,
        hospital: Hospital,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
    ) -> None:
        self.hospital = hospital
        self.host = host
        self.username = f"sync_{hospital.id}"
        self.password = secrets.token_urlsafe(16)
        self.stats: Counter[str] = Counter()
        self.app = SimulatorApp(hospital, self.username, self.password, self.stats)
        self._faults: FaultConfig | None = None
        self.faults = faults
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/openmrs"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"HospitalServer({self.hospital.id!r}, {self.url!r})"

    @property
    def fhir_base(self) -> str:
        return f"{self.url}/ws/fhir2/R4"

    @property
    def faults(self) -> FaultConfig | None:
        return self._faults

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        self._faults = config
        self.app.picker = FaultPicker(config) if config is not None else None

    def start(self) -> None:
        """Serve in a daemon thread; returns once the socket accepts requests."""
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="critical",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
            server_header=False,
            date_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"hospital-{self.hospital.id}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                msg = f"simulator for {self.hospital.id} did not start on {self.url}"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread, release the socket."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
        self._sock.close()

    def __enter__(self) -> HospitalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def serve_hospitals(
    hospitals: Sequence[Hospital],
    faults: FaultConfig | None = None,
    *,
    host: str = "127.0.0.1",
    ports: Sequence[int] | None = None,
) -> Iterator[list[HospitalServer]]:
    """Serve each hospital on its own port (ephemeral unless ``ports``) for the ``with`` block.

    Example::

        with serve_hospitals(generate_hospitals(n=2)) as servers:
            httpx.get(servers[0].url + "/ws/atomfeed/patient/recent")
    """
    with ExitStack() as stack:
        servers = []
        for i, hospital in enumerate(hospitals):
            port = ports[i] if ports is not None else 0
            server = HospitalServer(hospital, host=host, port=port, faults=faults)
            stack.callback(server.stop)
            server.start()
            servers.append(server)
        yield servers
