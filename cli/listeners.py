"""The listening socket of `hatchery serve`, and the supervisor that gives each worker its
own descriptor of it.

One socket shared plainly by every worker balances badly: each worker's event loop waits
for the socket to become readable, and asyncio then accepts everything pending (up to the
backlog) in one go, so when several connections arrive together the first worker to wake
takes them all; with keep-alive clients that lasts (all 8 benchmark connections on one of
two workers in about half of the runs, the other idle, the rate halved). SO_REUSEPORT, a
socket per worker, spreads by a hash of the client's port: 6 to 2 or worse in a third of
the runs with 8 connections. So every worker accepts on the one socket through a
`cli.balance.BalancedSocket`, which leaves a connection to a worker holding fewer
(`cli/balance.py` says how): the workers' connections differ by at most one.

The supervisor (`OneSocketEach`) owns the descriptors for its whole life: worker i accepts
through descriptor i (its slot in the shared counts), and the worker that replaces it
(after a crash, or on SIGHUP) gets descriptor i again.

The socket is bound once, by `hatchery serve`, without SO_REUSEPORT: a port anything else
listens on is refused with a message naming --host/--port, and no other server can join
ours. It listens once the first worker is ready (as uvicorn's own does: a client
connecting during startup is refused, not left waiting).

Every socket is `IPPROTO_TCP`: asyncio sets TCP_NODELAY on accepted connections only for
sockets of that protocol, and uvicorn 0.54 binds its own with protocol 0, which leaves
Nagle's algorithm on. Since uvicorn writes a response's headers and body separately, every
response would then wait about 40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from cli.balance import BalancedSocket, Shares


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, inheritable by worker processes (see above)."""
    sock = _bound(host, port)
    sock.set_inheritable(True)
    return sock


MAX_WORKERS = 64
"""Slots in the workers' shared counts: `--workers` and later TTIN signals together."""


class BalancedListeners:
    """The listening socket bound to `host:port` (refused with `typer.BadParameter` if the
    port is taken) and one balanced descriptor of it per worker, made on demand."""

    def __init__(self, host: str, port: int) -> None:
        self.listening = listening_socket(host, port)
        self.port: int = self.listening.getsockname()[1]
        self.shares = Shares.create(MAX_WORKERS)
        self.sockets: list[socket.socket] = []

    def for_worker(self, index: int) -> socket.socket:
        """Descriptor `index`, made when first asked for."""
        if index >= MAX_WORKERS:
            raise typer.BadParameter(f"at most {MAX_WORKERS} workers", param_hint="--workers")
        while len(self.sockets) <= index:
            self.sockets.append(BalancedSocket.of(self.listening, self.shares,
                                                  len(self.sockets)))
        return self.sockets[index]

    def close_last(self) -> None:
        """Close the last descriptor (its worker is gone for good)."""
        self.sockets.pop().close()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.listening.close()
        self.shares.remove()


class OneSocketEach(Multiprocess):
    """uvicorn's supervisor, but worker i accepts through descriptor i of `listeners` only,
    and so does any worker started in its place.

    uvicorn starts every worker with `Process(self.config, self.sockets)`. The methods that
    do so are run here one worker at a time, with `self.processes` holding that worker
    alone and `self.sockets` its socket: uvicorn's own code (health checks, restarts,
    giving up when a worker fails to start) serves, unchanged.
    """

    def __init__(self, config: Config, listeners: BalancedListeners) -> None:
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


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise _refused(host, port, error) from error
    return sock


def _refused(host: str, port: int, error: OSError) -> typer.BadParameter:
    return typer.BadParameter(f"cannot listen on {host}:{port}: {error.strerror}",
                              param_hint="--host/--port")
