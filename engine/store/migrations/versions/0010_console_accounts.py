"""The console's people: users (roles, scope, permissions, Argon2 password hash, sign-in
failures and lock), server-side sessions, and saved work-queue filters.

Revision ID: 0010_console_accounts
Revises: 0006_operations_log
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0010_console_accounts"
down_revision: str | None = "0006_operations_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMUNITY = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("community", COMMUNITY, nullable=False),
        sa.Column("permissions", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", UTCDateTime()),
        sa.Column("locked_until", UTCDateTime()),
        sa.Column("disabled_at", UTCDateTime()),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime()),
        sa.Index("ix_console_sessions_user", "user_id"),
    )
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.String(1000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filters_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_filters")
    op.drop_table("console_sessions")
    op.drop_table("users")
