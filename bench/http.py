"""HTTP fires per second on loopback, against a bare FastAPI endpoint in the same run.

Both servers run the same way: uvicorn with 2 workers in a child process on 127.0.0.1
(`bench/_serve.py` says why not plain `uvicorn --workers 2`). Client processes keep one
connection per thread and fire, each on a case of its own, alternating `ping` and `pong`
of a two-state workflow, so that every request is a real change: token lookup, scope
check, load, decide, conditional update, chained event, commit. The bare endpoint parses
the same JSON body and answers without any I/O.

Keys (the PostgreSQL ones only when a server answers, at HATCHERY_BENCH_POSTGRES_URL,
HATCHERY_TEST_POSTGRES_URL or the CI default):

    http.bare.per_s
    http.sqlite.per_s      http.sqlite.ratio_to_bare      http.sqlite.p95_ms
    http.postgres.per_s    http.postgres.ratio_to_bare    http.postgres.p95_ms

DESIGN.md's budget: ratio_to_bare at least 0.3.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._databases import postgres_url, scratch_store
from cli.balance import listening_workers

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = """
id: bench_ping_pong
version: 1.0.0
title: {en: Ping pong}
fields:
  count: {type: integer, default: 0}
states:
  ping: {initial: true}
  pong: {}
transitions:
  - {trigger: ping, from: ping, to: pong, effects: {count: data.count + 1}}
  - {trigger: pong, from: pong, to: ping, effects: {count: data.count + 1}}
"""
CLIENT_PROCESSES = 2
THREADS_PER_CLIENT = 4


def run(quick: bool) -> dict[str, float]:
    """Measure; QUICK keeps the whole run under about 20 seconds.

    The servers start together (their start-up is most of a quick run) and are measured
    one after the other, so that they never compete for the machine.
    """
    seconds, warmup = (1.5, 0.5) if quick else (8.0, 1.0)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hatchery-bench-http-") as tmp, \
            ExitStack() as stack:
        base = Path(tmp)
        workflows = base / "workflows"
        workflows.mkdir()
        (workflows / "bench_ping_pong.yaml").write_text(WORKFLOW, encoding="utf-8")
        env = {"HATCHERY_WORKFLOWS_DIR": str(workflows), "HATCHERY_DATA_DIR": str(base)}
        bare = stack.enter_context(_server("bench._bare_app:create", env))
        stores = [("sqlite", f"sqlite:///{base / 'bench.db'}")]
        postgres = postgres_url()
        if postgres is not None:
            stores.append(("postgres", postgres))
        measured = []
        for name, url in stores:
            database_url = stack.enter_context(scratch_store(url))
            store_env = {**env, "DATABASE_URL": database_url}
            token, cases = _prepare(store_env, _connections())
            server = stack.enter_context(_server("api.main:app_from_env", store_env))
            measured.append((name, server, token, cases))
        for server in (bare, *(m[1] for m in measured)):
            server.wait_ready()
        bare_ids = [uuid.uuid4().hex[:16] for _ in range(_connections())]
        bare_rate, _ = _load(bare.address, "", bare_ids, seconds, warmup)
        results["http.bare.per_s"] = round(bare_rate, 1)
        for name, server, token, cases in measured:
            rate, latencies = _load(server.address, token, cases, seconds, warmup)
            results[f"http.{name}.per_s"] = round(rate, 1)
            results[f"http.{name}.ratio_to_bare"] = round(rate / bare_rate, 3) if bare_rate else 0
            results[f"http.{name}.p95_ms"] = round(_p95(latencies) * 1000, 2)
    return results


def _connections() -> int:
    return CLIENT_PROCESSES * THREADS_PER_CLIENT


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20)[18]


def _prepare(env: dict[str, str], count: int) -> tuple[str, list[str]]:
    """Migrate, register the workflow, make a token and one case per connection."""
    from engine.access.tokens import TokenStore
    from engine.core.decision import Actor
    from engine.service import build_service
    from engine.settings import Settings

    settings = Settings(database_url=env["DATABASE_URL"],
                        HATCHERY_WORKFLOWS_DIR=Path(env["HATCHERY_WORKFLOWS_DIR"]),
                        HATCHERY_DATA_DIR=Path(env["HATCHERY_DATA_DIR"]))
    service = build_service(settings)
    try:
        _, token = TokenStore(service.engine).create(
            f"bench{uuid.uuid4().hex[:8]}", ["caseworker"], "bench",
            now=datetime.now(UTC))
        actor = Actor("bench", frozenset({"caseworker"}))
        cases = [service.start_case("bench_ping_pong", {}, actor=actor,
                                    community="bench/c").case.id for _ in range(count)]
    finally:
        service.engine.dispose()
    return token, cases


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Server:
    """A uvicorn child process serving one app on 127.0.0.1."""

    def __init__(self, app: str, env: dict[str, str], workers: int = 2) -> None:
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.workers = workers
        command = [sys.executable, "-m", "bench._serve", app, str(self.port), str(workers)]
        # The log goes to a file: a pipe nobody reads would stop the server once full.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                        stdout=subprocess.DEVNULL, stderr=self.log)

    def wait_ready(self) -> None:
        """Return once every worker listens and the server answers (at most 60 s), or
        raise with the server's error. A worker that is not listening yet would leave all
        the connections to the others, and the run would measure fewer workers."""
        deadline = time.monotonic() + 60
        answers = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                error = self.log.read().decode(errors="replace")
                raise RuntimeError(f"the benchmark server exited: {error[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    answers += 1
                    if answers >= 2 and (self.workers == 1 or len(
                            listening_workers(self.process.pid)) >= self.workers):
                        return
                connection.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the benchmark server did not start within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()


@contextmanager
def _server(app: str, env: dict[str, str], workers: int = 2) -> Iterator[_Server]:
    """Start serving `app` (a factory) with `workers` workers; stopped when the block
    ends."""
    server = _Server(app, env, workers)
    try:
        yield server
    finally:
        server.stop()


def _load(url: str, token: str, cases: list[str], seconds: float,
          warmup: float) -> tuple[float, list[float]]:
    """Fire from several client processes for `seconds` after `warmup`; the rate of
    successful fires per second and every measured latency."""
    # fork: the clients need nothing of the parent but this module, and start in
    # milliseconds (the parent holds no open database connection by now).
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue()
    start = time.time() + 0.3  # every client starts together, once they all exist
    shares = [cases[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    processes = [context.Process(target=_client, args=(url, token, share, start, warmup,
                                                       seconds, queue))
                 for share in shares]
    for p in processes:
        p.start()
    done, latencies, failures = 0, [], 0
    for _ in processes:
        count, times, failed = queue.get(timeout=seconds + warmup + 60)
        done += count
        latencies.extend(times)
        failures += failed
    for p in processes:
        p.join(timeout=10)
    if failures:
        print(f"bench.http: {failures} request(s) failed", file=sys.stderr)
    return done / seconds, latencies


def _client(url: str, token: str, cases: list[str], start: float, warmup: float,
            seconds: float, queue: Any) -> None:
    """One client process: a thread per case, each with its own keep-alive connection."""
    host, port = url.split(":")
    counted: list[int] = []
    times: list[float] = []
    failed: list[int] = []
    lock = threading.Lock()

    def loop(case_id: str) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.connect()
        # http.client writes the headers and the body separately: without this, Nagle's
        # algorithm and delayed ACKs add 40 ms to every request.
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        triggers = ("ping", "pong")
        n, mine, bad = 0, [], 0
        while time.time() < start:
            time.sleep(0.005)
        measure_from, stop = start + warmup, start + warmup + seconds
        step = 0
        while True:
            began = time.time()
            if began >= stop:
                break
            body = json.dumps({"trigger": triggers[step % 2], "input": {}})
            connection.request("POST", f"/api/v1/cases/{case_id}/events", body, headers)
            response = connection.getresponse()
            response.read()
            ended = time.time()
            if response.status == 200:
                step += 1
                if began >= measure_from and ended <= stop:
                    n += 1
                    mine.append(ended - began)
            else:
                bad += 1
        connection.close()
        with lock:
            counted.append(n)
            times.extend(mine)
            failed.append(bad)

    threads = [threading.Thread(target=loop, args=(case,)) for case in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((sum(counted), times, sum(failed)))
