"""Moving a store to another database (SQLite to PostgreSQL, say), history intact and proved.

`copy_store(source, target)` copies every table of the schema, row for row with the same
ids, in an order that satisfies the foreign keys, into an empty target migrated to the
same revision: cases, their events exactly as stored (bodies, previous hashes, hashes), so
the chains continue unbroken; timers with their state; links, checklist ticks, idempotency
records, community parameters, tokens (hashes only), definitions, the operations log. The
target's id sequences are moved past the copied ids. Then it proves the copy: every chain
verifies on the target, the checkpoint digest of all case heads and the operations log's
head are the source's, and every table holds as many rows as the source's.

The source is read in one snapshot; stop the service (or let it only read) while moving, so
that nothing written after the snapshot is left behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.errors import HatcheryError
from engine.ledger.chain import ChainBreak, Checkpoint
from engine.store.backup import OperationsHead, case_checkpoint, operations_head, schema_revision
from engine.store.db import database_label, read_connection, write_connection
from engine.store.migrating import upgrade
from engine.store.tables import metadata

__all__ = ["Copied", "CopyRefused", "copy_store"]

BATCH = 1000


class CopyRefused(HatcheryError):
    """The copy could not be made or did not prove identical; the message says why."""


@dataclass(frozen=True)
class Copied:
    rows: dict[str, int]
    checkpoint_digest: str
    cases: int


def copy_store(source: Engine, target: Engine, *,
               verify: Callable[[Engine], list[ChainBreak]]) -> Copied:
    """Copy `source` into the empty `target` and prove it (see the module docstring)."""
    with read_connection(source) as reading:
        revision = schema_revision(reading)
    if revision is None:
        raise CopyRefused(f"{database_label(source)} holds no Hatchery schema")
    with read_connection(target) as connection:
        if schema_revision(connection) is not None:
            raise CopyRefused(f"{database_label(target)} is not empty: copy into a new "
                              "database")
    upgrade(target, revision)
    _months_of(source, target)
    tables = list(metadata.sorted_tables)
    rows: dict[str, int] = {}
    with read_connection(source) as reading, write_connection(target) as writing:
        for table in tables:
            rows[table.name] = _copy_table(reading, writing, table)
        if writing.dialect.name == "postgresql":
            for table in tables:
                _advance_sequence(writing, table)
        now = datetime.now(UTC)
        expected = case_checkpoint(reading, now), operations_head(reading)
    _prove(source, target, rows, expected, verify)
    return Copied(rows, expected[0].digest, len(expected[0].heads))


def _months_of(source: Engine, target: Engine) -> None:
    """A partitioned target (PostgreSQL) gets a partition for every month of the source's
    history, so the copied events land in their months, not in `events_default`."""
    from engine.store.partitions import ensure_partitions

    with read_connection(source) as reading:
        oldest = reading.execute(sa.text("SELECT min(at) FROM events")).scalar()
    if oldest is None:
        return
    if isinstance(oldest, str):  # SQLite hands the text back
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    months = (now.year - oldest.year) * 12 + now.month - oldest.month
    ensure_partitions(target, oldest, ahead=max(0, months) + 12)


def _copy_table(reading: sa.Connection, writing: sa.Connection, table: sa.Table) -> int:
    if table.name == "operations_head":  # the migration made the empty log's head
        writing.execute(table.delete())
    order = list(table.primary_key.columns) or list(table.columns)
    result = reading.execution_options(yield_per=BATCH).execute(
        sa.select(table).order_by(*order)).mappings()
    copied = 0
    for batch in result.partitions(BATCH):
        writing.execute(table.insert(), [dict(row) for row in batch])
        copied += len(batch)
    return copied


def _advance_sequence(writing: sa.Connection, table: sa.Table) -> None:
    for column in table.primary_key.columns:
        if column.autoincrement is True or (column.autoincrement == "auto"
                                            and isinstance(column.type, sa.Integer)):
            writing.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f"coalesce((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"))


def _prove(source: Engine, target: Engine, rows: dict[str, int],
           expected: tuple[Checkpoint, OperationsHead], verify: Callable[[Engine], list[ChainBreak]]
           ) -> None:
    checkpoint, operations = expected
    with read_connection(target) as connection:
        found = case_checkpoint(connection, datetime.now(UTC)), operations_head(connection)
        counts = {t.name: int(connection.execute(
            sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables}
    if counts != rows:
        raise CopyRefused(f"the copy's row counts {counts} are not the source's {rows}")
    breaks = verify(target)
    if breaks:
        raise CopyRefused(f"the copied history does not verify: {len(breaks)} case(s) "
                          f"broken, first {breaks[0].case_id}: {breaks[0].message}")
    if found[0].digest != checkpoint.digest:
        raise CopyRefused("the copied case heads are not the source's (checkpoint digest "
                          f"{found[0].digest})")
    if found[1] != operations:
        raise CopyRefused("the copied operations log is not the source's")
