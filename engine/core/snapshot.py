"""What the core decides over and returns: who acts, the case as read, timers to arm.

Plain frozen data, shared by every decision of `engine.core` and by the shell that reads
the snapshot from the database and writes what the core returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["SYSTEM_PREFIX", "Actor", "CaseSnapshot", "CaseStatus", "LinkedCase", "TimerPlan"]

SYSTEM_PREFIX = "system:"
CaseStatus = Literal["active", "suspended", "closed"]


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
