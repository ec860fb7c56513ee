"""The operations log is chained like the events (engine/ledger/oplog.py): every entry
keeps `prev_hash` and `hash`, and one head row (`operations_head`: entries, last id, last
hash, seal) guards the end and is locked by every writer, so concurrent writers take turns
instead of forking the chain. Existing entries are chained in id order here (the
append-only triggers are lifted for the backfill in this one transaction and put back as
they were: on PostgreSQL `ENABLE ALWAYS`). The head stays unsealed until the service
writes the next entry or `hatchery audit seal` runs (the key is not the database's).

Revision ID: 0008_operations_chain
Revises: 0016_triggers_always
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.ledger.oplog import GENESIS, entry_hash
from engine.store.tables import JSONType, UTCDateTime

revision: str = "0008_operations_chain"
down_revision: str | None = "0016_triggers_always"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "the operations log is append-only: an entry cannot be changed or removed"
SQLITE_NO_UPDATE = f"""CREATE TRIGGER operations_no_update BEFORE UPDATE ON operations
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""
BATCH = 1000

_OPERATIONS = sa.table(
    "operations", sa.column("id", sa.BigInteger()), sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String()), sa.column("action", sa.String()),
    sa.column("outcome", sa.String()), sa.column("target", sa.String()),
    sa.column("community", sa.String()), sa.column("detail", JSONType),
    sa.column("request_id", sa.String()), sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()))


def upgrade() -> None:
    op.add_column("operations", sa.Column("prev_hash", sa.String(64)))
    op.add_column("operations", sa.Column("hash", sa.String(64)))
    op.create_table(
        "operations_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger()),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("head_seal", sa.String(80)),
    )
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE operations DISABLE TRIGGER operations_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS operations_no_update")
    previous, entries, last_id = GENESIS, 0, None
    after = None
    while True:
        query = sa.select(_OPERATIONS).order_by(_OPERATIONS.c.id).limit(BATCH)
        if after is not None:
            query = query.where(_OPERATIONS.c.id > after)
        rows = list(bind.execute(query).mappings())
        if not rows:
            break
        for row in rows:
            digest = entry_hash(previous, row)
            bind.execute(sa.update(_OPERATIONS).where(_OPERATIONS.c.id == row["id"])
                         .values(prev_hash=previous, hash=digest))
            previous, entries, last_id = digest, entries + 1, row["id"]
        after = rows[-1]["id"]
    if postgres:
        op.execute("ALTER TABLE operations ENABLE ALWAYS TRIGGER operations_append_only")
    else:
        op.execute(SQLITE_NO_UPDATE)
    bind.execute(sa.text("INSERT INTO operations_head (id, entries, last_id, head_hash) "
                         "VALUES (1, :entries, :last_id, :head)"),
                 {"entries": entries, "last_id": last_id, "head": previous})


def downgrade() -> None:
    op.drop_table("operations_head")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("operations", "hash")
        op.drop_column("operations", "prev_hash")
    else:
        # In place (SQLite 3.35+): a batch copy would drop the table and its triggers.
        op.execute("ALTER TABLE operations DROP COLUMN hash")
        op.execute("ALTER TABLE operations DROP COLUMN prev_hash")
