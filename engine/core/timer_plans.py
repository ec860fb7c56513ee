"""When a state's timers fall due: the plans armed on entering states, and the next
occurrence of a repeating timer. Calendar durations and working days on the official
calendar; a duration or count may name a workflow parameter (`params.NAME`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.core.snapshot import TimerPlan, made
from engine.language.environment import to_cel_time
from engine.language.spec import TimerSpec
from engine.timers.calendar import add_duration, parse_duration
from engine.timers.calendar import default_calendar as working_calendar

if TYPE_CHECKING:
    from engine.core.compiler import CompiledWorkflow

__all__ = ["Armed", "arm", "armed", "next_repeat", "plan_timers", "replanned"]


def _timer_due(timer: TimerSpec, data: Mapping[str, Any], now: datetime,
               params: Mapping[str, Any]) -> datetime | None:
    """When `timer` falls due, or None when its base date field has no value."""
    base = now
    if timer.relative_to != "entry":
        value = data.get(timer.relative_to)
        if value is None:
            return None
        base = to_cel_time(datetime.fromisoformat(value) if "T" in value
                           else datetime.fromisoformat(value + "T00:00:00+00:00"))
    working = timer.working_days is not None or (
        timer.days is not None and _param_ref(timer.counting, params) == "working")
    count = timer.working_days if timer.working_days is not None else timer.days
    if count is not None and working:
        due = working_calendar().add_working_days(base, int(_param_ref(count, params)))
        return due if isinstance(due, datetime) else to_cel_time(due)
    if count is not None:
        return add_duration(base, parse_duration(f"P{int(_param_ref(count, params))}D"))
    text = str(_param_ref(timer.duration or "", params))
    return add_duration(base, parse_duration(text))


def _param_ref(value: int | str, params: Mapping[str, Any]) -> Any:
    """A literal, or the value of `params.NAME`."""
    if isinstance(value, str) and value.startswith("params."):
        return params[value.removeprefix("params.")]
    return value


def plan_timers(wf: CompiledWorkflow, entered: list[str], data: Mapping[str, Any],
                now: datetime, params: Mapping[str, Any]) -> tuple[TimerPlan, ...]:
    """Timers armed on entering `entered` states (outermost first)."""
    timers = [armed(state, timer) for state in entered for timer in wf.states[state].spec.timers]
    return arm(timers, data, now, params)


@dataclass(frozen=True)
class Armed:
    """A timer of a state as arming it needs it: its actions, and for the usual rule
    (working days counted from entering the state) the count, a number (`days`) or the
    parameter holding it (`param`), so that the rule is not worked out again at every
    decision (`engine.core.plans`)."""

    state: str
    timer: TimerSpec
    actions: tuple[str, ...]
    usual: bool = False
    days: int | str = 0
    param: str | None = None


def armed(state: str, timer: TimerSpec) -> Armed:
    """`timer` of `state`, ready to arm."""
    count = timer.working_days
    if timer.relative_to != "entry" or count is None:
        return Armed(state, timer, timer.actions)
    if isinstance(count, str) and count.startswith("params."):
        return Armed(state, timer, timer.actions, True, param=count.removeprefix("params."))
    return Armed(state, timer, timer.actions, True, count)


def arm(timers: Iterable[Armed], data: Mapping[str, Any], now: datetime,
        params: Mapping[str, Any]) -> tuple[TimerPlan, ...]:
    """The plans of `timers`, in order; a timer counted from a date field without a value is
    not armed. The usual rule is `_timer_due`'s first branch, taken directly."""
    plans: list[TimerPlan] = []
    for one in timers:
        timer = one.timer
        if one.usual:
            count = params[one.param] if one.param is not None else one.days
            due = working_calendar().add_working_days(now, int(count))
            if not isinstance(due, datetime):
                due = to_cel_time(due)
        else:
            found = _timer_due(timer, data, now, params)
            if found is None:
                continue
            due = found
        for action in one.actions:
            plans.append(made(TimerPlan, state=one.state, timer_id=timer.id, due_at=due,
                              action=action, trigger=timer.trigger, repeat=timer.repeat))
    return tuple(plans)


def replanned(wf: CompiledWorkflow, stayed: list[str], before: Mapping[str, Any],
              data: Mapping[str, Any], now: datetime, params: Mapping[str, Any]
              ) -> tuple[frozenset[tuple[str, str]], tuple[TimerPlan, ...]]:
    """Timers of states the case stays in that are counted from a date field this change
    gives another value (a re-election moves the end of the term): their `(state, timer)`
    names, whose live rows go, and their plans from the new date (none when the field lost
    its value)."""
    moved: set[tuple[str, str]] = set()
    plans: list[TimerPlan] = []
    for state in stayed:
        for timer in wf.states[state].spec.timers:
            base = timer.relative_to
            if base == "entry" or before.get(base) == data.get(base):
                continue
            moved.add((state, timer.id))
            due = _timer_due(timer, data, now, params)
            if due is not None:
                plans.extend(TimerPlan(state, timer.id, due, action, timer.trigger,
                                       timer.repeat) for action in timer.actions)
    return frozenset(moved), tuple(plans)


def next_repeat(wf: CompiledWorkflow, plan: TimerPlan, params: Mapping[str, Any]
                ) -> TimerPlan | None:
    """The next occurrence of a repeating timer: one period after the previous due time.

    Counting from the previous due time rather than from when it fired keeps a periodic
    review on its schedule even when a worker fired it late.
    """
    if not plan.repeat:
        return None
    timer = next((t for t in wf.states[plan.state].spec.timers if t.id == plan.timer_id), None)
    if timer is None:
        return None
    due = _timer_due(timer.model_copy(update={"relative_to": "entry"}), {}, plan.due_at, params)
    return replace(plan, due_at=due) if due is not None else None
