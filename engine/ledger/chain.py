"""Tamper evidence for case histories: hash chains, their verification, and checkpoints.

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

Canonical JSON
--------------
Hashes are only reproducible if the bytes hashed are. ``canonical_json`` fixes every choice:
keys sorted (by code point), no whitespace, UTF-8 with non-ASCII text kept as is (Chinese
stays readable), timestamps as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (naive ones refused: an
unknown offset would be a guess), dates as ``YYYY-MM-DD``, floats as Python's shortest
round-trip repr (NaN and infinities refused, JSON has no such values), ``Decimal`` and
``UUID`` as strings, tuples as lists, ``true``/``false`` never confused with 1/0. A
timestamp, decimal or UUID hashes exactly like its canonical string, so a body hashes the
same before it is stored and after it is read back as plain JSON; store the body as the
output of ``canonical_json`` (or as any JSON that reads back to the same values).

Everything here is pure: no database, no clock, no I/O. The store supplies rows; the CLI and
API present the ``ChainBreak`` found.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

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

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHECKPOINT_DOMAIN = b"hatchery:checkpoint:v1\n"
_CHECKPOINT_FORMAT = "hatchery-checkpoint"
_CHECKPOINT_VERSION = 1

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


# ---------------------------------------------------------------------------------------
# Canonical JSON and hashing


def _format_datetime(value: datetime) -> str:
    if value.utcoffset() is None:
        raise ValueError(
            f"cannot hash the naive datetime {value.isoformat()}: give it a time zone"
        )
    u = value.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def _plain(value: Any, path: str) -> Any:
    """Turn ``value`` into plain JSON types (dict/list/str/int/float/bool/None)."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # an exact str, also for str subclasses and StrEnum
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot hash the non-finite number {value!r} at {path}")
        return float(value)
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot hash the non-finite decimal {value!s} at {path}")
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"cannot hash a mapping key of type {type(key).__name__} at {path}: "
                    "keys must be strings"
                )
            out[str.__str__(key)] = _plain(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"cannot hash a value of type {type(value).__name__} at {path}")


def canonical_json(value: Any) -> bytes:
    """The one byte string that represents ``value`` for hashing.

    Sorted keys, no insignificant whitespace, UTF-8 with non-ASCII characters unescaped.
    Aware datetimes become UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; dates ``YYYY-MM-DD``;
    floats Python's shortest round-trip repr; ``Decimal`` and ``UUID`` strings; tuples
    lists. Raises ``ValueError`` for naive datetimes and NaN/infinite numbers, and
    ``TypeError`` for anything else that is not plain JSON (sets, bytes, non-string keys,
    arbitrary objects): guessing a representation would make hashes unstable.
    """
    return json.dumps(
        _plain(value, "$"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def _check_hash(value: object, what: str) -> str:
    if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
        raise ValueError(f"{what} must be 64 lowercase hex digits, got {value!r}")
    return value


def event_hash(previous_hash: str, body: Mapping[str, Any]) -> str:
    """``sha256(previous_hash as ASCII || canonical_json(body))`` as lowercase hex."""
    _check_hash(previous_hash, "previous_hash")
    return chain_event(previous_hash, body)[0]


def chain_event(previous_hash: str, body: Mapping[str, Any]) -> tuple[str, str]:
    """`event_hash(previous_hash, body)` and the canonical text it hashed, which the event
    stores as its body (the door makes both once per change)."""
    canonical = canonical_json(body)
    digest = hashlib.sha256(previous_hash.encode("ascii") + canonical).hexdigest()
    return digest, canonical.decode("utf-8")


# ---------------------------------------------------------------------------------------
# Chains


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


def _default_state_of(body: Mapping[str, Any]) -> str | None:
    state = body.get("to_state")
    return state if isinstance(state, str) else None


def _break(case_id: str, seq: int | None, reason: str, message: str) -> ChainBreak:
    return ChainBreak(case_id=case_id, seq=seq, reason=reason, message=message)


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
        return _break(
            case_id,
            first_inserted,
            INSERTED_EVENT,
            f"Case {case_id!r}: {span} {'was' if first_inserted == last_inserted else 'were'}"
            f" inserted; event {event.seq} links directly to {anchor}.",
        )
    later = next((e.seq for e in events[index + 1 :] if e.hash == event.prev_hash), None)
    if later is not None:
        return _break(
            case_id,
            event.seq,
            REORDERED,
            f"Case {case_id!r}: events were reordered; event {event.seq} links to event "
            f"{later}, which is stored after it.",
        )
    before = "the start of the chain" if index == 0 else f"event {events[index - 1].seq}"
    detail = f" (expected {expected_prev}, found {event.prev_hash!r})"
    return _break(
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
            return _break(
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
            return _break(
                case_id,
                expected_seq,
                SEQ_GAP,
                f"Case {case_id!r}: {missing} missing (deleted); the next stored event is "
                f"{event.seq}.",
            )
        if event.seq < expected_seq:
            return _break(
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
            return _break(
                case_id,
                event.seq,
                CONTENT_CHANGED,
                f"Case {case_id!r}: event {event.seq} was altered: its content can no "
                f"longer be hashed ({exc}).",
            )
        if recomputed != event.hash:
            return _break(
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
        return _break(case_id, seq, COUNT_MISMATCH, message)

    last_seq = events[-1].seq if events else None
    if head.head_hash != expected_prev:
        where = f"event {last_seq}" if last_seq is not None else "the empty chain (genesis)"
        return _break(
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
            return _break(
                case_id,
                event.seq,
                STATE_MISMATCH,
                f"Case {case_id!r}: the case is in state {head.state!r} but its event "
                f"{event.seq} moved it to {to_state!r}.",
            )
        break
    return None


# ---------------------------------------------------------------------------------------
# Checkpoints


def _check_head_entry(case_id: object, head_hash: object, count: object) -> tuple[str, int]:
    if not isinstance(case_id, str):
        raise ValueError(f"case id must be a string, got {case_id!r}")
    checked_hash = _check_hash(head_hash, f"head hash of case {case_id!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"event count of case {case_id!r} must be an integer >= 0")
    return checked_hash, count


def checkpoint_digest(heads: Iterable[tuple[str, str, int]]) -> str:
    """One sha256 over every ``(case_id, head_hash, event_count)``, sorted by case id.

    The order the heads are given in does not matter; a case id given twice is an error.
    """
    rows = list(heads)
    for case_id, head_hash, count in rows:
        _check_head_entry(case_id, head_hash, count)
    rows.sort(key=lambda row: row[0])
    for before, row in pairwise(rows):
        if before[0] == row[0]:
            raise ValueError(f"case {row[0]!r} appears twice in the checkpoint")
    payload = canonical_json([[case_id, head_hash, count] for case_id, head_hash, count in rows])
    return hashlib.sha256(_CHECKPOINT_DOMAIN + payload).hexdigest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every case's head at one moment, and the digest over them.

    ``heads`` maps case id to ``(head_hash, event_count)``. ``taken_at`` is informative and
    not covered by the digest; the digest is what the auditor writes down.
    """

    digest: str
    taken_at: datetime
    heads: dict[str, tuple[str, int]]

    @classmethod
    def take(cls, heads: Iterable[tuple[str, str, int]], taken_at: datetime) -> Checkpoint:
        """Build a checkpoint (digest computed) from ``(case_id, head_hash, count)`` rows."""
        if taken_at.utcoffset() is None:
            raise ValueError("checkpoint time must have a time zone")
        rows = list(heads)
        digest = checkpoint_digest(rows)
        return cls(
            digest=digest,
            taken_at=taken_at,
            heads={case_id: (head_hash, count) for case_id, head_hash, count in rows},
        )

    def recomputed_digest(self) -> str:
        """The digest its heads give now; differs from ``digest`` if the file was altered."""
        return checkpoint_digest((c, h, n) for c, (h, n) in self.heads.items())

    def to_json(self) -> str:
        """A stable, human-readable JSON document for the auditor to keep."""
        document = {
            "format": _CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "digest": self.digest,
            "taken_at": _format_datetime(self.taken_at),
            "case_count": len(self.heads),
            "heads": {
                case_id: {"head_hash": head_hash, "event_count": count}
                for case_id, (head_hash, count) in sorted(self.heads.items())
            },
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Read a checkpoint file; ``ValueError`` with a plain message if it is malformed.

        A well-formed file whose digest does not match its heads is returned as is:
        ``verify_against_checkpoint`` reports it.
        """
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"checkpoint file is not valid JSON: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError("this file is not a Hatchery checkpoint")
        if document.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(
                f"unsupported checkpoint version {document.get('version')!r}; "
                f"this Hatchery reads version {_CHECKPOINT_VERSION}"
            )
        digest = _check_hash(document.get("digest"), "checkpoint digest")
        raw_time = document.get("taken_at")
        try:
            taken_at = datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else None
        except ValueError:
            taken_at = None
        if taken_at is None or taken_at.utcoffset() is None:
            raise ValueError(f"checkpoint time {raw_time!r} is not a timestamp with a zone")
        raw_heads = document.get("heads")
        if not isinstance(raw_heads, dict):
            raise ValueError("checkpoint has no 'heads' object")
        heads: dict[str, tuple[str, int]] = {}
        for case_id, entry in raw_heads.items():
            if not isinstance(entry, dict):
                raise ValueError(f"checkpoint entry of case {case_id!r} is not an object")
            heads[case_id] = _check_head_entry(
                case_id, entry.get("head_hash"), entry.get("event_count")
            )
        return cls(digest=digest, taken_at=taken_at, heads=heads)


def checkpoint_breaks(
    checkpoint: Checkpoint,
    event_hash_at: Callable[[str, int], str | None],
    current_count: Callable[[str], int | None],
    *,
    expected_digest: str | None = None,
) -> Iterator[ChainBreak]:
    """Every break that shows something recorded before ``checkpoint`` was removed or
    rewritten (none: the history up to it holds).

    ``event_hash_at(case_id, seq)`` returns the stored hash of that event (None if there is
    none); ``current_count(case_id)`` the case row's event count (None if the case is gone).
    First the checkpoint itself: its digest must match its heads, and ``expected_digest``
    (the value the auditor wrote down), when given, must match its digest. Then, case by
    case in id order: the case exists, has at least the checkpointed number of events, and
    its event number ``count`` has the checkpointed head hash. Events appended since are
    allowed, and cases created since are not looked at. A broken checkpoint file ends the
    walk (its heads cannot be trusted); otherwise every case at fault is reported.

    This vouches for stored hashes; ``verify_chain`` on each case vouches that the content
    behind them still produces them. Together they prove the history up to the checkpoint.
    """
    if expected_digest is not None and expected_digest != checkpoint.digest:
        yield _break(
            "",
            None,
            CHECKPOINT_DIGEST_MISMATCH,
            f"The checkpoint's digest {checkpoint.digest} is not the digest kept by the "
            f"auditor ({expected_digest}): this is not the same checkpoint.",
        )
        return
    try:
        recomputed = checkpoint.recomputed_digest()
    except ValueError as exc:
        recomputed = f"unreadable ({exc})"
    if recomputed != checkpoint.digest:
        yield _break(
            "",
            None,
            CHECKPOINT_DIGEST_MISMATCH,
            f"The checkpoint taken at {checkpoint.taken_at.isoformat()} was altered: its "
            f"digest {checkpoint.digest} does not match its case heads ({recomputed}).",
        )
        return
    for case_id, (head_hash, count) in sorted(checkpoint.heads.items()):
        now = current_count(case_id)
        if now is None:
            yield _break(
                case_id,
                None,
                CHECKPOINT_MISSING_CASE,
                f"Case {case_id!r} existed at the checkpoint with {count} events and no "
                "longer exists.",
            )
            continue
        if now < count:
            yield _break(
                case_id,
                now + 1,
                CHECKPOINT_EVENTS_MISSING,
                f"Case {case_id!r} had {count} events at the checkpoint and now has {now}: "
                f"events from {now + 1} on were removed.",
            )
            continue
        if count == 0:
            continue
        stored = event_hash_at(case_id, count)
        if stored is None:
            yield _break(
                case_id,
                count,
                CHECKPOINT_EVENTS_MISSING,
                f"Case {case_id!r}: event {count}, its last event at the checkpoint, no "
                "longer exists.",
            )
            continue
        if stored != head_hash:
            yield _break(
                case_id,
                count,
                CHECKPOINT_REWRITTEN,
                f"Case {case_id!r}: its history up to event {count} was rewritten since the "
                "checkpoint: that event's hash is not the one recorded then.",
            )


def verify_against_checkpoint(
    checkpoint: Checkpoint,
    event_hash_at: Callable[[str, int], str | None],
    current_count: Callable[[str], int | None],
    *,
    expected_digest: str | None = None,
) -> ChainBreak | None:
    """The first of ``checkpoint_breaks``, or None when the history up to it holds."""
    return next(checkpoint_breaks(checkpoint, event_hash_at, current_count,
                                  expected_digest=expected_digest), None)
