"""What the core decides over and returns: who acts, the case as read, timers to arm.

Plain frozen data, shared by every decision of `engine.core` and by the shell that reads
the snapshot from the database and writes what the core returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

__all__ = ["SYSTEM_PREFIX", "Actor", "CaseSnapshot", "CaseStatus", "LinkedCase", "TimerPlan",
           "made", "moved_to"]

SYSTEM_PREFIX = "system:"
CaseStatus = Literal["active", "suspended", "closed"]
T = TypeVar("T")


def made(cls: type[T], **fields: Any) -> T:
    """An instance of the frozen dataclass `cls` given every one of its fields: what its
    `__init__` makes, without the `object.__setattr__` call per field that a frozen
    dataclass's `__init__` pays (a fifth of a decision's own work went into building its
    `Transition` and `TimerPlan`s). Only for classes without `__post_init__` or
    `__slots__`; a test holds each instance equal to the one `__init__` makes."""
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


@dataclass(frozen=True)
class Actor:
    """Who acts: an id (user name, or `system:timer` / `system:auto`) and their roles."""

    id: str
    roles: frozenset[str] = frozenset()

    @property
    def is_system(self) -> bool:
        return self.id.startswith(SYSTEM_PREFIX)


@dataclass(frozen=True)
class LinkedCase:
    """A case linked to this one, as guards see it."""

    case_id: str
    workflow_id: str
    state: str
    relation: str = "related"
    within: tuple[str, ...] = ()  # the states enclosing `state` in its own workflow
    community: str | None = None  # where the other case is (who may see the link)


@dataclass(frozen=True)
class CaseSnapshot:
    """What the core needs of a case, read by the shell in the same transaction.

    `checklist` holds the items ticked during the current entries; `entries` the event
    sequence number that entered each active state (a tick belongs to one entry);
    `events` how many events the case has (the next one is `events + 1`).
    """

    state: str
    data: Mapping[str, Any]
    entered_at: datetime
    checklist: Mapping[str, bool] = field(default_factory=dict)
    links: tuple[LinkedCase, ...] = ()
    status: CaseStatus = "active"
    entries: Mapping[str, int] = field(default_factory=dict)
    events: int = 0


def moved_to(state: str, data: Mapping[str, Any], entered_at: datetime,
             links: tuple[LinkedCase, ...]) -> CaseSnapshot:
    """`CaseSnapshot(state=state, data=data, entered_at=entered_at, links=links)`, every
    other field its default (what a priority reads after a transition), made without the
    frozen `__init__` (`made`); a test holds the two equal."""
    return made(CaseSnapshot, state=state, data=data, entered_at=entered_at, checklist={},
                links=links, status="active", entries={}, events=0)


@dataclass(frozen=True)
class TimerPlan:
    """A timer to arm: which state owns it, when it is due, what it does."""

    state: str
    timer_id: str
    due_at: datetime
    action: str
    trigger: str | None
    repeat: bool

    @property
    def key(self) -> str:
        return f"{self.state}:{self.timer_id}"
