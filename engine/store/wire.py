"""Direct statements on PostgreSQL, through libpq itself.

psycopg's cursor costs about 50 us of client CPU per statement over libpq's own calls
(query conversion, the prepared-statement cache, result bookkeeping), and opens a
transaction with a BEGIN of its own: a round trip before the first statement of every
write transaction. Here the statements of `engine.store.direct` are run on the
connection's `pgconn`: each prepared once per connection under a name of its own, its
values dumped and its rows loaded by psycopg's own C `Transformer` (the same adapters as
a cursor's, so the same values either way), and, when the connection is not in a
transaction yet and not in autocommit, sent in one flush after the BEGIN psycopg would
have sent (libpq's pipeline mode). psycopg decides BEGIN, COMMIT and ROLLBACK from
libpq's transaction status, which the server's answer to that BEGIN moves as to its own,
so `commit()` and `rollback()` then do what they do after a cursor's statement. Errors are
psycopg's, made from the result as its cursor makes them (`error_from_result`).

Waiting for the server goes through psycopg's generators and wait function (the one its
cursors use), which release the GIL; libpq's `get_result` would hold it while it blocks.

psycopg still prepares the statements it runs often (the read side's, through SQLAlchemy
Core), and once it has, it sends `DEALLOCATE ALL` after a rollback (or after a `DROP` or a
`ROLLBACK TO SAVEPOINT` it runs), which drops the statements prepared here too. So a
rollback that may have done so makes the session forget its names (`_rollback`), and a
statement found missing anyway (SQLSTATE 26000) is forgotten and, when nothing else of a
transaction is lost with it (it ran alone, or right after the BEGIN sent with it), prepared
and run again; inside a transaction its failure is the transaction's.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from itertools import count
from typing import Any

from psycopg import IsolationLevel, OperationalError, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import InvalidSqlStatementName, error_from_result
from psycopg.generators import fetch_many, send

__all__ = ["AUTO", "Session", "begin_command", "end_on_libpq", "load", "run", "session"]

AUTO = PyFormat.AUTO
"""The format psycopg's cursor asks of a parameter's dumper for a `%s` placeholder."""

_IDLE = pq.TransactionStatus.IDLE
_INTRANS = pq.TransactionStatus.INTRANS
_OK = pq.ConnStatus.OK
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_FATAL = pq.ExecStatus.FATAL_ERROR
_TEXT = pq.Format.TEXT
_SESSION = "hatchery_wire_session"
_NUMBERS = count()
"""Numbers of prepared statements' names: unique in the process, so that a name is never
prepared twice on one connection."""

class Session:
    """What one psycopg connection keeps for direct statements: its libpq connection,
    a `Transformer` made from its adapters, and the names of the statements prepared on
    it, by (statement, parameter types)."""

    __slots__ = ("driver", "names", "pgconn", "transformer")

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.pgconn = driver.pgconn
        self.transformer = Transformer(driver)
        self.names: dict[tuple[object, tuple[int, ...]], bytes] = {}


def session(pooled: Any, driver: Any) -> Session:
    """The `Session` of a pooled psycopg connection (`driver`, its driver connection):
    made once per driver connection and kept in the pool's info for it (which
    SQLAlchemy clears when it replaces the connection)."""
    info = pooled.info
    kept = info.get(_SESSION)
    if kept is not None and kept.driver is driver:
        return kept  # type: ignore[no-any-return]
    kept = info[_SESSION] = Session(driver)
    return kept


def begin_command(driver: Any) -> bytes:
    """The BEGIN psycopg sends to open a transaction on `driver` (`_get_tx_start_command`,
    from the same public settings)."""
    parts = [b"BEGIN"]
    if driver.isolation_level is not None:
        level = IsolationLevel(driver.isolation_level)
        parts += [b"ISOLATION LEVEL", level.name.replace("_", " ").encode()]
    if driver.read_only is not None:
        parts.append(b"READ ONLY" if driver.read_only else b"READ WRITE")
    if driver.deferrable is not None:
        parts.append(b"DEFERRABLE" if driver.deferrable else b"NOT DEFERRABLE")
    return b" ".join(parts)


def run(state: Session, key: object, sql: bytes, args: Sequence[Any],
        formats: Sequence[PyFormat], begin: bool) -> Any:
    """Execute `sql` (placeholders `$1`...) with `args` on the session's connection; its
    result (`PGresult`, status checked). `key` names the statement for the connection's
    prepared-statement names. With `begin`, a transaction is opened first as psycopg
    would open it (when the connection is idle and not in autocommit), in the same flush."""
    pgconn = state.pgconn
    if pgconn.status != _OK:
        raise OperationalError("the connection is closed")
    transformer = state.transformer
    params = transformer.dump_sequence(args, formats)
    types = transformer.types or ()
    entry = (key, types)
    name = state.names.get(entry)
    driver = state.driver
    if begin and not driver.autocommit and pgconn.transaction_status == _IDLE:
        try:
            return _pipelined(state, begin_command(driver), entry, name, sql, params,
                              transformer.formats)
        except InvalidSqlStatementName:
            # Deallocated by psycopg: nothing but the BEGIN sent with it is lost.
            state.names.clear()
            _checked(driver, pgconn.exec_(b"ROLLBACK"))
            return _pipelined(state, begin_command(driver), entry, None, sql, params,
                              transformer.formats)
    alone = pgconn.transaction_status == _IDLE
    for _ in range(2):
        if name is None:
            name = b"hatchery_%d" % next(_NUMBERS)
            _checked(driver, pgconn.prepare(name, sql, types))
            state.names[entry] = name
        try:
            return _checked(driver, pgconn.exec_prepared(name, params, transformer.formats,
                                                         _TEXT))
        except InvalidSqlStatementName:
            state.names.clear()  # deallocated by psycopg
            if not alone:
                raise
            name = None
    raise AssertionError("unreachable")


def _pipelined(state: Session, begin: bytes, entry: tuple[object, tuple[int, ...]],
               name: bytes | None, sql: bytes, params: Sequence[Any],
               formats: Sequence[pq.Format] | None) -> Any:
    """BEGIN, the statement (prepared first when it has no `name` yet) and a sync, in
    one flush; the statement's result. A statement prepared is recorded as prepared
    even when its execution fails."""
    pgconn, driver = state.pgconn, state.driver
    fresh = name is None
    if name is None:
        name = b"hatchery_%d" % next(_NUMBERS)
    pgconn.enter_pipeline_mode()
    try:
        pgconn.send_query_params(begin, None)
        if fresh:
            pgconn.send_prepare(name, sql, entry[1])
        pgconn.send_query_prepared(name, params, formats, _TEXT)
        pgconn.pipeline_sync()
        results = driver.wait(_exchange(pgconn, 3 if fresh else 2))
    except BaseException:
        _leave(pgconn)
        raise
    pgconn.exit_pipeline_mode()
    _checked(driver, results[0])  # an error of BEGIN says why (what follows was skipped)
    if fresh:
        _checked(driver, results[1])
        state.names[entry] = name
    return _checked(driver, results[-1])


def _leave(pgconn: Any) -> None:
    """Out of pipeline mode after a failure half-way; a connection that cannot leave it
    (results still pending) is closed, and psycopg then reports it closed."""
    try:
        pgconn.exit_pipeline_mode()
    except Exception:
        pgconn.finish()


def _exchange(pgconn: Any, count: int) -> Generator[Any, Any, list[Any]]:
    """Flush what was queued; the first result of each of `count` commands, once the
    pipeline's sync has come back."""
    yield from send(pgconn)
    results = []
    for _ in range(count):
        found = yield from fetch_many(pgconn)
        results.append(found[0] if found else None)
    yield from fetch_many(pgconn)  # the sync
    return results


def _checked(driver: Any, result: Any) -> Any:
    """`result` when it succeeded; else psycopg's error for it, as its cursor raises."""
    if result is not None:
        status = result.status
        if status in (_TUPLES_OK, _COMMAND_OK):
            return result
        if status == _FATAL:
            raise error_from_result(result, encoding=driver.info.encoding)
        raise OperationalError(f"unexpected result {pq.ExecStatus(status).name}")
    raise OperationalError(f"consuming input failed: {driver.pgconn.get_error_message()}")


def load(state: Session, result: Any) -> tuple[list[tuple[Any, ...]], tuple[int, ...]]:
    """The rows of `result` as tuples loaded by the connection's adapters, and the type
    of each column (what a cursor's description reports)."""
    transformer = state.transformer
    transformer.set_pgresult(result)
    rows = transformer.load_rows(0, result.ntuples, tuple)
    types = tuple(result.ftype(i) for i in range(result.nfields))
    transformer.set_pgresult(None)
    return rows, types


# ---------------------------------------------------------------------------------------
# Ending a transaction


def _commit(_dialect: Any, connection: Any) -> None:
    """COMMIT on libpq when psycopg would send it (a transaction open and well), in one
    C call; psycopg's `commit()` (its lock, its generator, its wait) otherwise. Its errors
    are the ones psycopg raises, made from the server's answer the same way."""
    driver = getattr(connection, "dbapi_connection", connection)  # the pool's proxy
    pgconn = driver.pgconn if driver is not None else None
    if pgconn is None or pgconn.transaction_status != _INTRANS or pgconn.status != _OK:
        connection.commit()
        return
    result = pgconn.exec_(b"COMMIT")
    if result is None or result.status != _COMMAND_OK:
        _checked(driver, result)


def _rollback(_dialect: Any, connection: Any) -> None:
    """psycopg's `rollback()`, skipped when there is nothing to roll back (every pooled
    connection returned after its commit, every statement run alone): psycopg then
    sends nothing either, after its lock and its generator. When psycopg had prepared
    statements of its own, it deallocated them all with ours: the session forgets ours."""
    driver = getattr(connection, "dbapi_connection", connection)  # the pool's proxy
    if driver is not None and driver.pgconn.transaction_status == _IDLE:
        return
    dropping = driver is not None and _psycopg_prepared(driver)
    connection.rollback()
    if dropping:
        info = getattr(connection, "info", None)  # the pool's, where `session` keeps it
        kept = info.get(_SESSION) if isinstance(info, dict) else None
        if kept is not None and kept.driver is driver:
            kept.names.clear()


def _psycopg_prepared(driver: Any) -> bool:
    """Whether psycopg holds statements it prepared on `driver` (its next rollback then
    deallocates every statement); True when its private manager cannot be read."""
    names = getattr(getattr(driver, "_prepared", None), "_names", None)
    return True if names is None else bool(names)


_ENDING: dict[type[Any], type[Any]] = {}


def end_on_libpq(dialect: Any) -> None:
    """Make the engine's psycopg dialect commit on libpq and skip rollbacks of nothing
    (`_commit`, `_rollback`): SQLAlchemy wraps their errors as it wraps every other. A
    subclass of the dialect's class, as `engine.store.db` makes SQLite's begin its own."""
    kind = type(dialect)
    ending = _ENDING.get(kind)
    if ending is None:
        ending = _ENDING[kind] = type(f"Ending{kind.__name__}", (kind,), {
            "do_commit": _commit, "do_rollback": _rollback,
            "supports_statement_cache": True})
    dialect.__class__ = ending
