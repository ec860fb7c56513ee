"""The operations log's chain over the database: checked by verify, its head sealed with
the chain key (on the first start that makes the key, by `hatchery audit seal`, and
resealed by a key rotation). The rules are `engine.ledger.oplog`; the store appends
(`engine.store.operations.record_in`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.audit.seals import HEAD_FORGED, HEAD_UNSEALED
from engine.ledger.chain import ChainBreak
from engine.ledger.keys import ChainKey
from engine.ledger.oplog import LogHead, first_break
from engine.store.db import read_connection, write_connection
from engine.store.operations import HEAD
from engine.store.tables import OPERATIONS

__all__ = ["log_breaks", "seal_log_head"]

PAGE = 1000


def _head_row(connection: Connection) -> Mapping[Any, Any] | None:
    if not sa.inspect(connection).has_table("operations_head"):
        return None  # an auditor's copy from before the chain
    return connection.execute(sa.select(HEAD).where(HEAD.c.id == 1)).mappings().first()


def _rows(connection: Connection) -> Iterator[Mapping[Any, Any]]:
    after: int | None = None
    while True:
        query = sa.select(OPERATIONS).order_by(OPERATIONS.c.id).limit(PAGE)
        if after is not None:
            query = query.where(OPERATIONS.c.id > after)
        page = list(connection.execute(query).mappings())
        if not page:
            return
        yield from page
        after = page[-1]["id"]


def log_breaks(engine: Engine, key: ChainKey | None) -> list[ChainBreak]:
    """The first break of the operations log's chain, and a head without the chain key's
    seal (empty: the log is intact). Read in one snapshot."""
    with read_connection(engine) as connection:
        if not sa.inspect(connection).has_table("operations_head"):
            return []
        row = _head_row(connection)
        if row is None:
            return [ChainBreak("", None, "operations_log_head_mismatch",
                               "Operations log: its head row was removed.")]
        head = LogHead(int(row["entries"]), row["last_id"], row["head_hash"])
        found = first_break(_rows(connection), head)
    if found is not None:
        return [found]
    if key is None or head.entries == 0:
        return []
    if row["head_seal"] is None:
        return [ChainBreak("", head.last_id, HEAD_UNSEALED,
                           "Operations log: its head carries no seal: it was written around "
                           "the service, or before the chain key (`hatchery audit seal`).")]
    if not key.holds_log(row["head_seal"], head.head_hash, head.entries):
        return [ChainBreak("", head.last_id, HEAD_FORGED,
                           "Operations log: its head does not carry the chain key's seal: "
                           "it was written without the key, or sealed with another.")]
    return []


def seal_log_head(engine: Engine, key: ChainKey, *, only_unsealed: bool,
                  previous: ChainKey | None = None) -> int:
    """Seal the log's head with `key` (1 if sealed, 0 if left): when it has no seal
    (`only_unsealed`), or when `previous` vouches for its seal (a rotation)."""
    with write_connection(engine) as connection:
        if not sa.inspect(connection).has_table("operations_head"):
            return 0
        row = connection.execute(sa.select(HEAD).where(HEAD.c.id == 1).with_for_update()
                                 ).mappings().first()
        if row is None or (only_unsealed and row["head_seal"] is not None):
            return 0
        if previous is not None and row["entries"] and not previous.holds_log(
                row["head_seal"], row["head_hash"], row["entries"]):
            return 0
        connection.execute(sa.update(HEAD).where(HEAD.c.id == 1).values(
            head_seal=key.seal_log(row["head_hash"], row["entries"])))
        return 1
