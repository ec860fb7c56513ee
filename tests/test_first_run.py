"""A fresh install, as `make run` starts it: `hatchery serve` says where the console is,
and, with nobody yet, how to create the first person (and the first API token)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_prints_the_console_address_and_how_to_create_the_first_person(
        tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'hatchery.db'}",
           "HATCHERY_DATA_DIR": str(tmp_path), "HATCHERY_RUN_TIMERS": "false"}
    command = [sys.executable, "-c", "from cli.main import app; app()",
               "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    said: list[str] = []
    try:
        deadline = time.monotonic() + 90
        assert server.stdout is not None
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            said.append(line)
            if "no API tokens yet" in line:
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
    output = "".join(said)
    assert f"The console: http://127.0.0.1:{port}/" in output
    assert "no people for the console yet" in output
    assert "hatchery user create --name admin --role admin" in output
