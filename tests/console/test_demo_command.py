"""``python -m sync2.console``: the one command a newcomer runs to see the console with data."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import CSRF


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_demo_command_serves_the_console_with_its_printed_token(tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "sync2.console", "--hospitals", "2", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--store", f"sqlite:///{tmp_path / 'demo.db'}", "--interval", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        printed = "".join(proc.stdout.readline() for _ in range(4))
        admin = re.search(r"admin token:\s+(\S+)", printed)
        assert admin, printed
        assert f"http://127.0.0.1:{port}/admin/" in printed
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        synced = False
        with httpx.Client(base_url=base, follow_redirects=False) as web:
            while time.monotonic() < deadline and not synced:
                time.sleep(0.3)
                try:
                    status = web.get(
                        "/api/openmrs-sync/status",
                        headers={"Authorization": f"Bearer {admin.group(1)}"},
                    )
                except httpx.TransportError:
                    continue
                sources = status.json()["data"]["sources"]
                synced = all(s["last_success"] for s in sources)
            assert synced, "the demo's scheduler did not sync its hospitals"
            page = web.get("/admin/login")
            signed = web.post(
                "/admin/login",
                data={"token": admin.group(1), "csrf_token": CSRF.findall(page.text)[0]},
            )
            assert signed.status_code == 303
            overview = web.get("/admin/")
            assert overview.status_code == 200 and "Central Hospital" in overview.text
    finally:
        assert proc.stdout is not None
        proc.stdout.close()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
