"""The database: engine factory, connection settings, error translation (migrations are
`engine.store.migrating`).

Nothing happens at import: `make_engine(url)` builds an engine when asked, and the caller
(`engine.service.build_service`, a test fixture) owns it.

SQLite (the embedded default) gets, on every connection: WAL, `synchronous=FULL`, a busy
timeout and foreign keys. Its write transactions start with `BEGIN IMMEDIATE` (ask for one
with `write_connection(engine)`): a writer takes the write lock before it reads the case,
so it waits its turn (up to the busy timeout) and then reads what the previous writer
committed, instead of failing half-way when a deferred read lock cannot be upgraded.
Readers use a plain `BEGIN` and never block writers (WAL).

PostgreSQL is reached through psycopg 3 (`postgresql+psycopg://...`). Writers lock the case
row (`SELECT ... FOR UPDATE`); every connection gets a lock timeout so that a stuck lock
becomes a clear `StoreUnavailable`, not a hung request.

Any database failure that is not the engine's own business (cannot open, corrupt, locked,
unreachable, refused a statement) surfaces as `engine.errors.StoreUnavailable` with a
message naming the database (password hidden) and the cause, via `translate_errors`.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL

from engine.errors import StoreUnavailable
from engine.store.liveness import ping_after_rest

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
    "database_label",
    "describe_error",
    "make_engine",
    "read_connection",
    "translate_errors",
    "write_connection",
]

DEFAULT_BUSY_TIMEOUT = 10.0
"""Seconds a SQLite writer waits for the write lock before giving up."""
DEFAULT_LOCK_TIMEOUT = 15.0
"""Seconds a PostgreSQL statement waits for a row or table lock before giving up."""
_WRITE = "hatchery_write"
# Any 64-bit constant: serialises concurrent `upgrade` calls of several processes.


def make_engine(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                lock_timeout: float = DEFAULT_LOCK_TIMEOUT, echo: bool = False,
                pool_size: int | None = None, max_overflow: int | None = None,
                statement_timeout: float | None = None) -> Engine:
    """An engine for a `sqlite:///path` or `postgresql+psycopg://...` URL.

    The SQLite file's directory is created when missing. Raises `StoreUnavailable` for a
    URL that is malformed or names a database this engine does not support.
    `pool_size`/`max_overflow` size the connection pool (SQLAlchemy's defaults when None);
    on PostgreSQL a `statement_timeout` (seconds, None or 0: none) cancels any statement
    running longer, and ends a session left idle in a transaction ten times as long.
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise StoreUnavailable(f"DATABASE_URL is not a database URL: {error}") from error
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    # Last in, first out: sequential changes take the connection just returned, whose
    # SQLite page cache is valid (a connection that another one wrote behind re-reads the
    # pages it holds: ~22 preads per fire when two alternate) and whose PostgreSQL backend
    # is warm; connections beyond what the load needs rest, and get pinged when they
    # come back (`engine.store.liveness`).
    pool: dict[str, Any] = {"pool_use_lifo": True}
    if pool_size is not None:
        pool["pool_size"] = pool_size
    if max_overflow is not None:
        pool["max_overflow"] = max_overflow
    if backend == "sqlite":
        return _sqlite_engine(parsed, busy_timeout, echo, pool)
    if backend == "postgresql" and parsed.get_driver_name() == "psycopg":
        return _postgres_engine(parsed, lock_timeout, echo, pool, statement_timeout)
    raise StoreUnavailable(
        f"DATABASE_URL {database_label(parsed)} is not supported: use sqlite:///path or "
        "postgresql+psycopg://user@host/db (PostgreSQL through psycopg 3)"
    )


def _sqlite_engine(url: URL, busy_timeout: float, echo: bool, pool: dict[str, Any]
                   ) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise StoreUnavailable(
            "an in-memory SQLite database cannot be shared between connections: "
            "give DATABASE_URL a file, e.g. sqlite:///data/hatchery.db"
        )
    resolved = Path(database).expanduser().resolve()
    try:
        resolved.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreUnavailable(f"cannot create the directory {resolved.parent}: {error}") \
            from error
    engine = create_engine(url, echo=echo, **pool,
                           connect_args={"timeout": busy_timeout, "check_same_thread": False})
    _SQLITE_TURNS[engine] = _SqliteTurns(resolved, busy_timeout)
    busy_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions on its own: `_begin` below does, so that
        # writers can ask for BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            _enable_wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        # On the driver's connection: once per transaction, SQLAlchemy's execution
        # machinery would cost more than the statement. Errors wrapped as it wraps them.
        try:
            connection.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(statement, (), error, sqlite3.Error,
                                          dialect=connection.dialect) from error

    return engine


def _enable_wal(cursor: Any, patience: float) -> None:
    """Switch the file to WAL (once per file; later connections find it done).

    SQLite does not apply the busy timeout to this switch: two connections opening a new
    file at once would see "database is locked", so wait for the other one here.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _postgres_engine(url: URL, lock_timeout: float, echo: bool, pool: dict[str, Any],
                     statement_timeout: float | None) -> Engine:
    if importlib.util.find_spec("psycopg") is None:
        raise StoreUnavailable(
            f"DATABASE_URL {database_label(url)} is PostgreSQL, which needs the psycopg "
            "driver: install it with  pip install 'hatchery[postgres]'")
    options = url.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    if "lock_timeout" not in options:
        options = f"{options} -c lock_timeout={int(lock_timeout * 1000)}".strip()
    if statement_timeout and "statement_timeout" not in options:
        # A transaction left idle (a frozen process holding row locks) ends after ten times
        # as long: long enough for a slow client reading a streamed export.
        milliseconds = int(statement_timeout * 1000)
        options = (f"{options} -c statement_timeout={milliseconds} "
                   f"-c idle_in_transaction_session_timeout={milliseconds * 10}").strip()
    connect_args: dict[str, Any] = {"options": options}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    engine = create_engine(url, echo=echo, connect_args=connect_args, **pool)
    ping_after_rest(engine)
    return engine


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed when the block ends without error.

    On SQLite the transaction starts with BEGIN IMMEDIATE (the write lock is taken first),
    after the writer's turn (`_SqliteTurns`). Database failures become `StoreUnavailable`;
    `sqlalchemy.exc.IntegrityError` passes through so that callers can tell a unique-key
    race from a broken store.
    """
    turns = _SQLITE_TURNS.get(engine)
    with translate_errors(engine), turns.turn() if turns else nullcontext(), \
            engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection


class _SqliteTurns:
    """Writers of one SQLite file take turns here before asking SQLite for its write lock.

    Why: a writer that finds the write lock taken is put to sleep by SQLite's busy handler
    for 1, 2, 5, 10 ... up to 100 ms before it looks again, so under concurrent writes the
    lock stands idle most of the time and fires wait tens of milliseconds for a commit that
    takes one. Here the threads of a process queue on a lock that wakes the next one at
    once, and the one thread per process whose turn it is takes an advisory lock on a file
    beside the database (`<file>-writer.lock`, polled every 0.2 ms), so that several worker
    processes take turns just as tightly. Both waits end at the busy timeout with the same
    "locked" error SQLite would give; a process that ignores the turn file (the sqlite3
    shell, an old version) is still kept out by SQLite's own lock.
    """

    POLL_S = 0.0002

    def __init__(self, database: Path, patience: float) -> None:
        self.database = database
        self.patience = patience
        self._threads = threading.Lock()
        self._file: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        # A forked child must not share the parent's open file (and so its lock).
        if self._file is None or self._pid != os.getpid():
            self._file = os.open(f"{self.database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._file

    @contextmanager
    def turn(self) -> Iterator[None]:
        deadline = time.monotonic() + self.patience
        if not self._threads.acquire(timeout=self.patience):
            raise StoreUnavailable(_locked_message(str(self.database)))
        try:
            descriptor = self._descriptor()
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreUnavailable(_locked_message(str(self.database))) from None
                    time.sleep(self.POLL_S)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_SQLITE_TURNS: weakref.WeakKeyDictionary[Engine, _SqliteTurns] = weakref.WeakKeyDictionary()


def _locked_message(path: str) -> str:
    return (f"the SQLite database {path} is locked by another process and stayed "
            "locked past the busy timeout; retry, or stop the process holding it")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction (one consistent snapshot on both databases).

    When a read router is set for `engine` (a streaming replica, `engine.store.replica`),
    it may choose the replica's engine for this read.
    """
    router = _READ_ROUTERS.get(engine)
    if router is not None:
        engine = router() or engine
    with translate_errors(engine), engine.connect() as connection, connection.begin():
        yield connection


_READ_ROUTERS: weakref.WeakKeyDictionary[Engine, Callable[[], Engine | None]] = \
    weakref.WeakKeyDictionary()


def set_read_router(engine: Engine, router: Callable[[], Engine | None] | None) -> None:
    """Let `router` choose the engine of `read_connection(engine)` (None: `engine`)."""
    if router is None:
        _READ_ROUTERS.pop(engine, None)
    else:
        _READ_ROUTERS[engine] = router


def read_router(engine: Engine) -> Callable[[], Engine | None] | None:
    return _READ_ROUTERS.get(engine)


def database_label(target: Engine | URL | str) -> str:
    """The database's URL with the password hidden, for messages."""
    url = target.url if isinstance(target, Engine) else make_url(str(target)) \
        if isinstance(target, str) else target
    return url.render_as_string(hide_password=True)


def describe_error(engine: Engine, error: BaseException) -> str:
    """A plain sentence saying what is wrong with the database behind `engine`."""
    label = database_label(engine)
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = detail[0] if detail else type(error).__name__
    lowered = first.lower()
    if engine.dialect.name == "sqlite":
        path = engine.url.database or "?"
        if "file is not a database" in lowered or "malformed" in lowered:
            return (f"the SQLite database {path} is corrupt or not a SQLite database "
                    f"({first}); restore it from a backup or point DATABASE_URL elsewhere")
        if "locked" in lowered or "busy" in lowered:
            return _locked_message(path)
        if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
            return (f"the SQLite database {path} cannot be opened for writing ({first}); "
                    "check the path and its permissions")
        if "disk" in lowered and ("full" in lowered or "i/o" in lowered):
            return f"the SQLite database {path} cannot be written: {first}"
    else:
        if "lock timeout" in lowered or "deadlock" in lowered:
            return (f"the database {label} is locked by another transaction ({first}); "
                    "retry")
        if isinstance(error, exc.OperationalError | exc.InterfaceError) and (
                "connect" in lowered or "connection" in lowered or "server" in lowered):
            return f"cannot reach the database {label}: {first}"
    return f"the database {label} failed: {first}"


@contextmanager
def translate_errors(engine: Engine) -> Iterator[None]:
    """Turn database failures into `StoreUnavailable`; let `IntegrityError` pass through.

    `IntegrityError` is a constraint doing its job (a duplicate idempotency key, a refused
    update of the history): the caller decides what it means.
    """
    try:
        yield
    except exc.IntegrityError:
        raise
    except (exc.DBAPIError, exc.NoSuchModuleError, exc.ArgumentError) as error:
        raise StoreUnavailable(describe_error(engine, error)) from error
    except exc.TimeoutError as error:  # every pooled connection stayed busy (a 503, not 500)
        pool = engine.pool
        raise StoreUnavailable(
            f"all connections to the database {database_label(engine)} stayed busy "
            f"({pool.status()}): too many requests at once for HATCHERY_DB_POOL_SIZE + "
            "HATCHERY_DB_MAX_OVERFLOW, or a slow statement; retry") from error
