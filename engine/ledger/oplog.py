"""Tamper evidence for the operations log: one hash chain over every entry, in id order.

The operations log (exports, verifications, tokens, definitions, refused attempts) is
append-only like the events, and chained like them so that an edit made around its
triggers shows: entry ``n`` (in id order) stores

    hash = sha256(prev_hash || canonical_json(body))

where ``prev_hash`` is the hash of the entry before it (``GENESIS`` for the first) and
``body`` is everything the entry says (``BODY_FIELDS``). Ids are not hashed: a PostgreSQL
sequence may skip numbers (a rolled-back insert), so the order the chain proves is the
order of the links, and the ids only have to agree with it. A single head row
(``operations_head``: entries, last id, last hash, and a seal with the chain key, see
`engine.ledger.keys`) guards the end: without it, deleting the newest entries would leave a
shorter chain that still verifies. Writers lock that row before appending, so concurrent
writers take turns and cannot fork the chain.

Pure: the store supplies rows (`engine.audit.oplog` reads them), the CLI and API present
the ``ChainBreak`` found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.ledger.chain import ChainBreak, canonical_json

__all__ = ["BODY_FIELDS", "GENESIS", "LOG_BROKEN", "LOG_HEAD_MISMATCH", "LogHead", "body_of",
           "entry_hash", "first_break", "plain_detail"]

GENESIS: str = hashlib.sha256(b"hatchery:operations:genesis").hexdigest()
"""The ``prev_hash`` of the first entry, and the head of an empty log."""

BODY_FIELDS = ("at", "actor", "action", "outcome", "target", "community", "detail",
               "request_id")
"""What an entry says, all of it hashed."""

LOG_BROKEN = "operations_log_altered"
"""An entry of the operations log was edited, removed, inserted or moved."""
LOG_HEAD_MISMATCH = "operations_log_head_mismatch"
"""The log's head row does not describe its last entry (the newest entries were removed,
or entries were written around the service)."""


@dataclass(frozen=True, slots=True)
class LogHead:
    """What the head row says: how many entries, the last one's id and hash."""

    entries: int
    last_id: int | None
    head_hash: str


def plain_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The detail as it reads back from the JSON column (so that it hashes the same
    before it is stored and after)."""
    plain: dict[str, Any] = json.loads(canonical_json(dict(detail or {})))
    return plain


def body_of(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The hashed body of a stored (or about to be stored) entry."""
    return {name: row.get(name) for name in BODY_FIELDS}


def entry_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body_of(row))).hexdigest()


def _broken(entry_id: object, message: str) -> ChainBreak:
    seq = entry_id if isinstance(entry_id, int) else None
    return ChainBreak("", seq, LOG_BROKEN, f"Operations log: {message}")


def first_break(rows: Iterable[Mapping[Any, Any]], head: LogHead | None) -> ChainBreak | None:
    """The first place where the log (rows in id order) no longer matches what was written,
    or None. ``head`` None: a schema with no head row (every entry must still link)."""
    expected_prev, entries, last_id = GENESIS, 0, None
    for row in rows:
        entry_id, stored_prev = row["id"], row["prev_hash"]
        if stored_prev != expected_prev:
            where = "the start of the log" if last_id is None else f"entry {last_id}"
            return _broken(entry_id, f"entry {entry_id} does not link to {where}: an entry "
                           "before it was removed, inserted or moved, or its previous-hash "
                           "altered.")
        try:
            recomputed = entry_hash(expected_prev, row)
        except (TypeError, ValueError):
            recomputed = None
        if recomputed != row["hash"]:
            return _broken(entry_id, f"entry {entry_id} was altered: its content no longer "
                           "matches its hash.")
        expected_prev, entries, last_id = row["hash"], entries + 1, entry_id
    if head is None:
        return None
    if (head.entries, head.last_id, head.head_hash) != (entries, last_id, expected_prev):
        if head.entries > entries:
            why = (f"the log records {head.entries} entries but {entries} exist: the newest "
                   "were removed.")
        elif head.entries < entries:
            why = (f"the log records {head.entries} entries but {entries} exist: entries "
                   "were written around the service.")
        else:
            why = "its head does not describe its last entry."
        return ChainBreak("", last_id, LOG_HEAD_MISMATCH, f"Operations log: {why}")
    return None
