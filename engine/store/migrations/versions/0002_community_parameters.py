"""Community parameter overrides: a parameter's value for a community and everything
under it (the most specific community wins).

Revision ID: 0002_community_parameters
Revises: 0001_initial
Create Date: 2026-03-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0002_community_parameters"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "community_parameters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("community",
                  sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("community", "workflow_id", "name", name="uq_community_parameters"),
    )


def downgrade() -> None:
    op.drop_table("community_parameters")
