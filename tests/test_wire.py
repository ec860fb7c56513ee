"""Direct statements on libpq (`engine.store.wire`): the first statement of a transaction
goes in one flush with psycopg's BEGIN, in the transaction psycopg and SQLAlchemy then
commit or roll back; statements are prepared once per connection, and again after psycopg
deallocated them; errors are SQLAlchemy's, the connection usable afterwards. What the
statements read and write is tests/test_direct.py's (both databases). PostgreSQL only."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pq_trace import round_trip_messages
from psycopg import pq

from engine.store.db import make_engine, read_connection, write_connection
from engine.store.direct import Direct
from engine.store.tables import CALENDAR_NOTICES as NOTICES

pytestmark = pytest.mark.postgres

ROW = {"year": 2026, "notice": "通知", "days_off": ["2026-01-01"], "working_days": [],
       "content_hash": "a" * 64, "imported_at": datetime(2026, 1, 5, tzinfo=UTC),
       "imported_by": "operator"}
_BY_YEAR = Direct(sa.select(NOTICES).where(NOTICES.c.year == sa.bindparam("year")))
_BY_YEAR_LOCKED = Direct(sa.select(NOTICES.c.year).where(
    NOTICES.c.year == sa.bindparam("year")).with_for_update())
_INSERT = Direct(NOTICES.insert().inline(), list(ROW))
_RENAME = Direct(sa.update(NOTICES).where(NOTICES.c.year == sa.bindparam("w_year")),
                 ["notice"])


@pytest.fixture
def backend() -> str:
    return "postgres"


@contextmanager
def exchanges(connection: sa.Connection) -> Iterator[list[str]]:
    """The messages `connection`'s driver sends that wait for the server's answer (a
    simple query, or the sync ending an extended-protocol exchange): its round trips."""
    sent: list[str] = []
    pgconn: Any = connection.connection.driver_connection.pgconn  # type: ignore[union-attr]
    with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
        pgconn.trace(trace.fileno())
        try:
            yield sent
        finally:
            pgconn.untrace()
            sent.extend(message.split(" ")[0] for message in round_trip_messages(trace))


def _status(connection: sa.Connection) -> pq.TransactionStatus:
    driver: Any = connection.connection.driver_connection
    return pq.TransactionStatus(driver.pgconn.transaction_status)


def test_a_transactions_first_direct_statement_goes_with_its_begin(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        with connection.begin():
            _INSERT.write(connection, {**ROW, "year": 1})  # prepared on this connection
            _RENAME.write(connection, {"w_year": 1, "notice": "旧"})
        assert _status(connection) is pq.TransactionStatus.IDLE
        with exchanges(connection) as sent, connection.begin():
            _INSERT.write(connection, ROW)
            assert _status(connection) is pq.TransactionStatus.INTRANS
            assert _RENAME.write(connection, {"w_year": 2026, "notice": "新"}) == 1
        # BEGIN + insert, the update, COMMIT
        assert sent == ["Sync", "Sync", "Query"]
        assert _status(connection) is pq.TransactionStatus.IDLE
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) == {**ROW, "notice": "新"}


def test_a_rolled_back_transaction_opened_by_a_direct_statement_writes_nothing(
        engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), write_connection(engine) as connection:
        _INSERT.write(connection, ROW)
        raise RuntimeError("rolled back")
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) is None


def test_a_lock_taken_by_a_transactions_first_statement_is_held_until_it_ends(
        engine: sa.Engine) -> None:
    with write_connection(engine) as connection:
        _INSERT.write(connection, ROW)
    impatient = make_engine(str(engine.url.render_as_string(hide_password=False)),
                            lock_timeout=0.2)
    try:
        with write_connection(engine) as holder:
            assert _BY_YEAR_LOCKED.first(holder, {"year": 2026}) == {"year": 2026}
            with pytest.raises(Exception, match="lock"), \
                    write_connection(impatient) as waiter:
                _BY_YEAR_LOCKED.first(waiter, {"year": 2026})
        with write_connection(impatient) as waiter:  # released at commit
            assert _BY_YEAR_LOCKED.first(waiter, {"year": 2026}) == {"year": 2026}
    finally:
        impatient.dispose()


def test_a_connections_isolation_level_is_the_one_its_begin_asks_for(
        engine: sa.Engine) -> None:
    level = sa.text("SELECT current_setting('transaction_isolation')")
    serializable = engine.execution_options(isolation_level="SERIALIZABLE")
    with serializable.connect() as connection, connection.begin():
        _BY_YEAR.first(connection, {"year": 2026})
        assert connection.execute(level).scalar_one() == "serializable"
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        _INSERT.write(connection, ROW)
        assert _status(connection) is pq.TransactionStatus.IDLE  # committed on its own
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) == ROW


def _prepared_names(connection: sa.Connection) -> list[str]:
    return list(connection.execute(sa.text(
        "SELECT name FROM pg_prepared_statements ORDER BY name")).scalars())


def test_statements_run_often_through_core_are_prepared_by_psycopg(
        engine: sa.Engine) -> None:
    with engine.connect() as connection:
        for _ in range(6):  # psycopg prepares at the fifth run
            connection.execute(sa.select(NOTICES.c.year)).all()
        assert any(name.startswith("_pg3_") for name in _prepared_names(connection))


def test_direct_statements_survive_psycopg_deallocating_every_statement(
        engine: sa.Engine) -> None:
    with engine.connect() as connection:
        for _ in range(8):  # psycopg prepares statements of its own
            connection.execute(sa.select(NOTICES.c.year)).all()
        _BY_YEAR.first(connection, {"year": 2026})
        connection.rollback()  # psycopg: ROLLBACK, then DEALLOCATE ALL
        assert _prepared_names(connection) == []
        assert _BY_YEAR.first(connection, {"year": 2026}) is None  # prepared again
        connection.rollback()
        for _ in range(8):
            connection.execute(sa.select(NOTICES.c.year)).all()
        assert _BY_YEAR.first(connection, {"year": 2026}) is None
        with connection.begin_nested():  # ROLLBACK TO SAVEPOINT: psycopg's other trigger
            connection.execute(sa.text("SAVEPOINT s"))
            connection.execute(sa.text("ROLLBACK TO SAVEPOINT s"))
        connection.execute(sa.select(NOTICES.c.year)).all()  # psycopg deallocates here
        connection.commit()
        # The first statement of the next transaction finds its statement gone: run again
        # after the BEGIN sent with it is rolled back.
        assert _BY_YEAR.first(connection, {"year": 2026}) is None
        _INSERT.write(connection, {**ROW, "year": 3})
        connection.commit()
        assert _BY_YEAR.first(connection, {"year": 3}) is not None
        connection.rollback()


def test_a_direct_statement_run_alone_is_prepared_again_when_psycopg_dropped_it(
        engine: sa.Engine) -> None:
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) is None
    with engine.connect() as connection:
        connection.execute(sa.text("DEALLOCATE ALL"))
        connection.commit()
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) is None


def test_a_failed_first_statement_leaves_a_transaction_to_roll_back_and_no_trace(
        engine: sa.Engine) -> None:
    with write_connection(engine) as connection:
        _INSERT.write(connection, ROW)
    for _ in range(2):  # prepared while failing, then run prepared
        with pytest.raises(sa.exc.IntegrityError), write_connection(engine) as connection:
            _INSERT.write(connection, ROW)
    with write_connection(engine) as connection:
        assert _RENAME.write(connection, {"w_year": 2026, "notice": "新"}) == 1
        with pytest.raises(sa.exc.IntegrityError):
            _INSERT.write(connection, ROW)
        assert _status(connection) is pq.TransactionStatus.INERROR
        connection.rollback()
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) == ROW


def test_a_statement_run_alone_opens_no_transaction(engine: sa.Engine) -> None:
    with write_connection(engine) as connection:
        _INSERT.write(connection, ROW)
    pooled = engine.raw_connection()
    try:
        driver: Any = pooled.dbapi_connection
        assert driver.autocommit is False
    finally:
        pooled.close()
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) == ROW
    pooled = engine.raw_connection()  # the same one, last in first out
    try:
        assert pooled.dbapi_connection is driver
        assert driver.pgconn.transaction_status == pq.TransactionStatus.IDLE
    finally:
        pooled.close()


def test_values_read_back_are_the_ones_a_core_select_reads(engine: sa.Engine) -> None:
    with write_connection(engine) as connection:
        _INSERT.write(connection, ROW)
    with read_connection(engine) as connection:
        core = [dict(r) for r in connection.execute(
            sa.select(NOTICES).where(NOTICES.c.year == 2026)).mappings()]
        assert _BY_YEAR.rows(connection, {"year": 2026}) == core == [ROW]


def test_a_constraint_checked_at_commit_fails_the_commit_as_sqlalchemys_error(
        engine: sa.Engine) -> None:
    """The engine's COMMIT goes straight to libpq: a deferred unique key broken in the
    transaction fails it with the error psycopg's `commit()` raises, wrapped as
    SQLAlchemy wraps it, and nothing of the transaction stays."""
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE deferred_probe (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
    with pytest.raises(sa.exc.IntegrityError), write_connection(engine) as connection:
        connection.execute(sa.text("INSERT INTO deferred_probe VALUES (1), (1)"))
    with write_connection(engine) as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM deferred_probe")
                                  ).scalar_one() == 0
        connection.execute(sa.text("INSERT INTO deferred_probe VALUES (1)"))
    with read_connection(engine) as connection:
        assert connection.execute(sa.text("SELECT k FROM deferred_probe")).all() == [(1,)]


def test_a_connection_returned_after_its_commit_sends_no_rollback(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        with exchanges(connection) as sent:
            with connection.begin():
                _INSERT.write(connection, ROW)
            connection.rollback()  # nothing to roll back
        assert sent == ["Sync", "Query"]  # BEGIN + insert, COMMIT
        with exchanges(connection) as sent, connection.begin():
            _RENAME.write(connection, {"w_year": 2026, "notice": "新"})
            connection.rollback()
        assert sent == ["Sync", "Query"]  # BEGIN + update, ROLLBACK
    assert _BY_YEAR.first_alone(engine, {"year": 2026}) == ROW
