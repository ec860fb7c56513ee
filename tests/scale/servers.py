"""Real `hatchery serve` processes for the scale tests: one OS process each (one uvicorn
worker), on a free loopback port, sharing the database they are given; killed with SIGKILL
when a test says so, restarted on the same port.

Every process gets the same session secret and its own data folder, as separate servers
behind a load balancer would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from engine.access.tokens import TokenStore
from engine.settings import PROJECT_ROOT
from engine.store.db import make_engine

START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiProcess:
    """One `hatchery serve --workers 1` process; its output goes to a log file."""

    def __init__(self, name: str, db_url: str, workflows: Path, folder: Path, *,
                 run_timers: bool = False, timer_poll_s: float = 0.2,
                 extra_env: dict[str, str] | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.data = folder / name
        self.data.mkdir(parents=True, exist_ok=True)
        self.log = folder / f"{name}.log"
        self.env = {**os.environ, "DATABASE_URL": db_url,
                    "HATCHERY_DATA_DIR": str(self.data),
                    "HATCHERY_WORKFLOWS_DIR": str(workflows),
                    "HATCHERY_WORKFLOWS_POLL_SECONDS": "0",
                    "HATCHERY_SESSION_SECRET": "scale-tests-shared-secret",
                    "HATCHERY_RUN_TIMERS": "true" if run_timers else "false",
                    "HATCHERY_TIMER_POLL_SECONDS": str(timer_poll_s),
                    "HATCHERY_LOG_LEVEL": "WARNING",
                    **(extra_env or {})}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        self.starts += 1
        command = [sys.executable, "-c", "from cli.main import app; app()", "serve",
                   "--port", str(self.port), "--workers", "1"]
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, transactions in flight cut off."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-6000:]


@contextmanager
def api_processes(count: int, db_url: str, workflows: Path, folder: Path,
                  **options: object) -> Iterator[list[ApiProcess]]:
    """`count` processes on `db_url`, started together, stopped after."""
    processes = [ApiProcess(f"api-{i + 1}", db_url, workflows, folder,
                            **options)  # type: ignore[arg-type]
                 for i in range(count)]
    try:
        # The first migrates (and registers the workflows) alone; the others find it done.
        processes[0].start().wait_ready()
        for process in processes[1:]:
            process.start()
        for process in processes[1:]:
            process.wait_ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


def make_token(db_url: str, roles: list[str], community: str, name: str | None = None,
               permissions: tuple[str, ...] = ()) -> str:
    """A bearer token stored in the shared database (every process accepts it)."""
    engine = make_engine(db_url)
    try:
        _, token = TokenStore(engine).create(name or f"t{uuid.uuid4().hex[:10]}", roles,
                                             community, permissions, now=datetime.now(UTC))
    finally:
        engine.dispose()
    return token


def client(base: str, token: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(base_url=base + "/api/v1", timeout=timeout,
                        headers={"Authorization": f"Bearer {token}"})
