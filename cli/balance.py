"""Spreading a server's connections evenly over its workers.

All workers accept on one listening socket. Each worker holds its own descriptor of it, a
`BalancedSocket` that knows the worker's slot in a small file the workers share
(`Shares`: per worker, its process id and how many connections it holds open). Before
accepting, a worker looks there: when it already holds more connections than the least
busy live worker, it leaves the connection for that one (its `accept` answers "nothing to
accept", as when another worker was quicker). Every worker's event loop wakes when a
connection arrives, so the less busy one takes it within microseconds; if it does not
within `PATIENCE` (busy with a long request, or stuck), the busier one takes it after all:
no connection waits on a worker that does not come.

Why not SO_REUSEPORT with a socket per worker: the kernel then picks the worker by a hash
of the client's address and port, so a few long-lived connections (8 keep-alive clients, a
proxy's pool) often land 6 to 2 or worse, and the one busy worker, which Python runs on one
core, sets the pace while the other idles. Counting is exact instead: connections differ
by at most one between workers.

While a worker leaves a pending connection to another, its event loop sees the socket
readable on every turn (for at most `PATIENCE`), and pauses briefly (`PAUSE`) each time:
the cost of a connection's arrival, not of its requests.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import socket
import struct
import tempfile
import time
from multiprocessing.reduction import DupFd, ForkingPickler
from pathlib import Path
from typing import Any

__all__ = ["PATIENCE", "BalancedSocket", "Shares", "listening_workers"]

PATIENCE = 0.02
"""Seconds a busier worker leaves a pending connection to a less busy one."""
PAUSE = 0.0001
"""Seconds a worker that leaves a connection to another sleeps before its event loop looks
again, so that it does not spin on the readable socket and take the very core the other
worker needs to come and accept."""
_SLOT = struct.Struct("qq")  # process id, open connections
_PREFIX = "hatchery-workers-"  # then the supervisor's process id


def listening_workers(supervisor: int) -> set[int]:
    """The live workers of the server that process `supervisor` runs that listen (each
    counts itself once it does): for tools that wait until every worker is ready."""
    found: set[int] = set()
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}{supervisor}-*"):
        with contextlib.suppress(OSError):
            found.update(pid for pid, _ in _SLOT.iter_unpack(path.read_bytes())
                         if pid and _alive(pid))
    return found


class Shares:
    """Each worker's process id and open connections, in a file every worker maps."""

    def __init__(self, path: str, slots: int) -> None:
        self.path = path
        self.slots = slots
        with open(path, "r+b") as file:
            self._map = mmap.mmap(file.fileno(), _SLOT.size * slots)

    @classmethod
    def create(cls, slots: int) -> Shares:
        """A new, empty file for `slots` workers (remove it with `remove` at exit)."""
        descriptor, path = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-")
        os.ftruncate(descriptor, _SLOT.size * slots)
        os.close(descriptor)
        return cls(path, slots)

    def remove(self) -> None:
        self._map.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def claim(self, slot: int) -> None:
        """This process is the worker of `slot`, holding no connection yet."""
        _SLOT.pack_into(self._map, slot * _SLOT.size, os.getpid(), 0)

    def add(self, slot: int, change: int) -> None:
        """Only the slot's own worker (its event loop thread) writes the slot."""
        offset = slot * _SLOT.size + 8
        (held,) = struct.unpack_from("q", self._map, offset)
        struct.pack_into("q", self._map, offset, held + change)

    def held(self, slot: int) -> int:
        held: int = struct.unpack_from("q", self._map, slot * _SLOT.size + 8)[0]
        return held

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections a live worker other than `slot`'s holds; None if none."""
        fewest: int | None = None
        for other, (pid, held) in enumerate(_SLOT.iter_unpack(self._map)):
            if pid and other != slot and (fewest is None or held < fewest) and _alive(pid):
                fewest = held
        return fewest

    def total(self) -> int:
        return sum(held for _, held in _SLOT.iter_unpack(self._map))


class BalancedSocket(socket.socket):
    """One worker's descriptor of the shared listening socket (see the module's doc)."""

    shares: Shares
    slot: int
    _waiting_since: float | None
    _waiting_total: int

    @classmethod
    def of(cls, listening: socket.socket, shares: Shares, slot: int) -> BalancedSocket:
        """A descriptor of `listening` for the worker of `slot`."""
        sock = cls(listening.family, listening.type, listening.proto,
                   fileno=os.dup(listening.fileno()))
        sock.set_inheritable(True)
        sock._join(shares, slot)
        return sock

    def _join(self, shares: Shares, slot: int) -> None:
        self.shares, self.slot = shares, slot
        self._waiting_since, self._waiting_total = None, -1

    def listen(self, backlog: int = socket.SOMAXCONN) -> None:
        """The worker is ready (asyncio listens when it starts serving): counted from now."""
        super().listen(backlog)
        self.shares.claim(self.slot)

    def accept(self) -> tuple[socket.socket, Any]:
        if self._leave_to_another():
            time.sleep(PAUSE)
            raise BlockingIOError(errno.EAGAIN, "left to a less busy worker")
        descriptor, address = self._accept()  # type: ignore[attr-defined]
        connection = _Counted(self.family, self.type, self.proto, fileno=descriptor)
        connection.counted_in(self.shares, self.slot)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            connection.setblocking(True)
        return connection, address

    def _leave_to_another(self) -> bool:
        shares = self.shares
        fewest = shares.fewest_elsewhere(self.slot)
        if fewest is None or shares.held(self.slot) <= fewest:
            self._waiting_since = None
            return False
        # Waiting counts from when the workers' connections last changed: a connection
        # another worker took (or one closed) starts a new wait.
        now, total = time.monotonic(), shares.total()
        if self._waiting_since is None or total != self._waiting_total:
            self._waiting_since, self._waiting_total = now, total
        if now - self._waiting_since < PATIENCE:
            return True
        self._waiting_since = None
        return False

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuilt, (DupFd(self.fileno()), self.family, self.type, self.proto,
                          self.shares.path, self.shares.slots, self.slot)


class _Counted(socket.socket):
    """An accepted connection, counted in its worker's slot until it is closed."""

    _shares: Shares | None = None
    _slot = 0

    def counted_in(self, shares: Shares, slot: int) -> None:
        self._shares, self._slot = shares, slot
        shares.add(slot, 1)

    def close(self) -> None:
        shares, self._shares = self._shares, None
        if shares is not None:
            shares.add(self._slot, -1)
        super().close()


def _rebuilt(duplicate: Any, family: int, kind: int, proto: int, path: str, slots: int,
             slot: int) -> BalancedSocket:
    """The socket as a spawned worker receives it (multiprocessing pickles its descriptor)."""
    sock = BalancedSocket(family, kind, proto, fileno=duplicate.detach())
    sock._join(Shares(path, slots), slot)
    return sock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


ForkingPickler.register(BalancedSocket, BalancedSocket.__reduce__)
