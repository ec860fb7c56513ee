"""PostgreSQL: the events table partitioned by month of `at` (declarative partitioning),
its input and changes as JSONB. See `engine.store.partitions` for why and what it costs.

The table is rebuilt: renamed aside, a partitioned `events` made with the same columns,
one partition per month from the oldest event's month to twelve months ahead plus
`events_default`, every row copied as it is (ids, bodies, hashes: no chain changes), the
old table dropped, then the indexes (made on every partition) and the append-only
triggers (the row trigger is cloned onto each partition; the TRUNCATE trigger is put on
each partition by name, since a parent's statement trigger does not cover a partition
truncated directly). The id sequence is kept, so ids continue.

Unique keys must contain the partition key: the primary key becomes (id, at) and the
per-case key (case_id, seq, at). SQLite: nothing to do.

The copy runs in the migration's one transaction: on a large installation, time the
upgrade on a restored backup first.

Revision ID: 0041_events_by_month
Revises: 0040_cases_jsonb
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0041_events_by_month"
down_revision: str | None = "0040_cases_jsonb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 12
COLUMNS = ("id, case_id, seq, workflow_id, workflow_version, kind, trigger, from_state, "
           "to_state, actor, role, input, changes, comment, at, prev_hash, hash, body")
INDEXES = (
    "CREATE INDEX ix_events_actor_at ON events (actor, at)",
    "CREATE INDEX ix_events_workflow_at ON events (workflow_id, at)",
    "CREATE INDEX ix_events_at ON events (at)",
    "CREATE INDEX ix_events_workflow_state_case ON events "
    "(workflow_id, to_state, case_id, seq, at)",
)
SECONDARY = ("ix_events_actor_at", "ix_events_workflow_at", "ix_events_at",
             "ix_events_workflow_state_case")


def _table(json_type: str, partitioned: bool, name: str = "events") -> str:
    key = "id, at" if partitioned else "id"
    unique = "case_id, seq, at" if partitioned else "case_id, seq"
    return f"""CREATE TABLE {name} (
        id bigint NOT NULL DEFAULT nextval('events_id_seq'::regclass),
        case_id varchar(32) NOT NULL,
        seq integer NOT NULL,
        workflow_id varchar(64) NOT NULL,
        workflow_version varchar(64) NOT NULL,
        kind varchar(32) NOT NULL,
        trigger varchar(64),
        from_state varchar(64),
        to_state varchar(64),
        actor varchar(200) NOT NULL,
        role varchar(64),
        input {json_type} NOT NULL,
        changes {json_type} NOT NULL,
        comment text,
        at timestamp with time zone NOT NULL,
        prev_hash varchar(64) NOT NULL,
        hash varchar(64) NOT NULL,
        body text NOT NULL,
        CONSTRAINT events_pkey PRIMARY KEY ({key}),
        CONSTRAINT uq_events_case_seq UNIQUE ({unique}),
        CONSTRAINT events_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id)
    ){" PARTITION BY RANGE (at)" if partitioned else ""}"""


def _set_aside() -> None:
    """Rename the current table and free the names its constraints and indexes hold."""
    for index in SECONDARY:
        op.execute(f"DROP INDEX {index}")
    op.execute("ALTER TABLE events RENAME TO events_before")
    for constraint in ("events_pkey", "uq_events_case_seq", "events_case_id_fkey"):
        op.execute(f"ALTER TABLE events_before RENAME CONSTRAINT {constraint} "
                   f"TO {constraint}_before")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")


def _finish(casts: str) -> None:
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {casts} FROM events_before")
    op.execute("DROP TABLE events_before")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    for statement in INDEXES:
        op.execute(statement)
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
               "FOR EACH ROW EXECUTE FUNCTION hatchery_events_append_only()")
    op.execute("CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
               "FOR EACH STATEMENT EXECUTE FUNCTION hatchery_events_append_only()")


# Each partition's copy of an index is named after the index and the month
# (`ix_events_actor_at_y2026m11`), so that query plans read plainly.
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


def _month(year: int, month: int) -> datetime:
    while month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=UTC)


def _partition(name: str, bounds: str) -> None:
    op.execute(f"CREATE TABLE {name} PARTITION OF events {bounds}")
    op.execute(f"CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {name} "
               "FOR EACH STATEMENT EXECUTE FUNCTION hatchery_events_append_only()")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    oldest = bind.execute(sa.text("SELECT min(at) FROM events")).scalar()
    now = datetime.now(UTC)
    first = (oldest or now).astimezone(UTC)
    _set_aside()
    op.execute(_table("jsonb", partitioned=True))
    month = _month(first.year, first.month)
    last = _month(now.year, now.month + MONTHS_AHEAD)
    while month <= last:
        following = _month(month.year, month.month + 1)
        _partition(f"events_y{month.year:04d}m{month.month:02d}",
                   f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')")
        month = following
    _partition("events_default", "DEFAULT")
    _finish(COLUMNS.replace("input,", "input::jsonb,").replace("changes,", "changes::jsonb,"))
    op.execute(NAME_PARTITION_INDEXES)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute(_table("json", partitioned=False))
    _finish(COLUMNS.replace("input,", "input::json,").replace("changes,", "changes::json,"))
