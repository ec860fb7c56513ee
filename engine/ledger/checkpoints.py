"""Checkpoints: every case's head at one moment and one digest over them, which an
auditor keeps where the database's administrators cannot reach, and the proof that
nothing recorded before a checkpoint was removed or rewritten since (see
`engine.ledger.chain` for why chains alone cannot prove that).

Pure: the store supplies the stored hashes and counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from engine.ledger.breaks import (
    CHECKPOINT_DIGEST_MISMATCH,
    CHECKPOINT_EVENTS_MISSING,
    CHECKPOINT_MISSING_CASE,
    CHECKPOINT_REWRITTEN,
    ChainBreak,
    broken,
)
from engine.ledger.hashing import canonical_json, check_hash, format_datetime

__all__ = ["Checkpoint", "checkpoint_breaks", "checkpoint_digest", "verify_against_checkpoint"]

_CHECKPOINT_DOMAIN = b"hatchery:checkpoint:v1\n"
_CHECKPOINT_FORMAT = "hatchery-checkpoint"
_CHECKPOINT_VERSION = 1


def _check_head_entry(case_id: object, head_hash: object, count: object) -> tuple[str, int]:
    if not isinstance(case_id, str):
        raise ValueError(f"case id must be a string, got {case_id!r}")
    checked_hash = check_hash(head_hash, f"head hash of case {case_id!r}")
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
            "taken_at": format_datetime(self.taken_at),
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
        digest = check_hash(document.get("digest"), "checkpoint digest")
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
        yield broken(
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
        yield broken(
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
            yield broken(
                case_id,
                None,
                CHECKPOINT_MISSING_CASE,
                f"Case {case_id!r} existed at the checkpoint with {count} events and no "
                "longer exists.",
            )
            continue
        if now < count:
            yield broken(
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
            yield broken(
                case_id,
                count,
                CHECKPOINT_EVENTS_MISSING,
                f"Case {case_id!r}: event {count}, its last event at the checkpoint, no "
                "longer exists.",
            )
            continue
        if stored != head_hash:
            yield broken(
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
