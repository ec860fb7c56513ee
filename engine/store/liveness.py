"""Checking that a pooled PostgreSQL connection is still alive, only when it may not be.

SQLAlchemy's `pool_pre_ping` sends a round trip on every checkout; a fire over HTTP checks
out three connections (token, scope, change), so on a busy server most pings test a
connection that was in use a millisecond ago. A connection can only have died while it
sat in the pool (a server restart, a failover, an idle timeout of a proxy), so it is
pinged here when it sat there longer than `idle_s`; otherwise it is handed out at once.
A dead one raises `DisconnectionError`, on which the pool discards it and connects anew
(SQLAlchemy's documented pessimistic disconnect handling).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event, exc

IDLE_BEFORE_PING_S = 2.0
"""Seconds a connection may rest in the pool and still be handed out without a ping."""

_RESTED_SINCE = "hatchery_rested_since"


def ping_after_rest(engine: Engine, idle_s: float = IDLE_BEFORE_PING_S) -> None:
    """Ping a connection at checkout when it rested in the pool longer than `idle_s`."""

    @event.listens_for(engine, "checkin")
    def _rested(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RESTED_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested_since = record.info.get(_RESTED_SINCE)
        if rested_since is None or time.monotonic() - rested_since <= idle_s:
            return  # new, or back in use within moments of its last use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("the pooled connection no longer answers") \
                from error
