"""PostgreSQL: the events table partitioned by month (declarative partitioning).

Migration 0041 turns `events` into a table partitioned by range of `at`, one partition per
calendar month in UTC (`events_y2026m11` holds November 2026), plus `events_default` for
any event outside the months made. A province's history grows by millions of events a
year; by month:

- the audit queries bounded in time (events by actor or workflow in a period, exports of
  a period, stage statistics) read only the months they ask for (partition pruning);
- each month's indexes stay the size of a month, so an insert touches small trees;
- an old month can be moved to cheaper storage, or backed up once and for all, as a table
  of its own (never dropped: the history is kept whole; `verify` would name the gap).

What partitioning costs: PostgreSQL requires the partition key in every unique index, so
the primary key is `(id, at)` and the per-case uniqueness is `(case_id, seq, at)`. That a
case has one event per sequence number is guaranteed by the case row's lock and version
(every event is written under both) and checked by `verify`, no longer by an index alone.
A lookup by case with no time bound probes every month's index (one probe per month).

`ensure_partitions` makes the months from the current one to `ahead` months later; the
service calls it at start (under an advisory lock of the schema's own, so several
processes starting at once make each month once). A month already holding rows in
`events_default` (events written with a clock far from the real one) is not made, and
says so in the log: those events stay, queryable, in the default partition. SQLite has
no partitions; nothing to do.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.store.db import read_connection, write_connection

__all__ = ["MONTHS_AHEAD", "ensure_partitions", "include_object", "keep_months_ahead",
           "month_partitions", "partition_name", "partitioned"]

log = logging.getLogger("hatchery.store")

MONTHS_AHEAD = 12
"""Months made ahead of the current one at every start."""


# Each partition's copy of an index is named after the index and the month
# (`ix_events_actor_at_y2026m11`), as migration 0041 names them, so plans read plainly.
NAME_PARTITION_INDEXES = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT child.relname AS child, parent.relname || '_' || substr(part.relname, 8)
               AS wanted
        FROM pg_inherits i
        JOIN pg_class child ON child.oid = i.inhrelid AND child.relkind = 'i'
        JOIN pg_class parent ON parent.oid = i.inhparent
        JOIN pg_index x ON x.indexrelid = child.oid
        JOIN pg_class part ON part.oid = x.indrelid
        WHERE parent.relnamespace = (SELECT oid FROM pg_namespace
                                     WHERE nspname = current_schema())
          AND (parent.relname LIKE 'ix\\_events\\_%'
               OR parent.relname IN ('events_pkey', 'uq_events_case_seq'))
    LOOP
        IF r.child <> r.wanted THEN
            EXECUTE format('ALTER INDEX %I RENAME TO %I', r.child, r.wanted);
        END IF;
    END LOOP;
END $$"""


def partition_name(year: int, month: int) -> str:
    return f"events_y{year:04d}m{month:02d}"


def _month_start(year: int, month: int) -> datetime:
    while month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=UTC)


def _create_statements(year: int, month: int) -> list[str]:
    name = partition_name(year, month)
    low, high = _month_start(year, month), _month_start(year, month + 1)
    return [
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events "
        f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')",
        # Statement triggers on the parent do not fire for a partition truncated by name.
        f"DROP TRIGGER IF EXISTS events_no_truncate ON {name}",
        f"CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {name} "
        "FOR EACH STATEMENT EXECUTE FUNCTION hatchery_events_append_only()",
        # It fires in replica sessions too (migration 0016_triggers_always).
        f"ALTER TABLE {name} ENABLE ALWAYS TRIGGER events_no_truncate",
    ]


def partitioned(connection: Connection) -> bool:
    """Whether `events` is a partitioned table here (PostgreSQL after migration 0041)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(sa.text(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('events')")).scalar()
    return kind == "p"


def month_partitions(connection: Connection) -> list[str]:
    """The names of the month partitions of `events`, oldest first."""
    rows = connection.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('events') AND c.relname <> 'events_default' "
        "ORDER BY c.relname")).scalars().all()
    return [str(r) for r in rows]


def ensure_partitions(engine: Engine, now: datetime, ahead: int = MONTHS_AHEAD
                      ) -> list[str]:
    """Make the month partitions from `now`'s month to `ahead` months later that are
    missing; return the names made (none on SQLite or an unpartitioned table).

    Reads first and returns at once when nothing is missing (every start but one a month);
    only then takes a lock of this schema's own and makes what is still missing."""
    if engine.dialect.name != "postgresql":
        return []
    now = now.astimezone(UTC)
    months = [_month_start(now.year, now.month + step) for step in range(ahead + 1)]
    with read_connection(engine) as connection:
        if not partitioned(connection):
            return []
        existing = set(month_partitions(connection))
    if all(partition_name(m.year, m.month) in existing for m in months):
        return []
    made: list[str] = []
    with write_connection(engine) as connection:
        connection.execute(sa.text(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.events_months'))"))
        existing = set(month_partitions(connection))
        for start in months:
            name = partition_name(start.year, start.month)
            if name in existing:
                continue
            end = _month_start(start.year, start.month + 1)
            stray = connection.execute(sa.text(
                "SELECT count(*) FROM events_default WHERE at >= :low AND at < :high"),
                {"low": start, "high": end}).scalar_one()
            if stray:
                log.warning("events partition %s not made: %d events of that month are in "
                            "events_default (written with a clock far from now)", name, stray)
                continue
            for statement in _create_statements(start.year, start.month):
                connection.execute(sa.text(statement))
            made.append(name)
        if made:
            connection.execute(sa.text(NAME_PARTITION_INDEXES))
    if made:
        log.info("events partitions made: %s", ", ".join(made))
    return made


_CHECK_EVERY_S = 3600.0
_checked: dict[str, float] = {}
_checked_lock = threading.Lock()


def keep_months_ahead(engine: Engine, now: datetime) -> list[str]:
    """`ensure_partitions`, at most once an hour per database in this process: called
    from `/readyz`, which load balancers probe all the time, so that a process that runs
    for more than a year without a restart still writes each month into its partition."""
    if engine.dialect.name != "postgresql":
        return []
    key = db_key(engine)
    with _checked_lock:
        last = _checked.get(key)
        if last is not None and time.monotonic() - last < _CHECK_EVERY_S:
            return []
        _checked[key] = time.monotonic()
    return ensure_partitions(engine, now)


def db_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


_PARTITION = re.compile(r"^events_(y\d{4}m\d{2}|default)$")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """For comparing the database with the models (Alembic's `include_object`): the month
    partitions and their indexes are not models, and the per-case unique key differs by
    the partition key on PostgreSQL (`(case_id, seq, at)` there, `(case_id, seq)` on
    SQLite), so it is left out of the comparison."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = getattr(table, "name", None) or ""
    if _PARTITION.match(table_name):
        return False
    return not (type_ == "unique_constraint" and name == "uq_events_case_seq")
