"""What callers of the door see: a case, an event, the result of a change, a timer and
what firing it came to. Frozen data, built from rows by the functions below."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from engine.errors import Refusal
from engine.ledger.chain import GENESIS

__all__ = ["EVENT_VIEW_FIELDS", "CaseView", "EventView", "FireResult", "TimerOutcome",
           "TimerView", "built", "event_view", "timer_view"]


@dataclass(frozen=True)
class CaseView:
    """A case as it stands: state, data, checklist of the current entry, links."""

    id: str
    workflow_id: str
    workflow_version: str
    state: str
    status: str
    outcome: str | None
    data: dict[str, Any]
    version: int
    community: str
    title: str | None
    priority: float
    overdue: bool
    entered_at: datetime
    created_at: datetime
    updated_at: datetime
    checklist: dict[str, dict[str, Any]]
    links: list[dict[str, Any]]
    head_hash: str = GENESIS
    event_count: int = 0
    assignee: str | None = None
    follow_up_on: date | None = None
    escalated_at: datetime | None = None
    """The latest escalation since the case entered its current state (None: not
    escalated). Filled by the read side (`get_case`, `list_cases`); a change's result
    leaves it None."""


@dataclass(frozen=True)
class EventView:
    """One recorded change of a case (the hashed body's fields, plus its hashes)."""

    case_id: str
    seq: int
    kind: str
    workflow_id: str
    workflow_version: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str | None
    input: dict[str, Any]
    comment: str | None
    at: datetime
    prev_hash: str
    hash: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FireResult:
    """The case after a change, the change's event, and the automatic steps that followed.

    `replayed` is True when an idempotency key matched an earlier request: nothing was
    written and this is the earlier result.
    """

    case: CaseView
    event: EventView
    automatic: list[EventView]
    replayed: bool = False


@dataclass(frozen=True)
class TimerView:
    """One timer as stored; `outcome` is what its firing did (`result`: fired or
    refused; for fired: the event's `kind`, `seq`, `trigger`, `to_state`; for refused:
    the refusal's `code`, `en`, `zh`; `next_due` when a repeating timer was re-armed;
    `note` when it was not)."""

    id: int
    case_id: str
    state: str
    timer_id: str
    due_at: datetime
    action: str
    trigger: str | None
    repeat: bool
    status: str
    remaining_seconds: float | None
    claimed_by: str | None
    claimed_until: datetime | None
    fired_at: datetime | None
    outcome: dict[str, Any] | None
    created_at: datetime

    @property
    def key(self) -> str:
        """`state:timer_id`, as the definition names it."""
        return f"{self.state}:{self.timer_id}"


@dataclass(frozen=True)
class TimerOutcome:
    """What firing one claimed timer came to.

    `result` is `fired` (the action was done; `event` is its event), `refused` (the
    action was refused; `refusal` says why; recorded on the timer and as the
    `timer_refused` event in the case's history, which is `event`), `skipped` (nothing to
    do: the timer was cancelled, paused or fired already, or its lease was taken over by
    another worker; `detail` says which) or `failed` (an error, in `detail`; the claim
    stays, and the timer is fired by whichever worker claims it after the lease expires).
    `next_due` is a repeating timer's next occurrence.
    """

    timer: int
    case_id: str
    key: str
    action: str
    result: Literal["fired", "refused", "skipped", "failed"]
    event: EventView | None = None
    refusal: Refusal | None = None
    next_due: datetime | None = None
    detail: str | None = None


_View = TypeVar("_View", "CaseView", "EventView", "FireResult")
_ORDER: dict[type[Any], tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind)) for kind in (CaseView, EventView, FireResult)}
EVENT_VIEW_FIELDS = _ORDER[EventView]


def built(kind: type[_View], values: dict[str, Any]) -> _View:
    """`kind(**values)`, for the views every change returns: when `values` name every
    field in the order the class declares them, the object is made without the frozen
    `__init__`, which sets each field through `object.__setattr__` (a tenth of the
    Python cost of one fire went to making its views); its `__dict__` is what `__init__`
    leaves (the same fields in the same order). Otherwise the class's own constructor
    makes it (and says what is missing or unknown)."""
    if tuple(values) != _ORDER[kind]:
        return kind(**values)
    made = object.__new__(kind)
    made.__dict__.update(values)
    return made


def event_view(row: Mapping[Any, Any]) -> EventView:
    return built(EventView, {
        "case_id": row["case_id"], "seq": row["seq"], "kind": row["kind"],
        "workflow_id": row["workflow_id"], "workflow_version": row["workflow_version"],
        "trigger": row["trigger"], "from_state": row["from_state"],
        "to_state": row["to_state"], "actor": row["actor"], "role": row["role"],
        "input": dict(row["input"] or {}), "comment": row["comment"], "at": row["at"],
        "prev_hash": row["prev_hash"], "hash": row["hash"],
        "changes": dict(row["changes"] or {})})


def timer_view(row: Mapping[Any, Any]) -> TimerView:
    outcome = None
    if row["outcome"]:
        try:
            outcome = json.loads(row["outcome"])
        except ValueError:
            outcome = {"result": "unknown", "text": row["outcome"]}
    return TimerView(
        id=row["id"], case_id=row["case_id"], state=row["state"], timer_id=row["timer_id"],
        due_at=row["due_at"], action=row["action"], trigger=row["trigger"],
        repeat=row["repeat"], status=row["status"],
        remaining_seconds=row["remaining_seconds"], claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"], fired_at=row["fired_at"], outcome=outcome,
        created_at=row["created_at"])
