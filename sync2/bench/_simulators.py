"""Serve generated hospitals from a child process, and count what they serve.

The hospitals' cost is counted where it is paid: an ASGI wrapper in the child counts every request
and the bytes of every response body the hospital sends, by kind (atom feed, FHIR, REST). The
parent talks to the child over its stdin/stdout, one JSON line each way: ``stats``, ``reset``,
``marks`` (feed lengths), ``add_obs`` (new obs written at the hospitals) and ``sync20`` (what the
Sync 2.0 algorithm would have asked of the same hospitals). Closing stdin stops the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync2.simulator import HospitalServer

#: path prefix -> the kind of request it is counted as
_KINDS = (
    ("/openmrs/ws/atomfeed/", "feed"),
    ("/openmrs/ws/fhir2/", "fhir"),
    ("/openmrs/ws/rest/", "rest"),
)


class CountingApp:
    """Wraps a hospital's ASGI app: requests and response-body bytes, in total and by kind."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:  # ``picker``, ``hospital``, ``handle`` ...
        return getattr(self.app, name)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        kind = next((k for prefix, k in _KINDS if path.startswith(prefix)), "other")
        counts = self.counts
        counts["requests"] += 1
        counts[f"{kind}_requests"] += 1

        async def counted(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                size = len(message.get("body") or b"")
                counts["bytes"] += size
                counts[f"{kind}_bytes"] += size
            await send(message)

        await self.app(scope, receive, counted)


def _add_obs(servers: list[HospitalServer], k: int) -> dict[str, Any]:
    """``k`` new obs at each hospital; the valid obs the hospitals hold afterwards."""
    for server in servers:
        server.hospital.add_random_observations(k)
    return {s.hospital.id: len(s.hospital.valid_observations()) for s in servers}


def _answer(command: dict[str, Any], servers: list[HospitalServer]) -> Any:
    from ._sync20 import feed_marks, sync20_cost

    apps: list[CountingApp] = [s.app for s in servers]  # type: ignore[misc]
    what = command.get("cmd")
    if what == "stats":
        return {s.hospital.id: dict(app.counts) for s, app in zip(servers, apps, strict=True)}
    if what == "reset":
        for app in apps:
            app.counts.clear()
        return {}
    if what == "marks":
        return {s.hospital.id: feed_marks(s.hospital) for s in servers}
    if what == "add_obs":
        return _add_obs(servers, int(command["k"]))
    if what == "sync20":
        since = command.get("since") or {}
        return {
            s.hospital.id: sync20_cost(s, command["feeds"], since.get(s.hospital.id))
            for s in servers
        }
    return {"error": f"unknown command {what!r}"}


def _truth(server: HospitalServer, clinical: bool) -> dict[str, Any]:
    """What a correct client should hold, counted by the simulator itself."""
    hospital = server.hospital
    info: dict[str, Any] = {
        "id": hospital.id,
        "name": hospital.name,
        "url": server.url,
        "username": server.username,
        "password": server.password,
        "observations": len(hospital.valid_observations()),
    }
    if clinical:
        info["valid"] = {rt: len(hospital.valid_resources(rt)) for rt in hospital.tables}
    return info


def serve_forever(spec: dict[str, Any]) -> None:
    """Child side: generate, serve, print one JSON line of servers, answer commands on stdin."""
    from sync2.simulator import HospitalServer, generate_hospitals

    clinical = bool(spec.get("clinical", False))
    hospitals = generate_hospitals(
        n=spec["hospitals"],
        patients=spec["patients"],
        obs_per_patient=spec["obs_per_patient"],
        seed=spec.get("seed", 1),
        shared_fraction=spec.get("shared_fraction", 0.3),
        clinical=clinical,  # off: the obs path, measured as before the whole-history types
    )
    if "feed_dialect" in spec or "fhir" in spec:  # a classic-feed or REST-only hospital
        from sync2.simulator._rest import configure

        for hospital in hospitals:
            configure(
                hospital,
                feed_dialect=spec.get("feed_dialect", "sync2"),
                fhir=spec.get("fhir", True),
            )
    with ExitStack() as stack:
        servers = []
        for hospital in hospitals:
            server = HospitalServer(hospital)
            server.app = CountingApp(server.app)  # type: ignore[assignment]
            stack.callback(server.stop)
            server.start()
            servers.append(server)
        print(json.dumps([_truth(s, clinical) for s in servers]), flush=True)
        for line in sys.stdin:  # the parent closes our stdin when it is done
            if line.strip():
                print(json.dumps(_answer(json.loads(line), servers)), flush=True)


class SimulatorProcess:
    """Parent side of the child: its hospitals, and ``ask`` to send it a command."""

    def __init__(self, proc: subprocess.Popen[str], servers: list[dict[str, Any]]) -> None:
        self.proc = proc
        self.servers = servers

    def ask(self, cmd: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            msg = f"the simulator process exited while answering {cmd!r}"
            raise RuntimeError(msg)
        return json.loads(line)

    def cost(self) -> dict[str, int]:
        """Requests and bytes served since the last reset, summed over the hospitals."""
        total: Counter[str] = Counter()
        for counts in self.ask("stats").values():
            total.update(counts)
        return dict(total)


@contextmanager
def simulator_process(spec: dict[str, Any]) -> Iterator[SimulatorProcess]:
    """A child process serving the hospitals of ``spec``, stopped when the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync2.bench", "simulators", json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            msg = "the simulator process exited before serving"
            raise RuntimeError(msg)
        yield SimulatorProcess(proc, json.loads(line))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def simulators(spec: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Parent side, when only the hospitals' addresses are needed."""
    with simulator_process(spec) as child:
        yield child.servers
