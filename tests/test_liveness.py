"""A pooled PostgreSQL connection is checked alive only after it rested in the pool:
one that died there (server restart, failover, proxy timeout) is replaced without the
caller seeing an error, and one reused at once costs no extra round trip."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from engine.store.db import make_engine, read_connection
from engine.store.liveness import ping_after_rest

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(postgres_server: str) -> Iterator[sa.Engine]:
    engine = make_engine(postgres_server, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend_of(engine: sa.Engine) -> int:
    with read_connection(engine) as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate(postgres_server: str, pid: int) -> None:
    killer = sa.create_engine(postgres_server)
    with killer.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_that_died_while_resting_is_replaced_unseen(
        pooled: sa.Engine, postgres_server: str) -> None:
    ping_after_rest(pooled, idle_s=0.0)  # every rest counts as long
    first = backend_of(pooled)
    terminate(postgres_server, first)
    assert backend_of(pooled) != first


def test_a_connection_reused_at_once_is_not_pinged(pooled: sa.Engine) -> None:
    pings: list[object] = []
    ping = pooled.dialect.do_ping

    def counted_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    pooled.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    assert backend_of(pooled) == backend_of(pooled)
    assert pings == []
