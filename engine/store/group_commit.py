"""Group commit: the changes that the threads of one process queue for SQLite's write lock
are written in one transaction, each in a savepoint of its own, and committed together
(`GroupCommit.run`).

Why: SQLite lets one writer in at a time, and each commit waits for an fsync
(`synchronous=FULL`, about half a millisecond here) with the write lock held. While a
writer waits for its disk, the other threads of its process get ready and queue for the
lock; then the processes hand the lock to each other once per change. Measured before this
module (2 server workers, 8 client connections): 1.95 ms of server CPU and 0.78 ms of idle
machine time per HTTP fire. Here the first thread that finds nobody writing for its
process becomes the leader: it takes the writer's turn (`engine.store.turns`) and the
write lock, runs its own change and then those queued meanwhile (at most `LIMIT`), each in
its member's own context (`contextvars`: its request id, its attempt for the operations
log), and commits once: one fsync and one hand-over per batch instead of one per change.

What each member sees stays what it would see alone: its change runs after the ones
before it in the batch and reads what they wrote, as it would have read them committed;
one that fails is rolled back to its savepoint and leaves the others alone. Every member
gets its answer (its result, or its exception raised in its own thread) only after the
commit: nobody hears of a change before it is durable. A failed commit fails every member
with `StoreUnavailable`; if the leader itself is interrupted (a `BaseException`), the
transaction is rolled back and every member it took gets a `StoreUnavailable` too, and
the members still queued get a new leader, so nobody waits forever.

The leader's own change runs first, in its own thread and context, without a savepoint:
when nobody else is queued (a single writer, the command line, a test) a change costs what
it cost before this module. Should that first change fail, its transaction is rolled back
and begun again for the members that follow. PostgreSQL takes no part: its writers lock
rows, not the database, and run side by side (`group_commit` gives None there).
"""

from __future__ import annotations

import contextvars
import os
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, exc

from engine.errors import StoreUnavailable
from engine.store.db import (
    begin_immediate,
    database_label,
    describe_error,
    unavailable,
    write_connection,
)

__all__ = ["LIMIT", "GroupCommit", "Member", "group_commit"]

T = TypeVar("T")

LIMIT = 32
"""Most changes in one transaction: the write lock is held for all of them, and the other
processes wait that long."""


class Member(Generic[T]):
    """One change waiting for, or in, a group's transaction."""

    __slots__ = ("_connection", "_context", "_done", "_error", "_lead", "_name", "_task",
                 "_thread", "_value")

    def __init__(self, task: Callable[[Connection, Member[T]], T],
                 context: contextvars.Context | None) -> None:
        self._task = task
        self._context = context
        # Only a member that waits for a leader needs an event to wake on.
        self._done = threading.Event() if context is not None else _NO_WAIT
        self._lead = False
        self._value: T | None = None
        self._error: BaseException | None = None
        self._name: str | None = None
        self._connection: Connection | None = None
        self._thread = 0

    def rewind(self) -> None:
        """Undo what this member wrote so far; it goes on in the same transaction (a
        refusal that must leave nothing of the change, then records the attempt). The
        first member has no savepoint: its transaction is begun again."""
        connection = self._connection
        assert connection is not None
        if self._name is None:
            _restart(connection)
        else:
            _execute(connection, f"ROLLBACK TO {self._name}")

    def _answer(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


_NO_WAIT = threading.Event()


class GroupCommit:
    """The group commit of one SQLite engine; shared by every thread of a process."""

    def __init__(self, engine: Engine, limit: int = LIMIT) -> None:
        self.engine = engine
        self.limit = limit
        self._reset()
        _EVERY.add(self)

    def _reset(self) -> None:
        """Nobody leading, nobody queued: as made, and in a forked child (the parent's
        leader and waiting threads are not there)."""
        self._mutex = threading.Lock()
        self._queue: deque[Member[Any]] = deque()
        self._leading = False
        self._leader = 0

    def leading(self) -> bool:
        """Whether a change of this process is writing, or waiting for its turn to."""
        return self._leading

    def queued(self) -> int:
        """How many changes wait for the current leader to take them."""
        return len(self._queue)

    def run(self, task: Callable[[Connection, Member[T]], T]) -> T:
        """Run `task(connection, member)` in a write transaction shared with the changes
        other threads queue meanwhile; its value, or its exception, once committed.

        An exception from `task` rolls back what it wrote (its savepoint) and is raised
        here after the commit, as `StoreUnavailable` when it is a database failure (as
        `write_connection` does)."""
        me = threading.get_ident()
        with self._mutex:
            if self._leading:
                if self._leader == me:
                    # It would wait for itself: a change started inside another one.
                    raise RuntimeError("a change cannot start inside another change's "
                                       "transaction")
                member: Member[T] = Member(task, contextvars.copy_context())
                member._thread = me
                self._queue.append(member)
            else:
                self._leading = True
                self._leader = me
                member = Member(task, None)
                member._lead = True
        if not member._lead:
            member._done.wait()
            if not member._lead:
                return member._answer()
        self._lead(member)
        return member._answer()

    def _lead(self, first: Member[Any]) -> None:
        """Run `first` and the members queued behind it in one transaction, commit, then
        answer them all and hand the lead to the next one queued."""
        taken: list[Member[Any]] = [first]
        try:
            self._write(taken)
        except BaseException:
            # The leader was interrupted: the transaction is rolled back; the members it
            # took hear so, the leader's own thread gets the interruption.
            interrupted = (f"the database {database_label(self.engine)} did not write this "
                           "change: the transaction it shared with other changes was "
                           "interrupted; retry")
            for member in taken[1:]:
                member._error = StoreUnavailable(interrupted)
            raise
        finally:
            if len(taken) > 1:
                for member in taken[1:]:
                    member._done.set()
            with self._mutex:
                if self._queue:
                    following = self._queue.popleft()
                    following._lead = True
                    self._leader = following._thread
                    following._done.set()
                else:
                    self._leading = False

    def _write(self, taken: list[Member[Any]]) -> None:
        """The transaction: the leader's task (in its own thread and context, without a
        savepoint), the followers', then one commit. Every member's answer is set when
        this returns."""
        first = taken[0]
        try:
            with write_connection(self.engine) as connection:
                first._connection = connection
                try:
                    first._value = first._task(connection, first)
                except Exception as error:
                    if not self._failed(connection, first, error):
                        raise _Lost(first) from None
                if self._queue:
                    self._follow(connection, taken)
        except _Lost as lost:
            # SQLite rolled the whole transaction back under one member's failure: that
            # member has its own error; what the others wrote is gone with it.
            cause = lost.member._error
            failure = cause if isinstance(cause, StoreUnavailable) else StoreUnavailable(
                describe_error(self.engine, lost))
            for member in taken:
                if member is not lost.member:
                    member._error = _own(failure)
        except Exception as error:  # the turn, BEGIN, a SAVEPOINT, COMMIT
            failure = error if isinstance(error, StoreUnavailable) else _caused(
                StoreUnavailable(describe_error(self.engine, error)), error)
            for member in taken:
                member._error = _own(failure)

    def _follow(self, connection: Connection, taken: list[Member[Any]]) -> None:
        """The members queued meanwhile, each in its savepoint and its own context."""
        number = 0
        queue = self._queue
        while queue and len(taken) < self.limit:
            # Only the leader takes from the queue, and a deque's ends are thread-safe: no
            # mutex (one queued just after the last look is promoted by `_lead`).
            member = queue.popleft()
            taken.append(member)
            number += 1
            member._name = f"member_{number}"
            member._connection = connection
            _execute(connection, f"SAVEPOINT {member._name}")
            try:
                assert member._context is not None
                member._value = member._context.run(member._task, connection, member)
            except Exception as error:
                if not self._failed(connection, member, error):
                    raise _Lost(member) from None
            _execute(connection, f"RELEASE {member._name}")

    def _failed(self, connection: Connection, member: Member[Any], error: Exception) -> bool:
        """Keep the member's exception for its thread (a database failure as
        `StoreUnavailable`) and undo what it wrote. False when that cannot be done alone:
        SQLite rolled the transaction back (a full disk, an I/O error) or the undo itself
        failed."""
        failure = unavailable(self.engine, error)
        member._error = error if failure is None else _caused(failure, error)
        try:
            if member._name is not None and not _driver(connection).in_transaction:
                return False
            member.rewind()
        except Exception:  # then the whole transaction goes
            return False
        return True


class _Lost(Exception):
    """The shared transaction cannot go on after `member`'s failure: roll it all back."""

    def __init__(self, member: Member[Any]) -> None:
        super().__init__("the transaction shared by a group of changes was rolled back")
        self.member = member


def _own(failure: StoreUnavailable) -> StoreUnavailable:
    """A copy of a failure shared by a batch, for one member: each thread raises its own
    (a raised exception collects its traceback, which threads must not share)."""
    return _caused(StoreUnavailable(*failure.args), failure.__cause__ or failure)


def _caused(failure: StoreUnavailable, cause: BaseException) -> StoreUnavailable:
    failure.__cause__ = cause
    return failure


def _restart(connection: Connection) -> None:
    """Roll the write transaction back and begin it again, the writer's turn kept."""
    if _driver(connection).in_transaction:
        _execute(connection, "ROLLBACK")
    begin_immediate(connection)


def _execute(connection: Connection, statement: str) -> None:
    """A statement on the driver's connection, its errors wrapped as SQLAlchemy wraps them
    (so that they become `StoreUnavailable`)."""
    try:
        _driver(connection).execute(statement)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(statement, (), error, sqlite3.Error,
                                      dialect=connection.dialect) from error


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


_EVERY: weakref.WeakSet[GroupCommit] = weakref.WeakSet()


def _after_fork() -> None:
    for group in list(_EVERY):
        group._reset()


os.register_at_fork(after_in_child=_after_fork)

_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_CREATING = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit | None:
    """The engine's group commit: SQLite only (None for PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    group = _GROUPS.get(engine)
    if group is None:
        with _CREATING:
            group = _GROUPS.get(engine)
            if group is None:
                group = _GROUPS[engine] = GroupCommit(engine)
    return group
