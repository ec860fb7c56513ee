"""Reads off the primary: auditors' queries, exports and statistics on a streaming replica.

`DATABASE_READ_URL` names a PostgreSQL hot standby of the primary (`DATABASE_URL`).
`attach_replica(primary, replica, max_lag)` registers it for the primary engine; from then
on, a `read_connection(primary)` opened inside `replica_reads(actor)` (the API's auditor
routes open one) is served by the replica when all of these hold, else by the primary:

- the replica answers, and its lag (how far its replay is behind what it received, in
  seconds; measured at most once a second) is within `max_lag`
  (`HATCHERY_READ_MAX_LAG_SECONDS`, default 10): a replica further behind is not read;
- the caller changed nothing within the last `max_lag` + 2 seconds (one index probe on the
  primary's `ix_events_actor_at`): a read that must see the caller's own last change goes
  to the primary. Older changes are on the replica, since it is read only while it is less
  than `max_lag` behind (the 2 seconds cover a commit's own time and clock slack).

Writes always go to the primary: `write_connection` is never routed. Everything else
(the caseworkers' pages, every change) reads the primary as before.

The lag and the routing are shown: `/readyz` carries the replica's state and lag, and
`/metrics` the lag (`hatchery_replica_lag_seconds`) and the reads served by each side
(`hatchery_replica_reads_total{target, reason}`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.store import db

__all__ = ["OWN_WRITE_SLACK_S", "ReadReplica", "ReplicaState", "attach_replica",
           "replica_of", "replica_reads"]

log = logging.getLogger("hatchery.store")

OWN_WRITE_SLACK_S = 2.0
LAG_EVERY_S = 1.0
_LAG_SQL = sa.text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = "
    "pg_last_wal_replay_lsn() THEN 0 ELSE EXTRACT(EPOCH FROM now() - "
    "pg_last_xact_replay_timestamp()) END")
_OWN_WRITE_SQL = sa.text("SELECT 1 FROM events WHERE actor = :actor AND at >= :since LIMIT 1")

_reader: ContextVar[str | None] = ContextVar("hatchery_replica_reader", default=None)


@dataclass(frozen=True)
class ReplicaState:
    """What `/readyz` shows: the replica (password hidden), whether it answers and is a
    standby, its lag in seconds, and whether reads may go to it now."""

    database: str
    reachable: bool
    lag_seconds: float | None
    max_lag_seconds: float
    error: str | None = None

    @property
    def usable(self) -> bool:
        return (self.reachable and self.lag_seconds is not None
                and self.lag_seconds <= self.max_lag_seconds)


class ReadReplica:
    """A standby of one primary, its lag measured now and then, and the routing rule."""

    def __init__(self, primary: Engine, replica: Engine, max_lag: float) -> None:
        self.primary = primary
        self.engine = replica
        self.max_lag = max_lag
        self.reads: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._state: ReplicaState | None = None
        self._measured = 0.0

    def state(self, fresh: bool = False) -> ReplicaState:
        """The replica's state, measured at most once a second (unless `fresh`)."""
        with self._lock:
            if fresh or self._state is None or \
                    time.monotonic() - self._measured >= LAG_EVERY_S:
                self._state = self._measure()
                self._measured = time.monotonic()
            return self._state

    def _measure(self) -> ReplicaState:
        label = db.database_label(self.engine)
        try:
            with self.engine.connect() as connection:
                standby, lag = connection.execute(_LAG_SQL).one()
        except sa.exc.DBAPIError as error:
            return ReplicaState(label, False, None, self.max_lag,
                                db.describe_error(self.engine, error))
        if not standby:
            return ReplicaState(label, True, None, self.max_lag,
                                "DATABASE_READ_URL is not a standby (not in recovery)")
        return ReplicaState(label, True, max(0.0, float(lag or 0.0)), self.max_lag)

    def choose(self, actor: str) -> Engine:
        """The engine a read by `actor` goes to (see the module's rules)."""
        if not self.state().usable:
            return self._count(self.primary, "lag")
        since = datetime.now(UTC) - timedelta(seconds=self.max_lag + OWN_WRITE_SLACK_S)
        try:
            with self.primary.connect() as connection:
                own = connection.execute(_OWN_WRITE_SQL,
                                         {"actor": actor, "since": since}).first()
        except sa.exc.DBAPIError:
            own = None  # the read itself will say what is wrong with the primary
        if own is not None:
            return self._count(self.primary, "own_change")
        return self._count(self.engine, "replica")

    def _count(self, engine: Engine, reason: str) -> Engine:
        target = "replica" if engine is self.engine else "primary"
        with self._lock:
            self.reads[(target, reason)] += 1
        return engine


def attach_replica(primary: Engine, read_url: str, max_lag: float) -> ReadReplica:
    """Route `primary`'s replica-eligible reads to the standby at `read_url`."""
    replica = ReadReplica(primary, db.make_engine(read_url), max_lag)
    db.set_read_router(primary, _Router(replica))
    log.info("reads of auditors' queries may go to %s (lag bound %.1f s)",
             db.database_label(replica.engine), max_lag)
    return replica


def replica_of(primary: Engine) -> ReadReplica | None:
    """The replica attached to `primary`, if any."""
    router = db.read_router(primary)
    return getattr(router, "replica", None)


class _Router:
    """The read router of one primary: the replica chosen for the current reader."""

    def __init__(self, replica: ReadReplica) -> None:
        self.replica = replica

    def __call__(self) -> Engine | None:
        actor = _reader.get()
        return None if actor is None else self.replica.choose(actor)


@contextmanager
def replica_reads(actor: str) -> Iterator[None]:
    """Inside this block, reads on a primary with a replica may be served by the replica
    (for `actor`, whose own recent changes send the read to the primary)."""
    token = _reader.set(actor)
    try:
        yield
    finally:
        _reader.reset(token)


def allow_replica_reads(actor: str) -> None:
    """Like `replica_reads`, for the rest of the current context (a request's task)."""
    _reader.set(actor)
