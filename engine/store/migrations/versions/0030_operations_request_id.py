"""The operations log names the HTTP request each entry was made for (`X-Request-ID`), so
an auditor can follow an entry to the request's log line; indexed to find a request's
entries. Nullable: entries made outside a request (the command line, timers) have none.

Revision ID: 0030_operations_request_id
Revises: 0020_definition_retirement
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_operations_request_id"
down_revision: str | None = "0020_definition_retirement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("operations", sa.Column("request_id", sa.String(64)))
    op.create_index("ix_operations_request_id", "operations", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_operations_request_id", table_name="operations")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("request_id")
