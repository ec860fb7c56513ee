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

import importlib.util
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, exc
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.engine.url import URL

from engine.errors import StoreUnavailable
from engine.store.liveness import ping_after_rest
from engine.store.tables.json_text import json_from_bytes
from engine.store.turns import SqliteTurns, locked_message

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
    "begin_immediate",
    "database_label",
    "describe_error",
    "make_engine",
    "read_connection",
    "translate_errors",
    "unavailable",
    "write_connection",
]

DEFAULT_BUSY_TIMEOUT = 10.0
"""Seconds a SQLite writer waits for the write lock before giving up."""
DEFAULT_LOCK_TIMEOUT = 15.0
"""Seconds a PostgreSQL statement waits for a row or table lock before giving up."""


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
    _SQLITE_TURNS[engine] = SqliteTurns(resolved, busy_timeout)
    busy_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions on its own: `_do_begin` below does, and
        # `write_connection` opens a writer's with BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            _enable_wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    _begin_ourselves(engine.dialect)
    return engine


def _do_begin(_dialect: Dialect, dbapi_connection: Any) -> None:
    """Begin SQLAlchemy's transaction on the driver: `BEGIN`, unless the driver is in one
    already (a writer's `BEGIN IMMEDIATE`, issued by `write_connection` just before)."""
    driver = dbapi_connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


_BEGINNING: dict[type[Dialect], type[Dialect]] = {}


def _begin_ourselves(dialect: Dialect) -> None:
    """Make the engine's pysqlite dialect issue BEGIN itself (`_do_begin`).

    Why not a "begin" event, as SQLAlchemy's SQLite notes suggest: a listener of the
    engine's connection events makes every `Connection` join the engine's event dispatch
    and look up each of its events at begin, commit and close, a sixth of what one fire
    costs in Python (callgrind, 2026-11-30). The dialect's own `do_begin` runs at the
    same moment, and SQLAlchemy wraps its driver errors as it wraps every other."""
    kind = type(dialect)
    beginning = _BEGINNING.get(kind)
    if beginning is None:
        # A subclass must say again that it compiles as its parent does (SQLAlchemy
        # caches compiled statements only for dialect classes that say so themselves).
        beginning = _BEGINNING[kind] = type(f"Beginning{kind.__name__}", (kind,), {
            "do_begin": _do_begin, "supports_statement_cache": True})
    dialect.__class__ = beginning


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
    engine = create_engine(url, echo=echo, connect_args=connect_args,
                           json_deserializer=json_from_bytes, **pool)
    ping_after_rest(engine)
    from engine.store.wire import end_on_libpq  # psycopg is optional

    end_on_libpq(engine.dialect)
    return engine


def write_connection(engine: Engine) -> AbstractContextManager[Connection]:
    """A connection in a write transaction, committed when the block ends without error.

    On SQLite the transaction starts with BEGIN IMMEDIATE (the write lock is taken first),
    after the writer's turn (`engine.store.turns`). Database failures become `StoreUnavailable`;
    `sqlalchemy.exc.IntegrityError` passes through so that callers can tell a unique-key
    race from a broken store.
    """
    return _Writing(engine)


class _Writing(AbstractContextManager[Connection]):
    """`write_connection`: the turn, the pooled connection, BEGIN IMMEDIATE on SQLite, the
    transaction and error translation in one context manager, without the generator-based
    layers nested `with` blocks would cost on every change."""

    __slots__ = ("_connection", "_engine", "_transaction", "_turns")
    _connection: Connection
    _transaction: RootTransaction

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._turns = _SQLITE_TURNS.get(engine)

    def __enter__(self) -> Connection:
        engine, turns = self._engine, self._turns
        try:
            if turns is not None:
                turns.acquire()
            try:
                connection = engine.connect()
                try:
                    if turns is not None:
                        begin_immediate(connection)
                    self._transaction = connection.begin()
                except BaseException:
                    connection.close()
                    raise
            except BaseException:
                if turns is not None:
                    turns.release()
                raise
        except Exception as error:
            translated = unavailable(engine, error)
            if translated is None:
                raise
            raise translated from error
        self._connection = connection
        return connection

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            try:
                try:
                    # Commit, or roll back on an error, as `with connection.begin()` does.
                    self._transaction.__exit__(kind, error, traceback)
                finally:
                    self._connection.close()
            finally:
                if self._turns is not None:
                    self._turns.release()
        except Exception as failure:
            translated = unavailable(self._engine, failure)
            if translated is None:
                raise
            raise translated from failure
        if isinstance(error, Exception):
            translated = unavailable(self._engine, error)
            if translated is not None:
                raise translated from error


def begin_immediate(connection: Connection) -> None:
    """BEGIN IMMEDIATE on the driver's connection (`_do_begin` then finds it begun).
    Errors wrapped as SQLAlchemy wraps them."""
    statement = "BEGIN IMMEDIATE"
    driver: Any = connection.connection.driver_connection
    try:
        driver.execute(statement)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(statement, (), error, sqlite3.Error,
                                      dialect=connection.dialect) from error


_SQLITE_TURNS: weakref.WeakKeyDictionary[Engine, SqliteTurns] = weakref.WeakKeyDictionary()


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
            return locked_message(path)
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
    except Exception as error:
        translated = unavailable(engine, error)
        if translated is None:
            raise
        raise translated from error


def unavailable(engine: Engine, error: Exception) -> StoreUnavailable | None:
    """The `StoreUnavailable` a database failure becomes (`translate_errors`); None for
    anything else, `IntegrityError` included."""
    if isinstance(error, exc.IntegrityError):
        return None
    if isinstance(error, exc.DBAPIError | exc.NoSuchModuleError | exc.ArgumentError):
        return StoreUnavailable(describe_error(engine, error))
    if isinstance(error, exc.TimeoutError):  # every pooled connection stayed busy (a 503)
        pool = engine.pool
        return StoreUnavailable(
            f"all connections to the database {database_label(engine)} stayed busy "
            f"({pool.status()}): too many requests at once for HATCHERY_DB_POOL_SIZE + "
            "HATCHERY_DB_MAX_OVERFLOW, or a slow statement; retry")
    return None
