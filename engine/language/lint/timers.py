"""Timers: unique ids, a trigger that can be taken where the timer runs, what the timer
counts from, how long it runs (a literal or a parameter of the right type) and whether it
counts working or calendar days."""

from __future__ import annotations

from collections.abc import Mapping

from engine.language.diagnostics import (
    Reporter,
    Words,
    YamlPath,
    did_you_mean,
)
from engine.language.lint.index import Index, StateNode
from engine.language.spec import TimerSpec, WorkflowSpec
from engine.timers.calendar import DurationError, parse_duration

DATE_TYPES = frozenset({"date", "datetime"})


def check_timers(index: Index, report: Reporter) -> None:
    """Timer ids, the trigger each fires, what it counts from and how long it runs."""
    spec = index.spec
    sources_by_trigger: dict[str, set[str]] = {}
    for edge in index.edges:
        sources_by_trigger.setdefault(edge.spec.trigger, set()).update(edge.sources)
    for node in index.states.values():
        seen: set[str] = set()
        for position, timer in enumerate(node.spec.timers):
            where = (*node.path, "timers", position)
            if timer.id in seen:
                report.error("duplicate_timer", (*where, "id"), timer=timer.id, state=node.id)
            seen.add(timer.id)
            if timer.trigger is not None:
                _check_timer_trigger(index, node, timer, where, sources_by_trigger, report)
            if timer.relative_to != "entry":
                _check_relative_to(spec, timer, where, report)
            if timer.duration is not None:
                _check_length(spec, timer.duration, "duration", (*where, "duration"), report)
            if isinstance(timer.working_days, str):
                _check_length(spec, timer.working_days, "working_days",
                              (*where, "working_days"), report)
            if isinstance(timer.days, str):
                _check_length(spec, timer.days, "days", (*where, "days"), report)
            _check_counting(spec, timer, where, report)


def _check_timer_trigger(index: Index, node: StateNode, timer: TimerSpec, where: YamlPath,
                         sources_by_trigger: Mapping[str, set[str]], report: Reporter) -> None:
    """The trigger exists and can be taken in at least one step where the timer runs.

    A timer runs while the case rests anywhere inside its state, and a step takes the
    transitions declared on it and on the stages around it.
    """
    trigger = timer.trigger or ""
    sources = sources_by_trigger.get(trigger)
    if sources is None:
        report.error("timer_trigger_undefined", (*where, "trigger"), trigger=trigger,
                     suggestion=did_you_mean(trigger, sources_by_trigger))
        return
    resting = [s for s in index.tree.subtree(node.id) if not index.states[s].children] or [node.id]
    if not any(s in sources for leaf in resting for s in index.tree.lineage(leaf)):
        report.error("timer_trigger_not_from_state", (*where, "trigger"), trigger=trigger,
                     state=node.id)


def _check_relative_to(spec: WorkflowSpec, timer: TimerSpec, where: YamlPath,
                       report: Reporter) -> None:
    name = timer.relative_to
    found = spec.fields.get(name)
    if found is None:
        dates = ["entry", *(n for n, f in spec.fields.items() if f.type in DATE_TYPES)]
        report.error("relative_to_unknown", (*where, "relative_to"), field=name,
                     suggestion=did_you_mean(name, dates))
    elif found.type not in DATE_TYPES:
        report.error("relative_to_not_date", (*where, "relative_to"), field=name,
                     type=found.type)


_LENGTH_NEEDS = {
    "duration": ("duration", Words("a timer's duration", "定时器的 duration")),
    "working_days": ("integer", Words("a timer's working_days", "定时器的 working_days")),
    "days": ("integer", Words("a timer's days", "定时器的 days")),
}
COUNTINGS = ("working", "calendar")


def _check_counting(spec: WorkflowSpec, timer: TimerSpec, where: YamlPath,
                    report: Reporter) -> None:
    """`counting` goes with `days`, and is working, calendar or a string parameter whose
    every allowed value is one of those."""
    counting = timer.counting
    if counting == "working":
        return
    place = (*where, "counting")
    if timer.days is None:
        report.error("counting_without_days", place)
    elif counting.startswith("params."):
        name = counting.removeprefix("params.")
        parameter = spec.parameters.get(name)
        if parameter is None:
            report.error("unknown_parameter", place, name=name,
                         suggestion=did_you_mean(name, spec.parameters))
            return
        allowed: list[object] = list(parameter.values or ())
        allowed = allowed or [parameter.default]
        if parameter.type != "string" or any(v not in COUNTINGS for v in allowed):
            report.error("counting_parameter", place, name=name)
    elif counting not in COUNTINGS:
        report.error("bad_choice", place, value=counting, choices=list(COUNTINGS),
                     suggestion=did_you_mean(counting, COUNTINGS))


def _check_length(spec: WorkflowSpec, value: str, key: str, where: YamlPath,
                  report: Reporter) -> None:
    """A duration or working-days value: a literal, or `params.NAME` of the right type."""
    expected, needed_by = _LENGTH_NEEDS[key]
    if value.startswith("params."):
        name = value.removeprefix("params.")
        parameter = spec.parameters.get(name)
        if parameter is None:
            report.error("unknown_parameter", where, name=name,
                         suggestion=did_you_mean(name, spec.parameters))
        elif parameter.type != expected:
            report.error("parameter_wrong_type", where, name=name, type=parameter.type,
                         expected=expected, use=needed_by)
    elif key in ("working_days", "days"):
        report.error("bad_working_days", where, value=value)
    elif not is_duration(value):
        report.error("bad_duration", where, value=value, hint=_duration_hint(value))


def _duration_hint(value: str) -> Words:
    upper = value.strip().upper()
    if upper.startswith("P") and "T" not in upper and upper[-1:] in ("H", "S"):
        return Words(" (hours, minutes and seconds go after a T, as in PT12H)",
                     "（时、分、秒要写在 T 之后，例如 PT12H）")
    return Words("", "")


def is_duration(value: object) -> bool:
    try:
        parse_duration(value)  # type: ignore[arg-type]
    except DurationError:
        return False
    return True
