"""Why a history no longer matches what was written: `ChainBreak` and its reason codes,
shared by the chains (`engine.ledger.chain`), checkpoints (`engine.ledger.checkpoints`) and
the audit over the database (`engine.audit`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_REASONS",
    "CASE_MISMATCH",
    "CHECKPOINT_DIGEST_MISMATCH",
    "CHECKPOINT_EVENTS_MISSING",
    "CHECKPOINT_MISSING_CASE",
    "CHECKPOINT_REWRITTEN",
    "CONTENT_CHANGED",
    "COUNT_MISMATCH",
    "HEAD_MISMATCH",
    "INSERTED_EVENT",
    "PREV_MISMATCH",
    "REORDERED",
    "SEQ_GAP",
    "SEQ_ORDER",
    "STATE_MISMATCH",
    "ChainBreak",
    "broken",
]

# Machine codes of ChainBreak.reason.
CONTENT_CHANGED = "content_changed"
"""An event's content no longer hashes to its stored hash: a field was edited."""
PREV_MISMATCH = "prev_mismatch"
"""An event does not link to the event before it (one was removed, or prev_hash edited)."""
INSERTED_EVENT = "inserted_event"
"""Events sit between two events that link to each other directly: they were inserted."""
REORDERED = "reordered"
"""An event links to an event stored after it: the events were reordered."""
SEQ_GAP = "seq_gap"
"""A sequence number is missing: the event was deleted."""
SEQ_ORDER = "seq_order"
"""Sequence numbers are repeated or go backwards in the stored order."""
CASE_MISMATCH = "case_mismatch"
"""An event handed over for this case belongs to another case."""
COUNT_MISMATCH = "count_mismatch"
"""The case row's event count differs from the events present (e.g. the tail was removed)."""
HEAD_MISMATCH = "head_mismatch"
"""The case row's head hash is not the hash of its last event."""
STATE_MISMATCH = "state_mismatch"
"""The case's current state is not the state its last event moved it to."""
CHECKPOINT_DIGEST_MISMATCH = "checkpoint_digest_mismatch"
"""The checkpoint's digest does not match its heads: the checkpoint file was altered."""
CHECKPOINT_MISSING_CASE = "checkpoint_missing_case"
"""A case present at the checkpoint no longer exists."""
CHECKPOINT_EVENTS_MISSING = "checkpoint_events_missing"
"""A case has fewer events than it had at the checkpoint."""
CHECKPOINT_REWRITTEN = "checkpoint_rewritten"
"""A case's history up to the checkpoint no longer ends in the checkpointed hash."""

ALL_REASONS: frozenset[str] = frozenset(
    {
        CONTENT_CHANGED,
        PREV_MISMATCH,
        INSERTED_EVENT,
        REORDERED,
        SEQ_GAP,
        SEQ_ORDER,
        CASE_MISMATCH,
        COUNT_MISMATCH,
        HEAD_MISMATCH,
        STATE_MISMATCH,
        CHECKPOINT_DIGEST_MISMATCH,
        CHECKPOINT_MISSING_CASE,
        CHECKPOINT_EVENTS_MISSING,
        CHECKPOINT_REWRITTEN,
    }
)



@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where a history no longer matches what was written.

    ``seq`` is the sequence number at fault (None when no single event is: an empty case
    whose head is wrong, a missing case, an altered checkpoint file). ``reason`` is one of
    ``ALL_REASONS``; ``message`` says the same in plain English, naming case and sequence.
    For a break in the checkpoint file itself ``case_id`` is the empty string.
    """

    case_id: str
    seq: int | None
    reason: str
    message: str



def broken(case_id: str, seq: int | None, reason: str, message: str) -> ChainBreak:
    return ChainBreak(case_id=case_id, seq=seq, reason=reason, message=message)
