"""Retired workflow versions: no new cases start on them; running cases continue.

`retired_at` and `retired_by` on `workflow_definitions` (both empty for a version in
use). Who retired what is also in the operations log, written in the same transaction.

Revision ID: 0020_definition_retirement
Revises: 0006_operations_log
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0020_definition_retirement"
down_revision: str | None = "0006_operations_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_definitions") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("retired_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_definitions") as batch:
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
