"""A case's responsible person (责任人) and the follow-up date they set for themselves.

`assignee` is the sign-in name of the person responsible (None: unassigned); it changes
only through the door's `assign`, which records the change in the case's history.
`follow_up_on` is the day the responsible person means to visit again ("visit again
on ..."), set through the door's `follow_up`. Both indexed for the queue's views ("my
cases", "unassigned", "follow-up due").

Revision ID: 0011_case_assignee
Revises: 0041_events_by_month
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_case_assignee"
down_revision: str | None = "0041_events_by_month"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("assignee", sa.String(200)))
    op.add_column("cases", sa.Column("follow_up_on", sa.Date()))
    op.create_index("ix_cases_assignee", "cases", ["assignee"])
    op.create_index("ix_cases_follow_up", "cases", ["follow_up_on"])


def downgrade() -> None:
    op.drop_index("ix_cases_follow_up", table_name="cases")
    op.drop_index("ix_cases_assignee", table_name="cases")
    # Dropped in place (SQLite 3.35+ and PostgreSQL): a batch copy of `cases` would trip
    # the foreign keys of the tables that refer to it.
    op.drop_column("cases", "follow_up_on")
    op.drop_column("cases", "assignee")
