"""Timers: deadlines, reminders and periodic reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.base import Public


class TimerPublic(Public):
    """A deadline, reminder or periodic review of a case, as stored."""

    id: int
    case_id: str
    state: str = Field(description="The state of the case that armed it (as a case's "
                       "`state`; `status` is the timer's own).")
    timer_id: str = Field(description="The timer's id in the definition.")
    due_at: datetime
    action: str = Field(description="fire, mark_overdue or escalate.")
    trigger: str | None = None
    repeat: bool
    status: str = Field(description="pending, claimed, paused, fired or cancelled.")
    remaining_seconds: float | None = Field(default=None,
                                            description="Time left, while the case is suspended.")
    fired_at: datetime | None = None
    outcome: dict[str, Any] | None = Field(default=None, description="What its firing did.")


class TimersPublic(Public):
    data: list[TimerPublic]
    next_cursor: str | None = None
