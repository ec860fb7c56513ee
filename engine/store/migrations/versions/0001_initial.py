"""The first schema: definitions, cases, the append-only events, ticks, links, timers,
idempotency records and API tokens.

Revision ID: 0001_initial
Revises:
Create Date: 2026-03-01

Frozen: this file describes the schema as it was first released; later changes are new
revisions. The events table refuses UPDATE and DELETE (and, on PostgreSQL, TRUNCATE)
through triggers, so a history can only grow.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON(none_as_null=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Community = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")

APPEND_ONLY = "events are append-only: the history cannot be changed or removed"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
)
POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION hatchery_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{APPEND_ONLY} (% refused)', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION hatchery_events_append_only()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION hatchery_events_append_only()""",
)


def _utc(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "workflow_definitions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("source_path", sa.String(500)),
        _utc("loaded_at"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("workflow_version", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(64)),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("community", Community, nullable=False),
        sa.Column("title", sa.String(400)),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        _utc("entered_at"),
        sa.Column("state_entries", JSONType, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["workflow_id", "workflow_version"],
                                ["workflow_definitions.id", "workflow_definitions.version"],
                                name="fk_cases_workflow"),
        sa.CheckConstraint("status IN ('active', 'suspended', 'closed')",
                           name="ck_cases_status"),
    )
    op.create_index("ix_cases_community", "cases", ["community"])
    op.create_index("ix_cases_workflow_state", "cases", ["workflow_id", "state"])
    op.create_index("ix_cases_queue", "cases", ["priority", "created_at"])
    op.create_index("ix_cases_updated", "cases", ["updated_at"])

    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("workflow_version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(64)),
        sa.Column("from_state", sa.String(64)),
        sa.Column("to_state", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64)),
        sa.Column("input", JSONType, nullable=False),
        sa.Column("changes", JSONType, nullable=False),
        sa.Column("comment", sa.Text()),
        _utc("at"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
    )
    op.create_index("ix_events_actor_at", "events", ["actor", "at"])
    op.create_index("ix_events_workflow_at", "events", ["workflow_id", "at"])
    op.create_index("ix_events_at", "events", ["at"])

    op.create_table(
        "checklist_ticks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("entry_seq", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("evidence", sa.Text()),
        sa.Column("actor", sa.String(200), nullable=False),
        _utc("at"),
        sa.UniqueConstraint("case_id", "state", "entry_seq", "item",
                            name="uq_checklist_ticks_item"),
    )
    op.create_table(
        "case_links",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("other_case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("relation", sa.String(64), nullable=False),
        _utc("created_at"),
        sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_links_pair"),
        sa.CheckConstraint("case_id <> other_case_id", name="ck_case_links_not_self"),
    )
    op.create_index("ix_case_links_other", "case_links", ["other_case_id"])

    op.create_table(
        "timers",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("timer_id", sa.String(64), nullable=False),
        _utc("due_at"),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(64)),
        sa.Column("repeat", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("remaining_seconds", sa.Float()),
        sa.Column("claimed_by", sa.String(200)),
        _utc("claimed_until", nullable=True),
        _utc("fired_at", nullable=True),
        sa.Column("outcome", sa.Text()),
        _utc("created_at"),
    )
    op.create_index("ix_timers_due", "timers", ["status", "due_at"])
    op.create_index("ix_timers_case", "timers", ["case_id", "status"])

    op.create_table(
        "idempotency_records",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(32)),
        sa.Column("response", JSONType, nullable=False),
        _utc("created_at"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
        sa.Column("roles", JSONType, nullable=False),
        sa.Column("community", Community, nullable=False),
        sa.Column("permissions", JSONType, nullable=False),
        _utc("created_at"),
        _utc("revoked_at", nullable=True),
    )

    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS hatchery_events_append_only()")
    for table in ("api_tokens", "idempotency_records", "timers", "case_links",
                  "checklist_ticks", "events", "cases", "workflow_definitions"):
        op.drop_table(table)
