"""The operations log: who did what that was not a change of a case, and when.

Exports, verifications and checkpoints, token creation and revocation, definition uploads,
migrations, and refused attempts to change a case (who tried what, and why it was
refused) are kept here, outside the cases' own chains since no case changed. The table
refuses UPDATE and DELETE (migration 0006), so the log only grows, and its entries are
chained and their head sealed (engine/ledger/oplog.py, migration 0008_operations_chain),
so an edit made around the triggers shows at the next verify.

An entry may name a community (the scope it concerns); entries without one concern the
whole installation and are shown only to readers of every community.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.access.principals import community_scope
from engine.ledger import keys, oplog
from engine.observability import REQUEST_ID
from engine.store.db import read_connection, write_connection
from engine.store.tables import OPERATIONS, OPERATIONS_HEAD

__all__ = ["OUTCOMES", "OperationView", "list_operations", "record", "record_in"]

HEAD = OPERATIONS_HEAD
OUTCOMES = ("done", "refused")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class OperationView:
    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    target: str | None
    community: str | None
    detail: dict[str, Any]
    request_id: str | None = None


def record(engine: Engine, *, actor: str, action: str, at: datetime,
           outcome: str = "done", target: str | None = None, community: str | None = None,
           detail: Mapping[str, Any] | None = None) -> None:
    """Append one entry (its own transaction: the operation it records changed no case)."""
    with write_connection(engine) as connection:
        record_in(connection, actor=actor, action=action, at=at, outcome=outcome,
                  target=target, community=community, detail=detail)


def record_in(connection: Connection, *, actor: str, action: str, at: datetime,
              outcome: str = "done", target: str | None = None, community: str | None = None,
              detail: Mapping[str, Any] | None = None) -> None:
    """Append one entry in the caller's transaction (the change it records commits with it,
    or neither does)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    entry = {
        "at": at, "actor": actor[:200], "action": action[:64], "outcome": outcome,
        "target": None if target is None else target[:200], "community": community,
        "detail": oplog.plain_detail(detail),
        # The HTTP request the entry was made for, if any (engine.observability).
        "request_id": REQUEST_ID.get()}
    # The head row is locked first (FOR UPDATE; SQLite's writer holds the file), so the
    # entries are chained one writer at a time (engine/ledger/oplog.py).
    head = connection.execute(sa.select(HEAD).where(HEAD.c.id == 1).with_for_update()
                              ).mappings().first()
    if head is None:  # a schema before 0008_operations_chain
        connection.execute(OPERATIONS.insert(), entry)
        return
    digest = oplog.entry_hash(head["head_hash"], entry)
    entry_id = connection.execute(
        OPERATIONS.insert().returning(OPERATIONS.c.id),
        {**entry, "prev_hash": head["head_hash"], "hash": digest}).scalar_one()
    entries = int(head["entries"]) + 1
    key = keys.key_of(connection.engine)
    connection.execute(sa.update(HEAD).where(HEAD.c.id == 1).values(
        entries=entries, last_id=entry_id, head_hash=digest,
        head_seal=None if key is None else key.seal_log(digest, entries)))


def list_operations(engine: Engine, *, community_prefix: str | None = None,
                    actor: str | None = None, action: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    after: int | None = None, limit: int = 100
                    ) -> tuple[list[OperationView], int | None]:
    """A page of entries, oldest first (`since` inclusive, `until` exclusive), and the id
    to continue after (None on the last page). With `community_prefix`, only entries of
    that community and those nested in it."""
    limit = min(max(int(limit), 1), MAX_LIMIT)
    query = sa.select(OPERATIONS).order_by(OPERATIONS.c.id).limit(limit + 1)
    if community_prefix:
        query = query.where(community_scope(OPERATIONS.c.community, community_prefix))
    if actor is not None:
        query = query.where(OPERATIONS.c.actor == actor)
    if action is not None:
        query = query.where(OPERATIONS.c.action == action)
    if since is not None:
        query = query.where(OPERATIONS.c.at >= since)
    if until is not None:
        query = query.where(OPERATIONS.c.at < until)
    if after is not None:
        query = query.where(OPERATIONS.c.id > after)
    with read_connection(engine) as connection:
        rows = list(connection.execute(query).mappings())
    found = [OperationView(id=r["id"], at=r["at"], actor=r["actor"], action=r["action"],
                           outcome=r["outcome"], target=r["target"],
                           community=r["community"], detail=dict(r["detail"] or {}),
                           request_id=r["request_id"])
             for r in rows[:limit]]
    return found, (found[-1].id if len(rows) > limit else None)
