"""PostgreSQL as a service of many processes: each process's pool is its share of what the
server accepts, a runaway statement is cancelled instead of holding a connection, and case
data is stored as JSONB."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import StoreUnavailable
from engine.settings import Settings
from engine.store.db import read_connection
from engine.store.pool import PoolPlan, check_capacity, pool_plan, service_engine


def settings(db_url: str = "sqlite:///unused.db", **values: object) -> Settings:
    return Settings(database_url=db_url, **values)  # type: ignore[arg-type]


def test_each_process_keeps_five_connections_and_five_more_under_a_burst_by_default(
        ) -> None:
    plan = pool_plan(settings())
    assert (plan.size, plan.overflow, plan.per_process) == (5, 5, 10)


def test_a_servers_connection_budget_is_shared_equally_by_its_processes_with_no_overflow(
        ) -> None:
    plan = pool_plan(settings(HATCHERY_DB_CONNECTIONS=26, HATCHERY_PROCESSES=4))
    assert (plan.size, plan.overflow, plan.total) == (6, 0, 24)


def test_the_service_engine_pool_is_the_planned_one(tmp_path: Path) -> None:
    engine = service_engine(settings(f"sqlite:///{tmp_path / 'h.db'}",
                                     HATCHERY_DB_POOL_SIZE=3, HATCHERY_DB_MAX_OVERFLOW=1))
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_statement_running_past_the_timeout_is_cancelled_and_reported(db_url: str,
                                                                         backend: str) -> None:
    if backend != "postgres":
        pytest.skip("statement timeouts are PostgreSQL's")
    engine = service_engine(settings(db_url, HATCHERY_DB_STATEMENT_TIMEOUT_SECONDS=0.2))
    try:
        with read_connection(engine) as connection:
            assert connection.execute(sa.text("SHOW statement_timeout")).scalar() == "200ms"
        with pytest.raises(StoreUnavailable, match="statement timeout"), \
                read_connection(engine) as connection:
            connection.execute(sa.text("SELECT pg_sleep(2)"))
        with read_connection(engine) as connection:  # the pool's connection is fine again
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_server_that_cannot_take_every_processes_pool_is_warned_about(
        db_url: str, backend: str) -> None:
    engine = service_engine(settings(db_url))
    try:
        fits = check_capacity(engine, PoolPlan(5, 5, 2))
        too_many = check_capacity(engine, PoolPlan(50, 50, 4))
    finally:
        engine.dispose()
    assert fits is None
    if backend == "sqlite":
        assert too_many is None  # one file, no connection limit
    else:
        assert too_many is not None and "HATCHERY_DB_CONNECTIONS" in too_many


def test_case_data_is_jsonb_on_postgresql(db_url: str, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("SQLite stores JSON as text")
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            types = dict(connection.execute(sa.text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'cases' "
                "AND column_name IN ('data', 'state_entries')")).all())
    finally:
        engine.dispose()
    assert types == {"data": "jsonb", "state_entries": "jsonb"}


def test_a_request_that_finds_every_pooled_connection_busy_is_told_the_store_is_busy(
        tmp_path: Path) -> None:
    engine = service_engine(settings(f"sqlite:///{tmp_path / 'h.db'}",
                                     HATCHERY_DB_POOL_SIZE=1, HATCHERY_DB_MAX_OVERFLOW=0))
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]
    try:
        with read_connection(engine), pytest.raises(StoreUnavailable, match="stayed busy"), \
                read_connection(engine):
            pass
    finally:
        engine.dispose()
