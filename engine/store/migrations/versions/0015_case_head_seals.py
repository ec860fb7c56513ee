"""Each case row keeps the seal of its head: an HMAC with the chain key, which is kept
outside the database (engine/ledger/keys.py). Nullable: rows written before it have none
until `hatchery audit seal` (or the first start that makes the key) seals them.

Revision ID: 0015_case_head_seals
Revises: 0011_case_assignee
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_case_head_seals"
down_revision: str | None = "0011_case_assignee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("head_seal", sa.String(80)))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy of `cases` would
    # have to drop the table its events refer to.
    op.drop_column("cases", "head_seal")
