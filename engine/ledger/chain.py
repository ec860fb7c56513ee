"""Tamper evidence for case histories: hash chains and their verification.

Tamper evidence for case histories: hash chains, their verification, and checkpoints.

The model
---------
Every case has its own chain. Event number ``seq`` (1, 2, 3, ... with no gaps) stores

    hash = sha256(prev_hash || canonical_json(body))

where ``prev_hash`` is the hash of event ``seq - 1`` of the same case, or the fixed
``GENESIS`` value for the first event. ``body`` is everything the event says (trigger,
from/to state, actor, role, input, comment, time, and preferably its own case id and
sequence number, which makes an event impossible to transplant into another case or
position unnoticed). Editing any field of any event changes its hash, which no longer
matches the stored one; recomputing the stored hash breaks the link to the next event; and
so on up to the end of the chain.

The end of the chain is guarded too: the case row keeps its *head* (hash of its last event)
and its event count, written in the same transaction as the event. Without them, deleting
the last events of a case would leave a shorter chain that is still perfectly valid.
``verify_chain`` walks one chain and compares it with the case row, and also checks that
the case's current state is the state the last event moved it to.

Per-case chains, rather than one global chain, are deliberate: appending to a case only
touches that case's row (no global hot spot to lock, which keeps concurrent fires of
different cases independent and lets cases be sharded), and a verify names exactly the case
and sequence number that no longer match.

What a chain cannot prove on its own is that somebody with write access to the database did
not rewrite a case's *whole* history, recomputing every hash and the head. That is what
checkpoints are for, in the manner of ledger databases' digests (SQL Server ledger,
Amazon QLDB): ``checkpoint_digest`` is one sha256 over every case's (id, head, count) at a
moment. An auditor keeps the ``Checkpoint`` file and writes down its digest somewhere the
database's administrators cannot reach. Later, ``verify_against_checkpoint`` proves that
each checkpointed case still exists, still has at least that many events, and that its
event number ``count`` still has the checkpointed hash. Because every hash covers all of the
case's history before it, this proves nothing up to the checkpoint was removed or rewritten,
while allowing everything appended since. Run ``verify_chain`` as well: the checkpoint
vouches for stored hashes, ``verify_chain`` for the content behind them.

The bytes hashed are `engine.ledger.hashing.canonical_json`; checkpoints are
`engine.ledger.checkpoints`; the reasons a history breaks `engine.ledger.breaks`. This
module re-exports their names, so `engine.ledger.chain` stays the one place to import from.

Everything here is pure: no database, no clock, no I/O. The store supplies rows; the CLI and
API present the ``ChainBreak`` found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.ledger.breaks import (
    ALL_REASONS,
    CASE_MISMATCH,
    CHECKPOINT_DIGEST_MISMATCH,
    CHECKPOINT_EVENTS_MISSING,
    CHECKPOINT_MISSING_CASE,
    CHECKPOINT_REWRITTEN,
    CONTENT_CHANGED,
    COUNT_MISMATCH,
    HEAD_MISMATCH,
    INSERTED_EVENT,
    PREV_MISMATCH,
    REORDERED,
    SEQ_GAP,
    SEQ_ORDER,
    STATE_MISMATCH,
    ChainBreak,
    broken,
)
from engine.ledger.checkpoints import (
    Checkpoint,
    checkpoint_breaks,
    checkpoint_digest,
    verify_against_checkpoint,
)
from engine.ledger.hashing import canonical_json, chain_event, event_hash

__all__ = [
    "ALL_REASONS",
    "CASE_MISMATCH",
    "CHECKPOINT_DIGEST_MISMATCH",
    "CHECKPOINT_EVENTS_MISSING",
    "CHECKPOINT_MISSING_CASE",
    "CHECKPOINT_REWRITTEN",
    "CONTENT_CHANGED",
    "COUNT_MISMATCH",
    "GENESIS",
    "HEAD_MISMATCH",
    "INSERTED_EVENT",
    "PREV_MISMATCH",
    "REORDERED",
    "SEQ_GAP",
    "SEQ_ORDER",
    "STATE_MISMATCH",
    "ChainBreak",
    "ChainEvent",
    "ChainHead",
    "Checkpoint",
    "canonical_json",
    "chain_event",
    "checkpoint_breaks",
    "checkpoint_digest",
    "event_hash",
    "verify_against_checkpoint",
    "verify_chain",
]

GENESIS: str = hashlib.sha256(b"hatchery:genesis").hexdigest()
"""The ``prev_hash`` of every case's first event, and the head of a case with no events."""


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One stored event of a case, as the chain sees it."""

    case_id: str
    seq: int
    body: Mapping[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def create(
        cls, case_id: str, seq: int, prev_hash: str, body: Mapping[str, Any]
    ) -> ChainEvent:
        """The event that follows ``prev_hash`` (``GENESIS`` for seq 1), hash computed."""
        return cls(case_id, seq, body, prev_hash, event_hash(prev_hash, body))


@dataclass(frozen=True, slots=True)
class ChainHead:
    """What the case row says about its chain: last hash, count, and current state."""

    case_id: str
    head_hash: str
    event_count: int
    state: str



def _default_state_of(body: Mapping[str, Any]) -> str | None:
    state = body.get("to_state")
    return state if isinstance(state, str) else None



def _link_break(
    case_id: str, events: Sequence[ChainEvent], index: int, expected_prev: str
) -> ChainBreak:
    """Explain why ``events[index]`` does not link to ``events[index - 1]``.

    Everything before ``index`` is already verified, so stored hashes there are genuine.
    """
    event = events[index]
    earlier = {e.hash: e.seq for e in events[: max(index - 1, 0)]}
    if index > 0 and event.prev_hash == GENESIS:
        earlier_seq: int | None = 0
    else:
        earlier_seq = earlier.get(event.prev_hash)
    if earlier_seq is not None:
        first_inserted = earlier_seq + 1
        last_inserted = events[index - 1].seq
        span = (
            f"event {first_inserted}"
            if first_inserted == last_inserted
            else f"events {first_inserted} to {last_inserted}"
        )
        anchor = "the start of the chain" if earlier_seq == 0 else f"event {earlier_seq}"
        return broken(
            case_id,
            first_inserted,
            INSERTED_EVENT,
            f"Case {case_id!r}: {span} {'was' if first_inserted == last_inserted else 'were'}"
            f" inserted; event {event.seq} links directly to {anchor}.",
        )
    later = next((e.seq for e in events[index + 1 :] if e.hash == event.prev_hash), None)
    if later is not None:
        return broken(
            case_id,
            event.seq,
            REORDERED,
            f"Case {case_id!r}: events were reordered; event {event.seq} links to event "
            f"{later}, which is stored after it.",
        )
    before = "the start of the chain" if index == 0 else f"event {events[index - 1].seq}"
    detail = f" (expected {expected_prev}, found {event.prev_hash!r})"
    return broken(
        case_id,
        event.seq,
        PREV_MISMATCH,
        f"Case {case_id!r}: event {event.seq} does not link to {before}: an event before "
        f"it was removed or its previous-hash was altered{detail}.",
    )


def verify_chain(
    head: ChainHead,
    events: Sequence[ChainEvent],
    state_of: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> ChainBreak | None:
    """Check one case's events (in stored seq order) against each other and its case row.

    Returns the first break found, walking from the first event, or None when the history
    is intact. Per event, in order: it belongs to ``head.case_id``; its seq is the next one
    (a skipped number is a deleted event, a repeated or smaller one is a reordering); its
    ``prev_hash`` is the previous event's hash (else it diagnoses an insertion, a
    reordering, or a removal); its body still hashes to its stored hash (else a field was
    edited). After the last event: the count on the case row equals the number of events
    (a removed tail, or an event written around the door), the head on the row is the last
    hash, and the case's state is the state the latest event moved it to.

    ``state_of`` reads that state from an event body (default: ``body["to_state"]``);
    events for which it returns None (a checklist tick, say) are skipped when looking for
    the latest one. With no events, or no event naming a state, the state is not checked.
    """
    case_id = head.case_id
    read_state = state_of or _default_state_of
    expected_prev = GENESIS
    previous_seq = 0
    for index, event in enumerate(events):
        expected_seq = previous_seq + 1
        if event.case_id != case_id:
            return broken(
                case_id,
                event.seq,
                CASE_MISMATCH,
                f"Case {case_id!r}: event {event.seq} belongs to case {event.case_id!r}.",
            )
        if event.seq > expected_seq:
            missing = (
                f"event {expected_seq} is"
                if event.seq == expected_seq + 1
                else f"events {expected_seq} to {event.seq - 1} are"
            )
            return broken(
                case_id,
                expected_seq,
                SEQ_GAP,
                f"Case {case_id!r}: {missing} missing (deleted); the next stored event is "
                f"{event.seq}.",
            )
        if event.seq < expected_seq:
            return broken(
                case_id,
                event.seq,
                SEQ_ORDER,
                f"Case {case_id!r}: event {event.seq} is stored after event {previous_seq}: "
                "sequence numbers are repeated or out of order.",
            )
        if event.prev_hash != expected_prev:
            return _link_break(case_id, events, index, expected_prev)
        try:
            recomputed = event_hash(expected_prev, event.body)
        except (TypeError, ValueError) as exc:
            return broken(
                case_id,
                event.seq,
                CONTENT_CHANGED,
                f"Case {case_id!r}: event {event.seq} was altered: its content can no "
                f"longer be hashed ({exc}).",
            )
        if recomputed != event.hash:
            return broken(
                case_id,
                event.seq,
                CONTENT_CHANGED,
                f"Case {case_id!r}: event {event.seq} was altered: its content no longer "
                "matches its hash.",
            )
        expected_prev = event.hash
        previous_seq = event.seq

    count = len(events)
    if head.event_count != count:
        if head.event_count > count:
            first_missing = count + 1
            missing = (
                f"event {first_missing} is"
                if head.event_count == first_missing
                else f"events {first_missing} to {head.event_count} are"
            )
            message = (
                f"Case {case_id!r}: the case records {head.event_count} events but only "
                f"{count} exist; {missing} missing (the tail was deleted)."
            )
            seq = first_missing
        else:
            seq = head.event_count + 1
            message = (
                f"Case {case_id!r}: the case records {head.event_count} events but {count} "
                f"exist; event {seq} onwards were written without updating the case."
            )
        return broken(case_id, seq, COUNT_MISMATCH, message)

    last_seq = events[-1].seq if events else None
    if head.head_hash != expected_prev:
        where = f"event {last_seq}" if last_seq is not None else "the empty chain (genesis)"
        return broken(
            case_id,
            last_seq,
            HEAD_MISMATCH,
            f"Case {case_id!r}: the case's head hash is not the hash of {where}.",
        )

    for event in reversed(events):
        to_state = read_state(event.body)
        if to_state is None:
            continue
        if to_state != head.state:
            return broken(
                case_id,
                event.seq,
                STATE_MISMATCH,
                f"Case {case_id!r}: the case is in state {head.state!r} but its event "
                f"{event.seq} moved it to {to_state!r}.",
            )
        break
    return None
