"""PostgreSQL: the append-only triggers of the history and of the operations log fire in
every session, replica sessions included (`ENABLE ALWAYS`): `SET session_replication_role
= replica` no longer lets a session update or delete events. (The row trigger of `events`
recurses into its partitions; each partition's TRUNCATE trigger is set one by one, and
engine/store/partitions.py makes new ones the same way.) SQLite has no such switch.

Revision ID: 0016_triggers_always
Revises: 0015_case_head_seals
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_triggers_always"
down_revision: str | None = "0015_case_head_seals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = ("SELECT c.relname, t.tgname FROM pg_trigger t "
             "JOIN pg_class c ON c.oid = t.tgrelid "
             "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal "
             "AND t.tgparentid = 0 AND t.tgname IN ('events_append_only', "
             "'events_no_truncate', 'operations_append_only', 'operations_no_truncate')")


def _set(mode: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, trigger in bind.execute(sa.text(_TRIGGERS)).all():
        op.execute(f'ALTER TABLE "{table}" ENABLE {mode} TRIGGER "{trigger}"')


def upgrade() -> None:
    _set("ALWAYS")


def downgrade() -> None:
    _set("")
