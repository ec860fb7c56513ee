"""SQLite writers take turns before asking SQLite for its write lock (`SqliteTurns`)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from pathlib import Path

from engine.errors import StoreUnavailable

__all__ = ["SqliteTurns", "locked_message"]


class SqliteTurns:
    """Writers of one SQLite file take turns here before asking SQLite for its write lock.

    Why: a writer that finds the write lock taken is put to sleep by SQLite's busy handler
    for 1, 2, 5, 10 ... up to 100 ms before it looks again, so under concurrent writes the
    lock stands idle most of the time and fires wait tens of milliseconds for a commit that
    takes one. Here the threads of a process queue on a lock that wakes the next one at
    once, and the one thread per process whose turn it is takes an advisory lock on a file
    beside the database (`<file>-writer.lock`), so that several worker processes take turns
    just as tightly: when the file is locked by another process, a thread of this process
    (`_FileWaiter`) waits for it in the kernel, which wakes it as soon as it is free. Both
    waits end at the busy timeout with the same "locked" error SQLite would give; a process
    that ignores the turn file (the sqlite3 shell, an old version) is still kept out by
    SQLite's own lock.
    """

    def __init__(self, database: Path, patience: float) -> None:
        self.database = database
        self.patience = patience
        self._threads = threading.Lock()
        self._file: int | None = None
        self._waiter: _FileWaiter | None = None
        self._pid = 0
        _EVERY.add(self)

    def _forked(self) -> None:
        """In a forked child: the parent's writer, if one held the threads' lock when the
        process forked, is not there to release it."""
        self._threads = threading.Lock()

    def _descriptor(self) -> int:
        # A forked child must not share the parent's open file (and so its lock), nor
        # count on the parent's waiting thread, which it does not have.
        if self._file is None or self._pid != os.getpid():
            self._file = os.open(f"{self.database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._waiter = None
            self._pid = os.getpid()
        return self._file

    def acquire(self) -> None:
        """Wait for this writer's turn: the threads' lock, then the file's; `release`
        after. `StoreUnavailable` ("locked") when the busy timeout passes first."""
        deadline = time.monotonic() + self.patience
        if not self._threads.acquire(timeout=self.patience):
            raise StoreUnavailable(locked_message(str(self.database)))
        try:
            descriptor = self._descriptor()
            waiter = self._waiter
            if waiter is None:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    waiter = self._waiter = _FileWaiter(descriptor)
            if not waiter.take(deadline - time.monotonic()):
                raise StoreUnavailable(locked_message(str(self.database)))
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._threads.release()


class _FileWaiter:
    """Takes the turn file's lock for the process's writer whose turn it is, waiting for
    it in a thread of its own (a blocking `flock`, the interpreter free meanwhile), so that
    the caller can give up at its busy timeout.

    A caller that gave up leaves this thread waiting in the kernel; when the lock comes, it
    is handed to the writer asking by then, or given back at once when nobody is. While
    this thread waits, the writers of the process ask it rather than the file: the lock
    belongs to the open file, which they share, so a writer taking it directly while this
    thread's wait is pending could have it released under its feet."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._state = threading.Condition(threading.Lock())
        self._asking: threading.Event | None = None
        self._pending = False
        threading.Thread(target=self._wait, name="sqlite-writer-turn", daemon=True).start()

    def take(self, patience: float) -> bool:
        """Take the file's lock within `patience` seconds; False when it stayed taken."""
        with self._state:
            if not self._pending:
                try:
                    fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    pass
            given = self._asking = threading.Event()
            self._state.notify()
        if given.wait(max(patience, 0.0)):
            return True
        with self._state:
            if given.is_set():  # handed over just as the caller gave up: it is the caller's
                return True
            self._asking = None
        return False

    def _wait(self) -> None:
        while True:
            with self._state:
                while self._asking is None:
                    self._state.wait()
                self._pending = True
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
            with self._state:
                self._pending = False
                asking, self._asking = self._asking, None
                if asking is None:
                    fcntl.flock(self._descriptor, fcntl.LOCK_UN)
                else:
                    asking.set()


_EVERY: weakref.WeakSet[SqliteTurns] = weakref.WeakSet()


def _after_fork() -> None:
    for turns in list(_EVERY):
        turns._forked()


os.register_at_fork(after_in_child=_after_fork)


def locked_message(path: str) -> str:
    return (f"the SQLite database {path} is locked by another process and stayed "
            "locked past the busy timeout; retry, or stop the process holding it")
