"""PostgreSQL: a case's data and state entries as JSONB (parsed once when written, not at
every read of a field, and open to `data->>'field'` and `data @> '{...}'` in SQL). No GIN
index on it: no list or audit query searches inside case data (the queue's text search
reads the denormalized `title`), and a GIN index would cost every fire a write for no
reader. SQLite keeps its JSON text (nothing to do).

The hash chain covers each event's canonical body text, never this column's form, so the
conversion changes no hash; `verify` compares the data as values (key order aside).

Revision ID: 0040_cases_jsonb
Revises: 0025_calendar_notices
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0040_cases_jsonb"
down_revision: str | None = "0025_calendar_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("data", "state_entries")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"ALTER TABLE cases ALTER COLUMN {column} TYPE jsonb "
                   f"USING {column}::jsonb")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"ALTER TABLE cases ALTER COLUMN {column} TYPE json USING {column}::json")
