"""Retired workflow versions: no new cases start on them; running cases continue.

`retired_at` and `retired_by` on `workflow_definitions` (both empty for a version in
use). Who retired what is also in the operations log, written in the same transaction.

Revision ID: 0020_definition_retirement
Revises: 0010_console_accounts
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0020_definition_retirement"
down_revision: str | None = "0010_console_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of the table would drop it,
# which the cases' foreign key to it refuses.
def upgrade() -> None:
    op.add_column("workflow_definitions", sa.Column("retired_at", UTCDateTime(), nullable=True))
    op.add_column("workflow_definitions", sa.Column("retired_by", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("workflow_definitions", "retired_by")
    op.drop_column("workflow_definitions", "retired_at")
