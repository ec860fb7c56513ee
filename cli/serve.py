"""`hatchery serve`: run the HTTP service under uvicorn, with several worker processes.

Workers: each is a whole service (its own database pool and timer scheduler; due timers are
claimed atomically, so several schedulers still fire each timer once). The default is one
per core, at most four: requests spend most of their time in Python, which one process
runs on one core at a time. On SQLite the writers of all workers take turns at the file's
write lock; readers never wait (WAL).

The listening socket is made here (cli/listeners.py says how and why): every worker
accepts on it through a descriptor of its own that leaves a new connection to a worker
holding fewer (left to themselves, one worker often took them all); it is `IPPROTO_TCP`,
which keeps Nagle's algorithm off.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Annotated

import typer
import uvicorn

from cli.listeners import BalancedListeners, OneSocketEach, listening_socket
from engine.settings import Settings

APP_FACTORY = "api.main:app_from_env"
MAX_DEFAULT_WORKERS = 4
WORKER_START_S = 60


def default_workers() -> int:
    """One worker per core, at most four."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes (default: one per core, at most 4).")] = None,
    metrics_port: Annotated[int | None, typer.Option(
        help="Also serve /metrics without a token on this port (bind it where only the "
             "monitoring network reaches).")] = None,
    metrics_host: Annotated[str, typer.Option(
        help="Address of the --metrics-port listener.")] = "127.0.0.1",
) -> None:
    """Start the service on the configured database with the shipped workflows loaded."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"The console: http://{shown}:{port}/   (the API: /api/v1, its reference: "
               "/docs)")
    shared = _metrics_directory()
    # Each worker's share of HATCHERY_DB_CONNECTIONS (engine.store.pool).
    os.environ.setdefault("HATCHERY_PROCESSES", str(workers or default_workers()))
    try:
        if metrics_port is not None:
            _serve_metrics(settings, metrics_host, metrics_port)
        run(APP_FACTORY, host=host, port=port, workers=workers or default_workers())
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def _metrics_directory() -> str | None:
    """Give the workers a fresh directory to share their counts in (prometheus-client's
    multiprocess mode), unless the operator named one; the one made here is removed at
    exit. Set before any worker starts, so each finds it when it imports the client."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    made = tempfile.mkdtemp(prefix="hatchery-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def _serve_metrics(settings: Settings, host: str, port: int) -> None:
    """`/metrics` alone on its own port, from a thread of this (the supervising) process:
    it reads the workers' shared counts and the database."""
    from api.metrics import Metrics, StoreCollector, metrics_app
    from engine.clock import SystemClock
    from engine.store.db import make_engine

    metrics = Metrics()
    metrics.registry.register(StoreCollector(make_engine(settings.resolved_database_url()),
                                             SystemClock().now))
    config = uvicorn.Config(metrics_app(metrics), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    sock = listening_socket(host, port)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                     name="metrics").start()


def run(factory: str, *, host: str, port: int, workers: int) -> None:
    """Serve the app made by `factory` ("module:function") with `workers` processes.

    Logging is the app's own (`HATCHERY_LOG_FORMAT`, `HATCHERY_LOG_LEVEL`, set up by each
    worker), whose access line (route, status, time, actor, request id) replaces uvicorn's.
    """
    # A worker answers its supervisor's health checks only once its imports are done: on
    # a busy machine that takes longer than uvicorn's 5 s, and a worker killed for it is
    # started again, slowly again, for ever.
    from api.http_protocol import ProblemH11Protocol

    config = uvicorn.Config(factory, factory=True, host=host, port=port, workers=workers,
                            log_config=None, access_log=False, http=ProblemH11Protocol,
                            timeout_worker_healthcheck=WORKER_START_S)
    if workers == 1:
        uvicorn.Server(config).run(sockets=[listening_socket(host, port)])
        return
    listeners = BalancedListeners(host, port)
    try:
        OneSocketEach(config, listeners).run()
    finally:
        listeners.close()
