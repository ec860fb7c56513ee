"""`hatchery serve`: run the HTTP service under uvicorn, with several worker processes.

Workers: each is a whole service (its own database pool and timer scheduler; due timers are
claimed atomically, so several schedulers still fire each timer once). The default is one
per core, at most four: requests spend most of their time in Python, which one process
runs on one core at a time. On SQLite the writers of all workers take turns at the file's
write lock; readers never wait (WAL).

The listening socket is made here, as `IPPROTO_TCP`: asyncio sets TCP_NODELAY on accepted
connections only for sockets of that protocol, and uvicorn 0.54 binds its own with
protocol 0, which leaves Nagle's algorithm on. Since uvicorn writes a response's headers and
body separately, every response would then wait about 40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from engine.settings import Settings

APP_FACTORY = "api.main:app_from_env"
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker per core, at most four."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes (default: one per core, at most 4).")] = None,
) -> None:
    """Start the service on the configured database with the shipped workflows loaded."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"The console: http://{shown}:{port}/   (the API: /api/v1, its reference: "
               "/docs)")
    run(APP_FACTORY, host=host, port=port, workers=workers or default_workers())


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, inheritable by worker processes (see above)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {error.strerror}",
                                 param_hint="--host/--port") from error
    sock.set_inheritable(True)
    return sock


def run(factory: str, *, host: str, port: int, workers: int, access_log: bool = True,
        log_level: str = "info") -> None:
    """Serve the app made by `factory` ("module:function") with `workers` processes."""
    config = uvicorn.Config(factory, factory=True, host=host, port=port, workers=workers,
                            access_log=access_log, log_level=log_level)
    sock = listening_socket(host, port)
    if workers == 1:
        uvicorn.Server(config).run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()
