"""Where a claimed timer fires: the worker's entry to the door, as `system:timer`.

Claiming due timers (leases, SKIP LOCKED) is the worker's (`engine.timers.worker`); firing
one on its locked case is `engine.service.firing`'s. This adds what a worker needs: the
claim checked under the case's lock, the case's earlier due timers fired first, and
idempotency key `timer:<id>`, so that a retry can never double it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import Connection

from engine.core.refusals import refusal
from engine.errors import NotFound, Refused
from engine.service import deadlines, firing
from engine.service.door import Door, Outcome, UsedKey
from engine.service.loading import load, view
from engine.service.views import FireResult, TimerOutcome
from engine.store import repository as repo
from engine.store.db import write_connection

__all__ = ["TIMER_ACTOR", "TIMER_STATES", "TimerFiring", "timer_state_refusal"]

TIMER_ACTOR = firing.TIMER_ACTOR
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
        else it is skipped. The case's timers due before it fire first. A refused action
        is the timer's outcome, and a `timer_refused` event in the case's history.
        """
        seen: dict[str, Any] = {}

        def work(connection: Connection, used: UsedKey | None) -> Outcome:
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
            earlier = firing.fire_due(connection, loaded, self.clock,
                                      self.max_automatic_steps,
                                      before=(current["due_at"], current["id"]))
            current = repo.timer_row(connection, timer_row_id)
            if current is None or current["status"] != "pending":
                # An earlier deadline moved the case out of this timer's state first.
                seen["skipped"] = "cancelled: an earlier timer left its state"
                deadlines.settle(connection, loaded)
                last = earlier[-1]
                return Outcome(FireResult(view(loaded), last.event, last.automatic))
            fired = firing.fire_row(connection, loaded, current, self.clock,
                                    self.max_automatic_steps)
            seen["fired"] = fired
            outcome = self.finish(connection, loaded, fired.event)
            return Outcome(FireResult(outcome.result.case, fired.event,
                                      [*fired.automatic, *outcome.result.automatic]))

        key, request = firing.timer_key(timer_row_id)
        try:
            result = self.transaction(firing.TIMER_OPERATION, TIMER_ACTOR, key, request, work)
        except _TimerSkip as skip:
            return _timer_outcome(seen["row"], "skipped", detail=skip.detail)
        if result.replayed:
            return self._timer_replayed(timer_row_id, result)
        if "skipped" in seen:
            return _timer_outcome(seen["row"], "skipped", detail=seen["skipped"])
        fired = seen["fired"]
        if fired.refusal is not None:
            return _timer_outcome(seen["row"], "refused", event=fired.event,
                                  refusal=fired.refusal, next_due=fired.next_due)
        return _timer_outcome(seen["row"], "fired", event=result.event,
                              next_due=fired.next_due)

    def _timer_replayed(self, timer_row_id: int, fired: FireResult) -> TimerOutcome:
        """The key `timer:<id>` was used already: normally by the fire that also marked the
        timer (another worker's, once this one's lease had expired), so there is nothing to
        do. Should the mark be missing, it is added."""
        with write_connection(self.engine) as connection:
            row = repo.timer_row(connection, timer_row_id)
            if row is None:
                raise NotFound("timer", str(timer_row_id))
            loaded = load(connection, self.registry, row["case_id"], lock=True)
            row = repo.timer_row(connection, timer_row_id)
            assert row is not None
            if row["status"] != "pending":
                return _timer_outcome(row, "skipped", detail=f"the timer is {row['status']}")
            repo.finish_timer(connection, timer_row_id, now=self.clock.now(),
                              outcome=firing.outcome_json("fired", event=fired.event))
            deadlines.finished(loaded, row["due_at"])
            deadlines.settle(connection, loaded)
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


def _timer_outcome(row: Mapping[Any, Any], result: Literal["fired", "refused", "skipped"],
                   **extra: Any) -> TimerOutcome:
    return TimerOutcome(timer=row["id"], case_id=row["case_id"],
                        key=f"{row['state']}:{row['timer_id']}", action=row["action"],
                        result=result, **extra)
