"""Holiday notices imported by operators: the working-day calendar as data.

Revision ID: 0025_calendar_notices
Revises: 0030_operations_request_id
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0025_calendar_notices"
down_revision: str | None = "0030_operations_request_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_notices",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("notice", sa.String(500), nullable=False),
        sa.Column("days_off", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("working_days", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_notices")
