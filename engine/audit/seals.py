"""Seals of the case heads over the database: checked by verify, written by the store
(`engine.store.repository` seals each new head with the engine's chain key), adopted for
rows written before there was a key, and renewed when the key is rotated.

See `engine.ledger.keys` for what a seal is and where the key lives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.ledger.chain import ChainBreak
from engine.ledger.keys import ChainKey, attach, load
from engine.store import repository as repo
from engine.store.db import read_connection, write_connection
from engine.store.tables import CASES

HEAD_UNSEALED = "head_unsealed"
"""The case's head carries no seal: written around the service, or before the key."""
HEAD_FORGED = "head_forged"
"""The case's head does not carry the seal the chain key gives: written without the key
(an appended or rewritten history), or sealed with another key."""
PAGE = 500


def seal_break(row: Mapping[Any, Any], key: ChainKey) -> ChainBreak | None:
    """The break of a case row whose head is not sealed with `key`, or None."""
    if "head_seal" not in row:  # a schema from before seals
        return None
    case_id, seal = str(row["id"]), row.get("head_seal")
    count = int(row["event_count"])
    if seal is None:
        return ChainBreak(case_id, count or None, HEAD_UNSEALED,
                          f"Case {case_id!r}: its head (event {count}) carries no seal: it "
                          "was written around the service, or before the chain key.")
    if not key.holds(seal, case_id, row["head_hash"], count):
        other = str(seal).split(":", 1)[0]
        why = ("it was sealed with another key (id " + other + ")" if other != key.id
               else "it was not written with the chain key")
        return ChainBreak(case_id, count or None, HEAD_FORGED,
                          f"Case {case_id!r}: its head (event {count}) does not carry the "
                          f"chain key's seal: {why}.")
    return None


def attach_service_key(engine: Engine, chain_key: str | None, data_dir: Any) -> ChainKey | None:
    """Load (or make, on a first start) the chain key and seal with it from now on. A key
    made now adopts the heads already stored (there was no key to seal them with)."""
    key, made = load(chain_key, data_dir)
    attach(engine, key)
    if key is not None and made:
        seal_heads(engine, key, only_unsealed=True)
    return key


def seal_heads(engine: Engine, key: ChainKey, *, only_unsealed: bool,
               previous: ChainKey | None = None) -> int:
    """Seal stored heads with `key`, the operations log's too (`engine.audit.oplog`):
    those without a seal (`only_unsealed`), or every one whose seal `previous` vouches for
    (a rotation; any other is left as it is and counted out). Returns how many case heads
    were sealed."""
    sealed = 0
    after: str | None = None
    while True:
        with read_connection(engine) as connection:
            page = repo.case_heads(connection, after=after, limit=PAGE)
        if not page:
            from engine.audit.oplog import seal_log_head

            seal_log_head(engine, key, only_unsealed=only_unsealed, previous=previous)
            return sealed
        after = page[-1]["id"]
        updates = []
        for row in page:
            if only_unsealed and row["head_seal"] is not None:
                continue
            if previous is not None and seal_break(row, previous) is not None:
                continue
            updates.append({"w_id": row["id"], "w_head": row["head_hash"],
                            "head_seal": key.seal(row["id"], row["head_hash"],
                                                  row["event_count"])})
        if updates:
            with write_connection(engine) as connection:
                for update in updates:  # only if the head did not move meanwhile
                    result = connection.execute(
                        sa.update(CASES).where(CASES.c.id == update["w_id"],
                                               CASES.c.head_hash == update["w_head"])
                        .values(head_seal=update["head_seal"]))
                    sealed += result.rowcount
