"""Each case row keeps its soonest pending deadline (`next_due`): the due time of the
earliest timer with status `pending`, NULL when none is. The door keeps it equal to the
timers whenever it arms, cancels, pauses, resumes or fires them
(`engine.service.deadlines`), so that the locked read of a change knows whether a timer
fell due before it without a subquery over the timers. Filled in here from the pending
timers of the existing cases.

Revision ID: 0007_cases_next_due
Revises: 0008_operations_chain
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.tables import UTCDateTime

revision: str = "0007_cases_next_due"
down_revision: str | None = "0008_operations_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = ("UPDATE cases SET next_due = (SELECT min(t.due_at) FROM timers t "
             "WHERE t.case_id = cases.id AND t.status = 'pending')")


def upgrade() -> None:
    op.add_column("cases", sa.Column("next_due", UTCDateTime()))
    op.execute(_BACKFILL)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+), as 0015 does.
    op.drop_column("cases", "next_due")
