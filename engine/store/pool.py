"""The service's database engine, its pool sized for the number of processes sharing the
database.

Every API process (a `hatchery serve` worker) and every `hatchery worker` keeps its own
pool. PostgreSQL serves at most `max_connections` sessions (100 by default), some of them
reserved for superusers, and every session costs the server memory, so the sum of the
pools of every process on every server must stay below what the server accepts:

    processes x (pool size + overflow)  <=  max_connections - reserved - others

Two ways to say it (see docs/scaling.md):

- per process: `HATCHERY_DB_POOL_SIZE` (default 5) and `HATCHERY_DB_MAX_OVERFLOW`
  (default 5), SQLAlchemy's pool, as before;
- per server: `HATCHERY_DB_CONNECTIONS`, the connections this server may hold in all,
  shared equally by its `HATCHERY_PROCESSES` (which `hatchery serve --workers N` sets for
  its workers), with no overflow, so the total is a hard bound.

At start, on PostgreSQL, `check_capacity` compares this process's share with what the
server accepts and logs a warning when this server alone could exhaust it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.settings import Settings
from engine.store.db import database_label, make_engine

__all__ = ["PoolPlan", "check_capacity", "pool_plan", "service_engine"]

log = logging.getLogger("hatchery.store")


@dataclass(frozen=True)
class PoolPlan:
    """The connections one process keeps (`size`) and may add under a burst (`overflow`)."""

    size: int
    overflow: int
    processes: int

    @property
    def per_process(self) -> int:
        return self.size + self.overflow

    @property
    def total(self) -> int:
        """The most connections this server's processes may hold together."""
        return self.per_process * self.processes


def pool_plan(settings: Settings) -> PoolPlan:
    """This process's pool: an equal share of `HATCHERY_DB_CONNECTIONS` when it is set,
    else `HATCHERY_DB_POOL_SIZE` + `HATCHERY_DB_MAX_OVERFLOW`."""
    processes = max(1, settings.processes)
    if settings.db_connections is not None:
        return PoolPlan(max(1, settings.db_connections // processes), 0, processes)
    return PoolPlan(settings.db_pool_size, settings.db_max_overflow, processes)


def service_engine(settings: Settings) -> Engine:
    """The engine of a service process: its pool planned, its statement timeout set."""
    plan = pool_plan(settings)
    return make_engine(settings.resolved_database_url(), pool_size=plan.size,
                       max_overflow=plan.overflow,
                       statement_timeout=settings.db_statement_timeout_seconds or None)


def check_capacity(engine: Engine, plan: PoolPlan) -> str | None:
    """On PostgreSQL, a warning (logged and returned) when this server's processes could
    hold more connections than the database accepts; None when they fit (or on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        accepted = int(connection.execute(sa.text("SHOW max_connections")).scalar_one())
        reserved = int(connection.execute(
            sa.text("SHOW superuser_reserved_connections")).scalar_one())
    usable = accepted - reserved
    if plan.total <= usable:
        return None
    message = (f"the database {database_label(engine)} accepts {usable} connections "
               f"(max_connections {accepted} - {reserved} reserved) but this server's "
               f"{plan.processes} process(es) may open {plan.total} "
               f"({plan.size} + {plan.overflow} each): set HATCHERY_DB_CONNECTIONS to this "
               "server's share, or raise max_connections (or put PgBouncer in front)")
    log.warning(message)
    return message
