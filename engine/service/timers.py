"""Where a timer fires: a claimed timer's action, through the door, as `system:timer`.

Claiming due timers (leases, SKIP LOCKED) is the worker's (`engine.timers.worker`); what a
timer does is decided by the core (`engine.core.operations.timer`). Its action, its
`fired` mark and, for a repeating timer, its next occurrence are written in one
transaction with idempotency key `timer:<id>`, so that a retry can never double it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from engine.core import operations as core
from engine.core.refusals import refusal
from engine.core.snapshot import TimerPlan
from engine.core.timer_plans import next_repeat
from engine.errors import NotFound, Refusal, Refused
from engine.service.door import Door, Outcome, _Key
from engine.service.loading import Loaded, load
from engine.service.views import EventView, FireResult, TimerOutcome
from engine.store import repository as repo
from engine.store.db import write_connection
from engine.timers.calendar import CalendarCoverageError, DurationError

__all__ = ["TIMER_ACTOR", "TIMER_STATES", "TimerFiring"]

TIMER_ACTOR = core.TIMER_ACTOR
TIMER_STATES = ("pending", "claimed", "paused", "fired", "cancelled")


class _TimerSkip(Exception):
    """Raised inside a timer's transaction to roll it back: nothing to do."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TimerFiring(Door):
    """Firing claimed timers."""

    def fire_timer(self, timer_row_id: int, *, worker_id: str) -> TimerOutcome:
        """Do what a claimed timer says, through the one door, as `system:timer`.

        The timer must be pending and claimed by `worker_id` (see `engine.timers.worker`),
        else it is skipped. A refused trigger is recorded as the timer's outcome, in a
        transaction of its own; nothing else is written then.
        """
        seen: dict[str, Any] = {}

        def work(connection: Connection, used: _Key | None) -> Outcome:
            first = repo.timer_row(connection, timer_row_id)
            if first is None:
                raise NotFound("timer", str(timer_row_id))
            seen["row"] = first
            if not _claimed_by(first, worker_id):
                raise _TimerSkip(_skip_reason(first, worker_id))
            loaded = self.lock(connection, first["case_id"], used)
            # Every change of a case's timers holds the case's lock, taken just now: what
            # is read from here on stays true until commit.
            current = repo.timer_row(connection, timer_row_id)
            if current is None or not _claimed_by(current, worker_id):
                raise _TimerSkip(_skip_reason(current, worker_id))
            plan = _timer_plan(current)
            now = self.clock.now()
            change = core.timer(loaded.wf, loaded.snapshot(), plan, timer_row_id, now,
                                loaded.params, _timer_comment(current))
            if isinstance(change, Refusal):
                raise Refused(change)
            event = self.write(connection, loaded, change, now)
            result = self.finish(connection, loaded, event)
            seen["next"], note = self._rearm(connection, loaded, timer_row_id, plan, now)
            repo.finish_timer(connection, timer_row_id, now=now, outcome=_timer_outcome_json(
                "fired", event=event, next_due=seen["next"], note=note))
            return result

        try:
            fired = self.transaction("timer", TIMER_ACTOR, f"timer:{timer_row_id}",
                                     {"timer": timer_row_id}, work)
        except _TimerSkip as skip:
            return _timer_outcome(seen["row"], "skipped", detail=skip.detail)
        except Refused as refused:
            if "row" not in seen:
                raise
            return self._record_timer_refusal(seen["row"], worker_id, refused.refusal)
        if fired.replayed:
            return self._timer_replayed(timer_row_id, fired)
        return _timer_outcome(seen["row"], "fired", event=fired.event, next_due=seen.get("next"))

    def _rearm(self, connection: Connection, loaded: Loaded, timer_row_id: int,
               plan: TimerPlan, now: datetime) -> tuple[datetime | None, str | None]:
        """Arm a repeating timer's next occurrence, while its state is still the case's.

        Returns the next due time, or a note saying why there is none.
        """
        if not plan.repeat:
            return None, None
        current = repo.timer_row(connection, timer_row_id)
        if current is None or current["status"] != "pending":
            return None, "not re-armed: its state was left"
        try:
            following = next_repeat(loaded.wf, plan, loaded.params)
        except (CalendarCoverageError, DurationError, KeyError) as error:
            return None, f"not re-armed: {error}"
        if following is None:
            return None, "not re-armed: the timer is no longer in the definition"
        repo.arm_timers(connection, loaded.id, [following], now)
        return following.due_at, None

    def _record_timer_refusal(self, row: Mapping[str, Any], worker_id: str,
                              refused: Refusal) -> TimerOutcome:
        """Record a refused trigger as the timer's outcome (the case stays as it is); a
        repeating timer still gets its next occurrence."""
        with write_connection(self.engine) as connection:
            loaded = load(connection, self.registry, row["case_id"], lock=True)
            current = repo.timer_row(connection, row["id"])
            if current is None or not _claimed_by(current, worker_id):
                return _timer_outcome(row, "skipped", detail=_skip_reason(current, worker_id))
            now = self.clock.now()
            following, note = None, None
            if loaded.row["status"] == "active":
                following, note = self._rearm(connection, loaded, row["id"],
                                              _timer_plan(current), now)
            repo.finish_timer(connection, row["id"], now=now, outcome=_timer_outcome_json(
                "refused", refusal=refused, next_due=following, note=note))
        return _timer_outcome(row, "refused", refusal=refused, next_due=following)

    def _timer_replayed(self, timer_row_id: int, fired: FireResult) -> TimerOutcome:
        """The key `timer:<id>` was used already: normally by the fire that also marked the
        timer (another worker's, once this one's lease had expired), so there is nothing to
        do. Should the mark be missing, it is added."""
        with write_connection(self.engine) as connection:
            row = repo.timer_row(connection, timer_row_id)
            if row is None:
                raise NotFound("timer", str(timer_row_id))
            load(connection, self.registry, row["case_id"], lock=True)
            row = repo.timer_row(connection, timer_row_id)
            assert row is not None
            if row["status"] != "pending":
                return _timer_outcome(row, "skipped", detail=f"the timer is {row['status']}")
            repo.finish_timer(connection, timer_row_id, now=self.clock.now(),
                              outcome=_timer_outcome_json("fired", event=fired.event))
        return _timer_outcome(row, "fired", event=fired.event, detail="replayed")


def timer_state_refusal(state: str) -> Refused:
    return Refused(refusal("invalid_timer_state", {"state": state}, state=state,
                           states=", ".join(TIMER_STATES)))


def _claimed_by(row: Mapping[Any, Any], worker_id: str) -> bool:
    return bool(row["status"] == "pending" and row["claimed_by"] == worker_id)


def _skip_reason(row: Mapping[Any, Any] | None, worker_id: str) -> str:
    if row is None:
        return "the timer no longer exists"
    if row["status"] != "pending":
        return f"the timer is {row['status']}"
    return f"the claim belongs to {row['claimed_by']}, not {worker_id}"


def _timer_plan(row: Mapping[Any, Any]) -> TimerPlan:
    return TimerPlan(row["state"], row["timer_id"], row["due_at"], row["action"],
                     row["trigger"], row["repeat"])


def _timer_comment(row: Mapping[Any, Any]) -> str:
    """The comment of a timer's event: which timer, which row, due when."""
    due = row["due_at"].isoformat(timespec="seconds")
    return f"timer {row['state']}:{row['timer_id']} #{row['id']}, due {due}"


def _timer_outcome(row: Mapping[Any, Any], result: Literal["fired", "refused", "skipped"],
                   **extra: Any) -> TimerOutcome:
    return TimerOutcome(timer=row["id"], case_id=row["case_id"],
                        key=f"{row['state']}:{row['timer_id']}", action=row["action"],
                        result=result, **extra)


def _timer_outcome_json(result: str, *, event: EventView | None = None,
                        refusal: Refusal | None = None, next_due: datetime | None = None,
                        note: str | None = None) -> str:
    """A timer's stored outcome: JSON text, shaped as `TimerView.outcome`."""
    plain: dict[str, Any] = {"result": result}
    if event is not None:
        plain.update(kind=event.kind, seq=event.seq, trigger=event.trigger,
                     to_state=event.to_state)
    if refusal is not None:
        plain.update(code=refusal.code, en=refusal.en, zh=refusal.zh)
    if next_due is not None:
        plain["next_due"] = next_due.isoformat()
    if note is not None:
        plain["note"] = note
    return json.dumps(plain, ensure_ascii=False, sort_keys=True)
