"""The operations log: actions that are not changes of a case (exports, verifications,
token and definition management, refused attempts), append-only like the events.

Revision ID: 0006_operations_log
Revises: 0005_audit_indexes
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0006_operations_log"
down_revision: str | None = "0005_audit_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "the operations log is append-only: an entry cannot be changed or removed"
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER operations_no_update BEFORE UPDATE ON operations
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
)
POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION hatchery_operations_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{APPEND_ONLY} (% refused)', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    """CREATE TRIGGER operations_append_only BEFORE UPDATE OR DELETE ON operations
        FOR EACH ROW EXECUTE FUNCTION hatchery_operations_append_only()""",
    """CREATE TRIGGER operations_no_truncate BEFORE TRUNCATE ON operations
        FOR EACH STATEMENT EXECUTE FUNCTION hatchery_operations_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("community",
                  sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=False),
        sa.Index("ix_operations_at", "at"),
        sa.Index("ix_operations_actor_at", "actor", "at"),
    )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS operations_no_truncate ON operations")
        op.execute("DROP TRIGGER IF EXISTS operations_append_only ON operations")
        op.execute("DROP FUNCTION IF EXISTS hatchery_operations_append_only()")
    op.drop_table("operations")
