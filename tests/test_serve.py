"""`hatchery serve`: several worker processes on one socket, Nagle's algorithm off."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def served(tmp_path: Path, *options: str, log: Path | None = None
           ) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`hatchery serve` on a free port with `options`, stopped (all its processes) after;
    its standard error goes to `log` when given."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
           "HATCHERY_DATA_DIR": str(tmp_path), "HATCHERY_WORKFLOWS_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with (log.open("wb") if log is not None else open(os.devnull, "wb")) as errors:
        server = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import app; app()", "serve", "--port",
             str(port), *options], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        try:
            yield server, port
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def answers(server: subprocess.Popen[bytes], url: str, times: int = 1) -> int:
    """GET `url` on new connections until it answered 200 `times` (60 s at most)."""
    done, deadline = 0, time.monotonic() + 60
    while done < times and time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            with httpx.Client(timeout=5) as client:
                assert client.get(url).status_code == 200
            done += 1
        except httpx.TransportError:
            time.sleep(0.05)
    return done


def test_serve_with_two_workers_runs_two_processes_that_answer(tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "2") as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 10) == 10
        assert len(_workers_of(server.pid)) == 2


def test_each_request_has_one_access_line_the_apps_not_uvicorns_too(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with served(tmp_path, "--workers", "1", log=log) as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 3) == 3
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len([line for line in lines if "hatchery.request: GET /healthz 200" in line]) == 3
    assert not [line for line in lines if "uvicorn.access" in line]


def test_the_metrics_port_serves_every_workers_counts_without_a_token(
        tmp_path: Path) -> None:
    metrics_port = _free_port()
    with served(tmp_path, "--workers", "2", "--metrics-port", str(metrics_port)) as (
            server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 6) == 6
        assert answers(server, f"http://127.0.0.1:{metrics_port}/metrics") == 1
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    healthz = [line for line in text.splitlines() if line.startswith(
        'hatchery_http_requests_total{') and 'route="/healthz"' in line]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in healthz) == 6
    assert "hatchery_store_up 1.0" in text


def test_a_request_too_malformed_to_reach_the_app_is_answered_with_a_problem(
        tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "1") as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz") == 1
        for raw in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                    b"NOT A REQUEST LINE\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(raw)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400"), answer
            assert b"content-type: application/problem+json" in head.lower()
            problem = json.loads(body)
            assert problem["status"] == 400 and problem["code"] == "malformed_request"
