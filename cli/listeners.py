"""The listening sockets of `hatchery serve`, and the supervisor that gives each worker its own.

One socket shared by every worker balances badly: each worker's event loop waits for the
socket to become readable, and asyncio then accepts everything pending (up to the backlog)
in one go, so when several connections arrive together the first worker to wake takes them
all. With keep-alive clients that lasts: we measured all 8 benchmark connections on one of
two workers in about half of the runs, the other worker idle, the rate halved.

On Linux each worker gets a socket of its own instead, all bound to the same address with
SO_REUSEPORT, and the kernel spreads new connections over them (by a hash of the client's
address and port), as nginx's `reuseport` does. The supervisor (`OneSocketEach`) owns the
sockets for its whole life: worker i accepts on socket i, and the worker that replaces it
(after a crash, or on SIGHUP) gets socket i again. Trade-off: a socket keeps listening once
its first worker listened on it, so while a dead worker is being replaced (seconds: a
worker's imports) the new connections the kernel hashes to its socket wait in its queue
instead of going to another worker; none is lost.

Refusing a port someone else listens on: SO_REUSEPORT lets any socket of the same user that
also asks for it bind the port, so a second `hatchery serve` could silently join the first.
The first socket is therefore bound *without* SO_REUSEPORT, which fails (with the message
naming --host/--port) if anything listens there; only then is SO_REUSEPORT set on it, so
that our own further sockets may join it. A second `hatchery serve` binds its first socket
the same way and is refused. Gaps remain. A socket listens only once its worker is ready
(as uvicorn's own does: a client connecting during startup is refused, not left waiting),
and until then SO_REUSEADDR lets a plain socket bind beside it: of two servers started
within the same few seconds, the one whose worker listens second fails then, without that
message (so it was with one shared socket too). And a program of the same user that sets
SO_REUSEPORT itself may join our sockets; other users never can (the kernel checks the uid).

Elsewhere (macOS and the BSDs have SO_REUSEPORT but do not balance with it; Windows lacks
it) and for `--workers 1`, all workers share one socket, as uvicorn does.

Every socket is `IPPROTO_TCP`: asyncio sets TCP_NODELAY on accepted connections only for
sockets of that protocol, and uvicorn 0.54 binds its own with protocol 0, which leaves
Nagle's algorithm on. Since uvicorn writes a response's headers and body separately, every
response would then wait about 40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, inheritable by worker processes (see above)."""
    sock = _bound(host, port, reuse_port=False)
    sock.set_inheritable(True)
    return sock


def reuse_port_balances() -> bool:
    """Whether sockets bound with SO_REUSEPORT share the new connections (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class ReusePortListeners:
    """Sockets bound to one `host:port` with SO_REUSEPORT, made on demand (each worker
    listens on its own once ready); the first is bound as said above, refused with
    `typer.BadParameter` if the port is taken."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        first = _bound(host, port, reuse_port=False)
        first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        # Port 0 asks the system for one; the others must join the one it chose.
        self.port: int = first.getsockname()[1]
        self.sockets = [first]

    def for_worker(self, index: int) -> socket.socket:
        """Socket `index`, made when first asked for."""
        while len(self.sockets) <= index:
            self.sockets.append(_bound(self.host, self.port, reuse_port=True))
        return self.sockets[index]

    def close_last(self) -> None:
        """Stop listening on the last socket (its worker is gone for good)."""
        self.sockets.pop().close()


class OneSocketEach(Multiprocess):
    """uvicorn's supervisor, but worker i accepts on socket i of `listeners` only, and so
    does any worker started in its place.

    uvicorn starts every worker with `Process(self.config, self.sockets)`. The methods that
    do so are run here one worker at a time, with `self.processes` holding that worker
    alone and `self.sockets` its socket: uvicorn's own code (health checks, restarts,
    giving up when a worker fails to start) serves, unchanged.
    """

    def __init__(self, config: Config, listeners: ReusePortListeners) -> None:
        super().__init__(config, sockets=[])
        self.listeners = listeners

    @contextmanager
    def _one_worker(self, index: int) -> Iterator[None]:
        every = self.processes
        self.processes, self.sockets = [every[index]], [self.listeners.for_worker(index)]
        try:
            yield
        finally:
            every[index] = self.processes[0]
            self.processes, self.sockets = every, []

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = Process(self.config, [self.listeners.for_worker(index)])
            process.start()
            self.processes.append(process)

    def keep_subprocess_alive(self) -> None:
        for index in range(len(self.processes)):
            if self.should_exit.is_set():
                return
            with self._one_worker(index):
                super().keep_subprocess_alive()

    def restart_all(self) -> None:
        for index in range(len(self.processes)):
            if self.should_exit.is_set():
                return
            old = self.processes[index]
            with self._one_worker(index):
                super().restart_all()
            if self.processes[index] is old:
                return  # its replacement did not start: uvicorn gives the restart up

    def handle_ttin(self) -> None:
        self.sockets = [self.listeners.for_worker(len(self.processes))]
        try:
            super().handle_ttin()
        finally:
            self.sockets = []

    def handle_ttou(self) -> None:
        workers = len(self.processes)
        super().handle_ttou()
        if len(self.processes) < workers:
            self.listeners.close_last()


def _bound(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise _refused(host, port, error) from error
    return sock


def _refused(host: str, port: int, error: OSError) -> typer.BadParameter:
    return typer.BadParameter(f"cannot listen on {host}:{port}: {error.strerror}",
                              param_hint="--host/--port")
