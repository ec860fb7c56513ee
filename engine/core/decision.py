"""Deciding a transition: a pure function of the compiled workflow, a case snapshot, the
trigger, the input, the actor and the time.

Nothing here reads a database, a clock or the network (a test fails if this module
imports sqlmodel, fastapi or apscheduler). `engine.core.operations.fire` turns the
returned `Transition` into the `Change` the door (`engine.service.door`) writes: new state
and data, the event body, the timers to arm and the states whose timers to cancel. A
`Refusal` means nothing is written. Guards, effects and priorities are evaluated in
`engine.core.guards`; the refusal texts are in `engine.core.refusals` (both re-exported
here for callers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.core.compiler import CompiledTransition, CompiledWorkflow
from engine.core.guards import (
    checklist_refusal,
    evaluate_effects,
    guard_refusal,
    shown_values,
)
from engine.core.guards import environment as environment
from engine.core.plans import Step, passing
from engine.core.priorities import priority as priority
from engine.core.refusals import input_refusal as input_refusal
from engine.core.refusals import labels
from engine.core.refusals import refusal as refusal
from engine.core.roles import DEFAULT_ROLES as DEFAULT_ROLES
from engine.core.roles import SUPER_ROLES as SUPER_ROLES
from engine.core.roles import start_refusal, status_refusal, transition_role
from engine.core.snapshot import SYSTEM_PREFIX as SYSTEM_PREFIX
from engine.core.snapshot import Actor as Actor
from engine.core.snapshot import CaseSnapshot as CaseSnapshot
from engine.core.snapshot import CaseStatus as CaseStatus
from engine.core.snapshot import LinkedCase as LinkedCase
from engine.core.snapshot import TimerPlan as TimerPlan
from engine.core.snapshot import made
from engine.core.timer_plans import arm, replanned
from engine.core.timer_plans import next_repeat as next_repeat
from engine.core.timer_plans import plan_timers as plan_timers
from engine.errors import Refusal
from engine.language.values import check_values, to_cel
from engine.timers.calendar import CalendarCoverageError, DurationError


@dataclass(frozen=True)
class Transition:
    """The outcome of an allowed trigger, as data for the shell to write."""

    trigger: str
    from_state: str
    to_state: str
    data: Mapping[str, Any]
    changes: Mapping[str, Any]
    role: str | None
    event: Mapping[str, Any]
    arm: tuple[TimerPlan, ...]
    exited: tuple[str, ...]
    entered: tuple[str, ...]
    final: bool
    outcome: str | None
    moved: frozenset[tuple[str, str]] = frozenset()
    """Timers `(state, timer)` of states the case stays in, counted from a date field
    this change gives another value: their live rows go and `rearm` replaces them."""
    rearm: tuple[TimerPlan, ...] = ()


@dataclass(frozen=True)
class Action:
    """One trigger as a caller sees it: allowed, or the refusal it would meet."""

    trigger: str
    allowed: bool
    refusal: Refusal | None
    transition: CompiledTransition | None


def evaluate_transition(wf: CompiledWorkflow, case: CaseSnapshot, t: CompiledTransition,
                        actor: Actor, values: Mapping[str, Any], now: datetime,
                        params: Mapping[str, Any], args: Mapping[str, Any] | None = None
                        ) -> Refusal | dict[str, Any]:
    """Role, guard, checklist and effects of one candidate; returns changes or a refusal.
    `args` are the labels a refusal names (`labels`), when the caller has them already."""
    args = labels(wf, case.state, t.trigger) if args is None else args
    allowed, _ = transition_role(t, actor)
    if not allowed:
        roles = list(t.spec.roles) or list(DEFAULT_ROLES)
        return refusal("role_missing", {"required_roles": roles}, roles=", ".join(roles),
                       **args)
    env = environment(wf, case, now, params, t.names, t.fields, to_cel(t.spec.input, values))
    found = guard_refusal(t, env, args, lambda: shown_values(wf, case.data, params, t, values))
    if found is not None:
        return found
    if t.spec.check_checklist:
        exited, _ = wf.moves(case.state, t.spec.to)
        missing = checklist_refusal(wf, case, exited, args)
        if missing is not None:
            return missing
    changes, failed = evaluate_effects(wf, t, env, case.data)
    return failed if failed is not None else changes


def decide(wf: CompiledWorkflow, case: CaseSnapshot, trigger: str, values: Mapping[str, Any],
           actor: Actor, now: datetime, params: Mapping[str, Any] | None = None,
           comment: str | None = None) -> Transition | Refusal:
    """Decide `trigger` on `case`: the new state and everything to write, or a refusal.

    A closed or suspended case is refused first (`engine.core.roles.status_refusal`).
    Candidates are tried in order (innermost state first, then definition order); the
    first whose role, guard and checklist pass wins. When none passes, the refusal of the
    first candidate is returned, since that is the rule a caseworker most likely meant.

    The passing candidate is found from the transitions' plans (`engine.core.plans`: what
    each checks and reads, worked out once per workflow); a refusal, or anything those
    plans do not foresee, is left to `decide_plainly`, which gives the same answers.
    """
    params = wf.resolve_params() if params is None else params
    found = passing(wf, case, trigger, values, actor, now, params)
    if found is None:
        return decide_plainly(wf, case, trigger, values, actor, now, params, comment)
    step, clean, changes, role = found
    try:
        return _planned(wf, case, step, actor, role, clean, changes, now, params, comment)
    except (CalendarCoverageError, DurationError, KeyError) as exc:
        return refusal("calendar_not_covered", {}, error=exc)


def _planned(wf: CompiledWorkflow, case: CaseSnapshot, step: Step, actor: Actor,
             role: str | None, values: Mapping[str, Any], changes: Mapping[str, Any],
             now: datetime, params: Mapping[str, Any], comment: str | None) -> Transition:
    """`_transition` with the states exited and entered and the timers armed read from the
    step's plan."""
    t, moved = step.transition, step.move
    trigger, source = t.spec.trigger, case.state
    data = {**case.data, **changes}
    event = {
        "kind": "transition", "workflow_id": wf.id, "workflow_version": wf.version,
        "trigger": trigger, "from_state": source, "to_state": moved.target,
        "actor": actor.id, "role": role, "input": dict(values), "comment": comment,
        "changes": dict(changes), "at": now,
    }
    rearmed, rearm = (replanned(wf, list(moved.stayed), case.data, data, now, params)
                      if changes and moved.dated and not moved.final else (frozenset(), ()))
    return made(
        Transition, trigger=trigger, from_state=source, to_state=moved.target, data=data,
        changes=dict(changes), role=role, event=event,
        arm=arm(moved.timers, data, now, params) if moved.timers else (),
        exited=moved.exited,
        entered=moved.entered, final=moved.final, outcome=moved.outcome,
        moved=rearmed, rearm=rearm,
    )


def decide_plainly(wf: CompiledWorkflow, case: CaseSnapshot, trigger: str,
                   values: Mapping[str, Any], actor: Actor, now: datetime,
                   params: Mapping[str, Any] | None = None,
                   comment: str | None = None) -> Transition | Refusal:
    """`decide` the straightforward way: every rule checked in turn, each refusal built as
    it is met. The reference the planned path is tested against, and the path of every
    refusal."""
    params = wf.resolve_params() if params is None else params
    args = labels(wf, case.state, trigger)
    blocked = status_refusal(wf, case)
    if blocked is not None:
        return blocked
    if trigger not in wf.trigger_titles:
        return refusal("unknown_trigger", {"triggers": list(wf.triggers)}, **args)
    candidates = wf.candidates(case.state, trigger)
    if not candidates:
        return refusal("not_allowed_from_state", {"current_state": case.state}, **args)
    first: Refusal | None = None
    for t in candidates:
        clean, problems = check_values(t.spec.input, values)
        outcome: Refusal | dict[str, Any]
        if problems and transition_role(t, actor)[0]:
            outcome = input_refusal(problems, args, t.spec.input)
        else:
            outcome = evaluate_transition(wf, case, t, actor, clean, now, params, args)
        if isinstance(outcome, Refusal):
            first = first or outcome
            continue
        try:
            return _transition(wf, case, t, actor, clean, outcome, now, params, comment)
        except (CalendarCoverageError, DurationError, KeyError) as exc:
            return refusal("calendar_not_covered", {}, error=exc)
    assert first is not None
    return first


def _transition(wf: CompiledWorkflow, case: CaseSnapshot, t: CompiledTransition, actor: Actor,
                values: Mapping[str, Any], changes: Mapping[str, Any], now: datetime,
                params: Mapping[str, Any], comment: str | None) -> Transition:
    target = wf.leaf(t.spec.to)
    exited, entered = wf.moves(case.state, t.spec.to)
    data = {**case.data, **changes}
    _, role = transition_role(t, actor)
    info = wf.states[target].spec
    event = {
        "kind": "transition", "workflow_id": wf.id, "workflow_version": wf.version,
        "trigger": t.trigger, "from_state": case.state, "to_state": target,
        "actor": actor.id, "role": role, "input": dict(values), "comment": comment,
        "changes": dict(changes), "at": now,
    }
    stayed = [s for s in wf.lineage(target) if s not in entered]
    moved, rearm = (replanned(wf, stayed, case.data, data, now, params)
                    if changes and not info.final else (frozenset(), ()))
    return Transition(
        trigger=t.trigger, from_state=case.state, to_state=target, data=data,
        changes=dict(changes), role=role, event=event,
        arm=plan_timers(wf, entered, data, now, params), exited=tuple(exited),
        entered=tuple(entered), final=info.final, outcome=info.outcome,
        moved=moved, rearm=rearm,
    )


def available_actions(wf: CompiledWorkflow, case: CaseSnapshot, actor: Actor, now: datetime,
                      params: Mapping[str, Any] | None = None) -> list[Action]:
    """Every trigger of the workflow, allowed or with the reason it would be refused.

    Input is not known yet, so a guard that reads `input` is reported as allowed when the
    rest passes: the caller learns about the input when it fires.
    """
    params = wf.resolve_params() if params is None else params
    actions: list[Action] = []
    blocked = status_refusal(wf, case)
    for trigger in wf.triggers:
        candidates = [c for c in wf.candidates(case.state, trigger) if not c.spec.automatic]
        if blocked is not None:
            actions.append(Action(trigger, False, blocked, candidates[0] if candidates else None))
            continue
        if not candidates:
            args = labels(wf, case.state, trigger)
            actions.append(Action(trigger, False,
                                  refusal("not_allowed_from_state", {}, **args), None))
            continue
        actions.append(_first_allowed(wf, case, candidates, actor, now, params, trigger))
    return actions


def _first_allowed(wf: CompiledWorkflow, case: CaseSnapshot, candidates: list[CompiledTransition],
                   actor: Actor, now: datetime, params: Mapping[str, Any], trigger: str) -> Action:
    first: Refusal | None = None
    for t in candidates:
        outcome = evaluate_transition(wf, case, t.before_input(), actor, {}, now, params)
        if not isinstance(outcome, Refusal):
            return Action(trigger, True, None, t)
        first = first or outcome
    return Action(trigger, False, first, candidates[0])


_AUTO = Actor("system:auto")


def automatic_step(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
                   params: Mapping[str, Any] | None = None) -> Transition | None:
    """The first automatic transition whose guard holds now, or None."""
    if status_refusal(wf, case) is not None:
        return None
    actor = _AUTO
    for t in wf.automatic.get(case.state, ()):
        outcome = decide(wf, case, t.trigger, {}, actor, now, params)
        if isinstance(outcome, Transition):
            return outcome
    return None


@dataclass(frozen=True)
class Start:
    """The outcome of starting a case: its first state, data, event and timers."""

    state: str
    data: Mapping[str, Any]
    event: Mapping[str, Any]
    arm: tuple[TimerPlan, ...]
    priority: float


def start(wf: CompiledWorkflow, values: Mapping[str, Any], actor: Actor, now: datetime,
          params: Mapping[str, Any] | None = None, comment: str | None = None
          ) -> Start | Refusal:
    """Check initial data against the field definitions and place the case in its first state."""
    params = wf.resolve_params() if params is None else params
    not_allowed = start_refusal(wf, actor)
    if not_allowed is not None:
        return not_allowed
    data, problems = check_values(wf.fields, values)
    if problems:
        return input_refusal(problems, {}, wf.fields)
    state = wf.leaf(wf.initial)
    event = {
        "kind": "start", "workflow_id": wf.id, "workflow_version": wf.version,
        "trigger": None, "from_state": None, "to_state": state, "actor": actor.id,
        "role": None, "input": dict(data), "comment": comment, "changes": dict(data), "at": now,
    }
    try:
        arm = plan_timers(wf, wf.lineage(state)[::-1], data, now, params)
    except (CalendarCoverageError, DurationError, KeyError) as exc:
        return refusal("calendar_not_covered", {}, error=exc)
    snapshot = CaseSnapshot(state=state, data=data, entered_at=now)
    return Start(state, data, event, arm, priority(wf, snapshot, now, params))
