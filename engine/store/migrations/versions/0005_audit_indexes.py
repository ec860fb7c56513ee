"""Audit indexes: which cases stood in a state at an instant, answered without a scan.

`ix_events_workflow_state_case` (workflow_id, to_state, case_id, seq, at) finds the events
that left a case of a workflow in a state, in case order and with their time in the index,
so that a page of "the cases in a state at an instant" stops as soon as it is full (see
`engine.history.cases_in_state`).

Revision ID: 0005_audit_indexes
Revises: 0002_community_parameters
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_audit_indexes"
down_revision: str | None = "0002_community_parameters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_workflow_state_case", "events",
                    ["workflow_id", "to_state", "case_id", "seq", "at"])


def downgrade() -> None:
    op.drop_index("ix_events_workflow_state_case", table_name="events")
