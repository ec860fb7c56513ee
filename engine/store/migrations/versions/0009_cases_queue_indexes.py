"""Indexes for the work queue's slow pages: the deadline order (`ix_cases_next_due`: a page
sorted by next deadline walks it, `engine.store.date_walk`) and the title search
(`ix_cases_search`, status, community, title and id: the search reads the index of the
reader's scope, never the records that do not match).

Revision ID: 0009_cases_queue_indexes
Revises: 0007_cases_next_due
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_cases_queue_indexes"
down_revision: str | None = "0007_cases_next_due"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_next_due", "cases", ["next_due"])
    op.create_index("ix_cases_search", "cases", ["status", "community", "title", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_search", table_name="cases")
    op.drop_index("ix_cases_next_due", table_name="cases")
