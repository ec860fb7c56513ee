"""Integrity of the stored histories: chain verification and checkpoints over the database.

`engine.ledger.chain` holds the pure rules; this module feeds it the stored rows. Cases are read
in pages (by id), so verifying a large store does not hold it all in memory.

Besides the chain itself, `verify` checks that every event's columns (what queries and
exports show) still say what its hashed `body` says: an edit of the `actor` column alone
would otherwise leave a valid chain behind a false history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.access.principals import community_scope
from engine.audit.guards import guard_breaks
from engine.audit.oplog import log_breaks
from engine.audit.projection import (
    Defaults,
    IsFinal,
    field_defaults,
    finality,
    projection_break,
)
from engine.audit.seals import seal_break
from engine.clock import Clock, SystemClock
from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.definitions.loader import load_text
from engine.ledger import chain
from engine.ledger.chain import (
    CONTENT_CHANGED,
    ChainBreak,
    ChainEvent,
    ChainHead,
    Checkpoint,
    canonical_json,
    verify_chain,
)
from engine.ledger.keys import ChainKey, key_of
from engine.store import repository as repo
from engine.store.db import read_connection
from engine.store.tables import CASES, EVENT_FIELDS

__all__ = ["EVENT_FIELDS", "checkpoint", "checkpoint_breaks", "heads", "verify",
           "verify_checkpoint"]

PAGE = 500
_DEFINITIONS = sa.table("workflow_definitions", sa.column("id"), sa.column("version"),
                        sa.column("source_text"))


def verify(engine: Engine, case_id: str | None = None,
           community_prefix: str | None = None) -> list[ChainBreak]:
    """The first break of every case whose history no longer matches (empty: all intact).

    The whole store (neither argument): first any append-only guard of the database that
    is missing (`engine.audit.guards`) and the first break of the operations log's chain
    (`engine.audit.oplog`), then every case. With `case_id`, only that case (a missing
    case is reported as a break with seq None); with `community_prefix`, only the cases of
    that community and those nested in it (the same check: a community's answer is the
    whole store's restricted to it).
    """
    registry = StoredWorkflows(engine)
    is_final, defaults, key = finality(registry), field_defaults(registry), key_of(engine)
    whole = case_id is None and not community_prefix
    breaks: list[ChainBreak] = (guard_breaks(engine) + log_breaks(engine, key)
                                if whole else [])
    with read_connection(engine) as connection:
        if case_id is not None:
            heads = [r for r in repo.case_rows(connection, [case_id])]
            if not heads:
                return [ChainBreak(case_id, None, "case_missing",
                                   f"Case {case_id!r} does not exist.")]
            pages: Iterator[Sequence[Mapping[Any, Any]]] = iter([heads])
        else:
            pages = _pages(connection, community_prefix)
        for page in pages:
            by_case: dict[str, list[Mapping[Any, Any]]] = {row["id"]: [] for row in page}
            for event in repo.events_of_cases(connection, list(by_case)):
                by_case[event["case_id"]].append(event)
            for row in page:
                found = verify_case(row, by_case[row["id"]], is_final, key, defaults)
                if found is not None:
                    breaks.append(found)
    return breaks


class StoredWorkflows:
    """Workflow versions compiled from the stored definitions, read with only the columns
    every schema has (an auditor's copy may predate later migrations)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._found: dict[tuple[str, str], CompiledWorkflow | None] = {}

    def get(self, workflow_id: str, version: str) -> CompiledWorkflow:
        key = (workflow_id, version)
        if key not in self._found:
            with read_connection(self.engine) as connection:
                text = connection.execute(
                    sa.select(_DEFINITIONS.c.source_text).where(
                        _DEFINITIONS.c.id == workflow_id, _DEFINITIONS.c.version == version)
                ).scalar()
            self._found[key] = None if text is None else _compiled(text)
        found = self._found[key]
        if found is None:
            raise LookupError(f"{workflow_id} {version}")
        return found


def _compiled(text: str) -> CompiledWorkflow | None:
    result = load_text(text, "<stored>")
    if not result.ok or result.spec is None:
        return None
    compiled = getattr(result, "compiled", None)
    return compiled if isinstance(compiled, CompiledWorkflow) else compile_workflow(
        result.spec, text)


def _pages(connection: Connection, community_prefix: str | None = None
           ) -> Iterator[Sequence[Mapping[Any, Any]]]:
    """Case rows (what verifying reads of them) a page at a time by id: every case, or
    those of the community and those nested in it."""
    after: str | None = None
    columns = repo.head_columns(connection)
    cases = CASES
    while True:
        if community_prefix:
            query = (sa.select(*columns)
                     .where(community_scope(cases.c.community, community_prefix))
                     .order_by(cases.c.id).limit(PAGE))
            if after is not None:
                query = query.where(cases.c.id > after)
            page: Sequence[Mapping[Any, Any]] = list(connection.execute(query).mappings())
        else:
            page = repo.case_heads(connection, after=after, limit=PAGE, columns=columns)
        if not page:
            return
        yield page
        after = page[-1]["id"]


def verify_case(head: Mapping[Any, Any], rows: Sequence[Mapping[Any, Any]],
                is_final: IsFinal | None = None, key: ChainKey | None = None,
                defaults: Defaults | None = None) -> ChainBreak | None:
    """One case: its chain (with `engine.ledger.verify_chain`), its event columns, its
    row as the projection of its events (`engine.audit.projection`) and, given the chain
    key, the seal of its head (`engine.audit.seals`)."""
    chain: list[ChainEvent] = []
    column_break: ChainBreak | None = None
    for row in rows:
        body = _body(row["body"])
        chain.append(ChainEvent(row["case_id"], row["seq"], body, row["prev_hash"],
                                row["hash"]))
        if column_break is None:
            column_break = _column_break(head["id"], row, body)
    chain_break = verify_chain(
        ChainHead(head["id"], head["head_hash"], head["event_count"], head["state"]), chain)
    if column_break is not None and (chain_break is None or chain_break.seq is None
                                     or (column_break.seq or 0) < chain_break.seq):
        return column_break
    if chain_break is not None or "data" not in head:
        return chain_break
    if key is not None:
        sealed = seal_break(head, key)
        if sealed is not None:
            return sealed
    return projection_break(head, [e.body for e in chain], is_final or (lambda *_: None),
                            defaults or (lambda *_: {}))


def _body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return {"unreadable": str(text)[:200]}
    return body if isinstance(body, dict) else {"unreadable": body}


def _column_break(case_id: str, row: Mapping[Any, Any], body: Mapping[str, Any]
                  ) -> ChainBreak | None:
    for name in EVENT_FIELDS:
        try:
            same = canonical_json(row[name]) == canonical_json(body.get(name))
        except (TypeError, ValueError):
            same = False
        if not same:
            return ChainBreak(
                case_id, row["seq"], CONTENT_CHANGED,
                f"Case {case_id!r}: event {row['seq']} was altered: its stored {name!r} no "
                "longer matches the content that was hashed.")
    return None


def heads(engine: Engine, community_prefix: str | None = None) -> list[tuple[str, str, int]]:
    """Every case's (id, head hash, event count) now: the whole store's, or a community's."""
    found: list[tuple[str, str, int]] = []
    with read_connection(engine) as connection:
        for page in _pages(connection, community_prefix):
            found.extend((r["id"], r["head_hash"], r["event_count"]) for r in page)
    return found


def checkpoint(engine: Engine, clock: Clock | None = None,
               community_prefix: str | None = None) -> Checkpoint:
    """Every case's head now (or a community's cases'), and one digest over them, for an
    auditor to keep. `clock` says when "now" is (the system clock if none)."""
    return Checkpoint.take(heads(engine, community_prefix), (clock or SystemClock()).now())


def verify_checkpoint(engine: Engine, kept: Checkpoint, *,
                      expected_digest: str | None = None) -> ChainBreak | None:
    """Prove that nothing recorded before `kept` was removed or rewritten since (the first
    break, or None)."""
    found = checkpoint_breaks(engine, kept, expected_digest=expected_digest)
    return found[0] if found else None


def checkpoint_breaks(engine: Engine, kept: Checkpoint, *,
                      expected_digest: str | None = None) -> list[ChainBreak]:
    """Every case whose history before `kept` was removed or rewritten since."""
    with read_connection(engine) as connection:

        def count(case_id: str) -> int | None:
            rows = repo.case_rows(connection, [case_id])
            return int(rows[0]["event_count"]) if rows else None

        def hash_at(case_id: str, seq: int) -> str | None:
            return repo.event_hash_at(connection, case_id, seq)

        return list(chain.checkpoint_breaks(kept, hash_at, count,
                                            expected_digest=expected_digest))
