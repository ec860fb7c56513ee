"""The direct executor (`engine.store.direct`): a statement compiled once per dialect and
run on the driver's cursor reads, writes and fails exactly as the same statement executed
through SQLAlchemy Core. SQLite and PostgreSQL; the calendar notices table (no foreign
keys) carries an aware datetime, JSON and text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from engine.store.db import make_engine, read_connection, write_connection
from engine.store.direct import ByShape, Direct
from engine.store.tables import CALENDAR_NOTICES as NOTICES

IMPORTED = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
ROW = {"year": 2026, "notice": "国务院办公厅关于2026年部分节假日安排的通知",
       "days_off": ["2026-01-01", "2026-02-17"], "working_days": ["2026-02-14"],
       "content_hash": "a" * 64, "imported_at": IMPORTED, "imported_by": "operator"}


@pytest.fixture
def stored(engine: sa.Engine) -> sa.Engine:
    with write_connection(engine) as connection:
        connection.execute(NOTICES.insert(), ROW)
    return engine


def test_a_direct_select_reads_what_a_core_select_reads(stored: sa.Engine) -> None:
    select = sa.select(NOTICES).where(NOTICES.c.year == sa.bindparam("year"))
    with read_connection(stored) as connection:
        core = [dict(r) for r in connection.execute(select, {"year": 2026}).mappings()]
        direct = Direct(select).rows(connection, {"year": 2026})
    assert direct == core == [ROW]
    assert direct[0]["imported_at"].tzinfo is not None


def test_a_direct_select_of_nothing_is_an_empty_list_and_first_is_none(
        stored: sa.Engine) -> None:
    select = Direct(sa.select(NOTICES).where(NOTICES.c.year == sa.bindparam("year")))
    with read_connection(stored) as connection:
        assert select.rows(connection, {"year": 1999}) == []
        assert select.first(connection, {"year": 1999}) is None


def test_a_direct_write_counts_the_rows_it_matched(stored: sa.Engine) -> None:
    update = Direct(sa.update(NOTICES).where(NOTICES.c.year == sa.bindparam("w_year")),
                    ["imported_by"])
    with write_connection(stored) as connection:
        assert update.write(connection, {"w_year": 2026, "imported_by": "auditor"}) == 1
        assert update.write(connection, {"w_year": 1999, "imported_by": "auditor"}) == 0
    with read_connection(stored) as connection:
        assert connection.execute(sa.select(NOTICES.c.imported_by)).scalar_one() == "auditor"


def test_a_broken_constraint_on_a_direct_statement_is_sqlalchemys_integrity_error(
        stored: sa.Engine) -> None:
    insert = Direct(NOTICES.insert().inline(), sorted(ROW))
    with pytest.raises(sa.exc.IntegrityError), write_connection(stored) as connection:
        insert.write(connection, ROW)  # the year is the primary key: stored already


def test_statements_made_by_shape_are_made_once_per_shape() -> None:
    made: list[int] = []

    def make(count: int) -> Direct:
        made.append(count)
        return Direct(sa.select(NOTICES).limit(count))

    shapes = ByShape(make)
    assert shapes[2] is shapes[2]
    assert shapes[3] is not shapes[2]
    assert made == [2, 3]


def test_a_direct_statement_without_parameters_reads_what_core_reads(
        stored: sa.Engine) -> None:
    select = sa.select(NOTICES)
    with read_connection(stored) as connection:
        core = [dict(r) for r in connection.execute(select).mappings()]
        assert Direct(select).rows(connection, {}) == core == [ROW]


_BY_YEAR = Direct(sa.select(NOTICES).where(NOTICES.c.year == sa.bindparam("year")))


def test_a_statement_run_alone_reads_what_first_reads(stored: sa.Engine) -> None:
    with read_connection(stored) as connection:
        in_transaction = _BY_YEAR.first(connection, {"year": 2026})
    assert _BY_YEAR.first_alone(stored, {"year": 2026}) == in_transaction == ROW
    assert _BY_YEAR.first_alone(stored, {"year": 1999}) is None


def test_a_statement_run_alone_sees_a_change_committed_a_moment_before(
        stored: sa.Engine) -> None:
    assert _BY_YEAR.first_alone(stored, {"year": 2026}) is not None
    with write_connection(stored) as connection:
        connection.execute(sa.delete(NOTICES))
    assert _BY_YEAR.first_alone(stored, {"year": 2026}) is None


def _driver_settings(engine: sa.Engine) -> list[tuple[bool, bool]]:
    """(autocommit, in a transaction) of every connection the pool holds, checked out at
    once so that none is made anew."""
    held = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
    try:
        return [(bool(getattr(c.driver_connection, "autocommit", False)),
                 bool(getattr(c.driver_connection, "in_transaction", False))) for c in held]
    finally:
        for pooled in held:
            pooled.close()


def test_a_statement_run_alone_leaves_its_connection_as_it_found_it(
        stored: sa.Engine) -> None:
    _BY_YEAR.first_alone(stored, {"year": 2026})
    assert _driver_settings(stored) == [(False, False)]
    with pytest.raises(RuntimeError), write_connection(stored) as connection:
        connection.execute(sa.delete(NOTICES))
        raise RuntimeError("the next change still runs in a transaction: rolled back")
    assert _BY_YEAR.first_alone(stored, {"year": 2026}) == ROW


def test_a_failure_of_a_statement_run_alone_is_sqlalchemys_error_leaving_no_autocommit(
        stored: sa.Engine) -> None:
    broken = Direct(sa.select(sa.column("nothing_here")).select_from(sa.table("no_such_table"))
                    .where(sa.column("nothing_here") == sa.bindparam("x")))
    with pytest.raises((sa.exc.OperationalError, sa.exc.ProgrammingError)):
        broken.first_alone(stored, {"x": 1})
    assert all(setting == (False, False) for setting in _driver_settings(stored))
    assert _BY_YEAR.first_alone(stored, {"year": 2026}) == ROW


@pytest.mark.postgres
def test_a_database_that_cannot_be_reached_is_sqlalchemys_operational_error(
        postgres_server: str) -> None:
    unreachable = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2")
    try:
        with pytest.raises(sa.exc.OperationalError):
            _BY_YEAR.first_alone(unreachable, {"year": 2026})
    finally:
        unreachable.dispose()


def test_a_direct_statement_with_a_percent_sign_in_its_text_reads_what_core_reads(
        stored: sa.Engine) -> None:
    """On PostgreSQL direct statements use psycopg's positional placeholders (`%s`): a `%`
    written in the statement itself stays a `%`, as in Core's named ones."""
    select = sa.select(NOTICES).where(
        NOTICES.c.notice.like(sa.literal_column("'%通知'")),
        NOTICES.c.year == sa.bindparam("year"), NOTICES.c.imported_by == "operator")
    with read_connection(stored) as connection:
        core = [dict(r) for r in connection.execute(select, {"year": 2026}).mappings()]
        assert Direct(select).rows(connection, {"year": 2026}) == core == [ROW]


def test_direct_statements_run_on_after_one_failed_on_the_same_connection(
        stored: sa.Engine) -> None:
    broken = Direct(sa.select(sa.column("nothing_here")).select_from(sa.table("no_such_table")))
    with stored.connect() as connection:
        with pytest.raises((sa.exc.OperationalError, sa.exc.ProgrammingError)), \
                connection.begin():
            broken.rows(connection, {})
        with connection.begin():
            assert _BY_YEAR.first(connection, {"year": 2026}) == ROW
            assert _BY_YEAR.first(connection, {"year": 1999}) is None


def test_direct_statements_run_on_a_connection_the_pool_made_anew(stored: sa.Engine) -> None:
    with stored.connect() as connection:
        assert _BY_YEAR.first(connection, {"year": 2026}) == ROW
        connection.invalidate()  # the pool closes its driver connection and makes another
    with stored.connect() as connection:
        assert _BY_YEAR.first(connection, {"year": 2026}) == ROW
    assert _BY_YEAR.first_alone(stored, {"year": 2026}) == ROW
