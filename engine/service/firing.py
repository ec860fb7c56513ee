"""Firing one due timer on its locked case, inside the caller's transaction.

Two callers: a worker that claimed the timer (`engine.service.timers`), and any change of
a case (`engine.service.door`), which first fires the case's timers that fell due before
it, oldest first, so that a deadline passed is never skipped by a later change that
leaves its state (which would cancel it). A timer's action is decided by the core
(`engine.core.operations.timer`); a refused action leaves a `timer_refused` event in
the case's history. Either way the timer is marked (`fired`, with what came of it) in the
same transaction, and a repeating timer gets its next occurrence while its state lasts.

Each timer fired ahead of another change (`fire_due`) gets its own idempotency record
`timer:<id>`, as the worker's own fire does: a worker that claimed it and comes to fire it
finds the record and skips it, and every fired timer has exactly one record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.clock import Clock
from engine.core import operations as core
from engine.core.snapshot import Actor, TimerPlan
from engine.core.timer_plans import next_repeat
from engine.errors import Refusal
from engine.service import deadlines, idempotency
from engine.service.loading import Loaded, view
from engine.service.views import EventView, FireResult
from engine.service.writing import automatic, write
from engine.store import repository as repo
from engine.timers.calendar import CalendarCoverageError, DurationError

__all__ = ["TIMER_ACTOR", "TIMER_OPERATION", "Fired", "fire_due", "fire_row", "outcome_json",
           "timer_key", "timer_plan"]

TIMER_ACTOR: Actor = core.TIMER_ACTOR
TIMER_OPERATION = "timer"


def timer_key(timer_row_id: int) -> tuple[str, dict[str, Any]]:
    """The idempotency key of firing timer row `timer_row_id`, and the request it is
    fingerprinted with (the same for the worker's fire and a fire ahead of a change)."""
    return f"timer:{timer_row_id}", {"timer": timer_row_id}


@dataclass(frozen=True)
class Fired:
    """What firing one timer wrote: its event (the action's, or `timer_refused`), the
    refusal when refused, the automatic steps after it, a repeating timer's next time."""

    row: Mapping[Any, Any]
    event: EventView
    refusal: Refusal | None = None
    automatic: list[EventView] = field(default_factory=list)
    next_due: datetime | None = None


def timer_plan(row: Mapping[Any, Any]) -> TimerPlan:
    return TimerPlan(row["state"], row["timer_id"], row["due_at"], row["action"],
                     row["trigger"], row["repeat"])


def _comment(row: Mapping[Any, Any]) -> str:
    """The comment of a timer's event: which timer, which row, due when."""
    due = row["due_at"].isoformat(timespec="seconds")
    return f"timer {row['state']}:{row['timer_id']} #{row['id']}, due {due}"


def fire_row(connection: Connection, loaded: Loaded, row: Mapping[Any, Any], clock: Clock,
             budget: int) -> Fired:
    """Do what the pending timer `row` of the locked case says, and mark it."""
    plan = timer_plan(row)
    now = clock.now()
    snapshot = loaded.snapshot()
    change = core.timer(loaded.wf, snapshot, plan, row["id"], now, loaded.params,
                        _comment(row))
    refused = change if isinstance(change, Refusal) else None
    if isinstance(change, Refusal):
        change = core.timer_refused(loaded.wf, snapshot, plan, row["id"], change, now,
                                    _comment(row))
    event = write(connection, loaded, change, now)
    steps = automatic(connection, loaded, clock, budget) if refused is None else []
    following, note = _rearm(connection, loaded, row["id"], plan, now)
    repo.finish_timer(connection, row["id"], now=now, outcome=outcome_json(
        "refused" if refused else "fired", event=event, refusal=refused, next_due=following,
        note=note))
    deadlines.finished(loaded, row["due_at"])
    return Fired(row, event, refused, steps, following)


def fire_due(connection: Connection, loaded: Loaded, clock: Clock, budget: int, *,
             before: tuple[datetime, int] | None = None) -> list[Fired]:
    """Fire the case's pending timers due now (those due before `before`, a timer's
    `(due_at, id)`, when given), oldest first, whoever has claimed them: the case is
    locked, so a worker holding a claim finds them fired and skips them."""
    if loaded.row["status"] != "active" or (loaded.next_due_known
                                             and loaded.next_due is None):
        return []  # most changes: no pending timer, the clock is not read
    now = clock.now()
    if loaded.next_due_known and loaded.next_due is not None and loaded.next_due > now:
        return []
    fired: list[Fired] = []
    for row in repo.due_timers(connection, loaded.id, now):
        if before is not None and (row["due_at"], row["id"]) >= before:
            break
        if loaded.row["status"] != "active":
            break
        current = repo.timer_row(connection, row["id"])
        if current is None or current["status"] != "pending":
            continue  # an earlier one left its state, which cancelled this one
        done = fire_row(connection, loaded, current, clock, budget)
        _record(connection, loaded, done)
        fired.append(done)
    return fired


def _record(connection: Connection, loaded: Loaded, fired: Fired) -> None:
    """The idempotency record of a timer fired ahead of another change, unless one is
    there already (a worker's fire of it that committed without marking it)."""
    key, request = timer_key(fired.row["id"])
    if repo.find_idempotency(connection, key) is not None:
        return
    print_ = idempotency.fingerprint(TIMER_OPERATION, TIMER_ACTOR, request)
    idempotency.record(connection, key, print_, TIMER_OPERATION, TIMER_ACTOR,
                       FireResult(view(loaded), fired.event, fired.automatic))


def _rearm(connection: Connection, loaded: Loaded, timer_row_id: int, plan: TimerPlan,
           now: datetime) -> tuple[datetime | None, str | None]:
    """Arm a repeating timer's next occurrence, while its state is still the case's.

    Returns the next due time, or a note saying why there is none.
    """
    if not plan.repeat or loaded.row["status"] != "active":
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
    deadlines.armed(loaded, [following.due_at])
    return following.due_at, None


def outcome_json(result: str, *, event: EventView | None = None,
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
