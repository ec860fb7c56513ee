"""`hatchery serve`: several worker processes on one socket, Nagle's algorithm off."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cli.serve import default_workers, listening_socket
from engine.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_listening_socket_is_tcp_so_accepted_connections_get_nodelay() -> None:
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_the_default_is_one_worker_per_core_at_most_four() -> None:
    assert default_workers() == max(1, min(os.cpu_count() or 1, 4))


def _workers_of(pid: int) -> list[int]:
    """The worker processes uvicorn's supervisor `pid` started (multiprocessing spawns)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_serve_with_two_workers_runs_two_processes_that_answer(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
           "HATCHERY_DATA_DIR": str(tmp_path), "HATCHERY_WORKFLOWS_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import app; app()", "serve", "--port",
         str(port), "--workers", "2"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        answers, deadline = 0, time.monotonic() + 60
        while answers < 10 and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                with httpx.Client(timeout=5) as client:  # a new connection each time
                    assert client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                answers += 1
            except httpx.TransportError:
                time.sleep(0.05)
        assert answers == 10
        assert len(_workers_of(server.pid)) == 2
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
