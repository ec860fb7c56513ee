"""Integrity proofs within a community: chain verification and checkpoints of the cases
under a community prefix (the whole store: `engine.audit.verify` and `checkpoint`).

Cases are read in pages by id, as `engine.audit.verify` does, with the same per-case check
(`engine.audit.verify_case`), so a community's answer is the whole store's answer
restricted to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.audit.projection import field_defaults, finality
from engine.audit.verify import StoredWorkflows, checkpoint, verify, verify_case
from engine.ledger.chain import ChainBreak, Checkpoint
from engine.ledger.keys import key_of
from engine.store import repository as repo
from engine.store.db import read_connection
from engine.store.tables import Case

__all__ = ["checkpoint_scope", "verify_scope"]

CASES = Case.__table__  # type: ignore[attr-defined]
PAGE = 500


def _pages(connection: Connection, prefix: str) -> Iterator[Sequence[Mapping[Any, Any]]]:
    after: str | None = None
    columns = repo.head_columns(connection)
    while True:
        query = (sa.select(*columns)
                 .where(sa.or_(CASES.c.community == prefix,
                               CASES.c.community.startswith(prefix + "/", autoescape=True)))
                 .order_by(CASES.c.id).limit(PAGE))
        if after is not None:
            query = query.where(CASES.c.id > after)
        page = list(connection.execute(query).mappings())
        if not page:
            return
        yield page
        after = page[-1]["id"]


def verify_scope(engine: Engine, community_prefix: str | None = None) -> list[ChainBreak]:
    """The first break of every case in the community (None: the whole store)."""
    if not community_prefix:
        return verify(engine)
    breaks: list[ChainBreak] = []
    registry = StoredWorkflows(engine)
    is_final, defaults = finality(registry), field_defaults(registry)
    with read_connection(engine) as connection:
        for page in _pages(connection, community_prefix):
            by_case: dict[str, list[Mapping[Any, Any]]] = {row["id"]: [] for row in page}
            for event in repo.events_of_cases(connection, list(by_case)):
                by_case[event["case_id"]].append(event)
            for row in page:
                found = verify_case(row, by_case[row["id"]], is_final, key_of(engine),
                                    defaults)
                if found is not None:
                    breaks.append(found)
    return breaks


def checkpoint_scope(engine: Engine, now: datetime,
                     community_prefix: str | None = None) -> Checkpoint:
    """The heads of the community's cases now and their digest (None: the whole store)."""
    if not community_prefix:
        from engine.clock import FrozenClock

        return checkpoint(engine, FrozenClock(now))
    heads: list[tuple[str, str, int]] = []
    with read_connection(engine) as connection:
        for page in _pages(connection, community_prefix):
            heads.extend((r["id"], r["head_hash"], r["event_count"]) for r in page)
    return Checkpoint.take(heads, now)
