"""``python -m sync2.console``: simulated hospitals and ``sync2 serve`` with the console, in one go.

For a newcomer to see the console with live data: it starts simulated hospitals on 127.0.0.1,
makes an admin and a doctor token for this run only, prints them with the console's address,
and serves the API and the console with the scheduler on (until Ctrl-C). While it runs, the
hospitals keep recording new observations, so the overview has something to show.
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading

from ..demo import config_for_servers
from ..simulator import generate_hospitals, serve_hospitals
from ._serve import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sync2.console", description=__doc__)
    parser.add_argument("--hospitals", type=int, default=3, help="How many simulated hospitals.")
    parser.add_argument("--port", type=int, default=8090, help="Port of the API and console.")
    parser.add_argument("--store", default="sqlite:///console-demo.db", help="The passport.")
    parser.add_argument("--interval", type=float, default=10.0, help="Seconds between syncs.")
    args = parser.parse_args(argv)

    hospitals = generate_hospitals(n=args.hospitals, patients=30, obs_per_patient=12, seed=7)
    admin, doctor = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    os.environ["SYNC2_API_TOKENS"] = f"admin:{admin},doctor:{doctor}"
    with serve_hospitals(hospitals) as servers:
        config = config_for_servers(servers, args.store)
        for source in config.sources:
            source.interval_seconds = args.interval
        stop = threading.Event()
        threading.Thread(target=_keep_recording, args=(servers, stop), daemon=True).start()
        print(f"admin console: http://127.0.0.1:{args.port}/admin/")
        print(f"  admin token:  {admin}")
        print(f"  doctor token: {doctor}")
        print("  (tokens for this run only; Ctrl-C to stop)", flush=True)
        try:
            serve(config, host="127.0.0.1", port=args.port, start_scheduler=True)
        finally:
            stop.set()


def _keep_recording(servers: list[object], stop: threading.Event) -> None:
    """A few new observations every few seconds at each hospital."""
    while not stop.wait(5.0):
        for server in servers:
            server.hospital.add_random_observations(3)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
