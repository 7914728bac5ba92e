"""Serve generated hospitals from a child process and tell the parent where they are."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def serve_forever(spec: dict[str, Any]) -> None:
    """Child side: generate, serve, print one JSON line of servers, wait for stdin to close."""
    from sync2.simulator import generate_hospitals, serve_hospitals

    hospitals = generate_hospitals(
        n=spec["hospitals"],
        patients=spec["patients"],
        obs_per_patient=spec["obs_per_patient"],
        seed=spec.get("seed", 1),
        shared_fraction=spec.get("shared_fraction", 0.3),
        clinical=False,  # the obs path, measured as before the whole-history types
    )
    if "feed_dialect" in spec or "fhir" in spec:  # a classic-feed or REST-only hospital
        from sync2.simulator._rest import configure

        for hospital in hospitals:
            configure(
                hospital,
                feed_dialect=spec.get("feed_dialect", "sync2"),
                fhir=spec.get("fhir", True),
            )
    with serve_hospitals(hospitals) as servers:
        info = [
            {
                "id": s.hospital.id,
                "name": s.hospital.name,
                "url": s.url,
                "username": s.username,
                "password": s.password,
                "observations": len(s.hospital.valid_observations()),
            }
            for s in servers
        ]
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # the parent closes our stdin when it is done


@contextmanager
def simulators(spec: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Parent side: a child process serving the hospitals of ``spec``."""
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
        yield json.loads(line)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
