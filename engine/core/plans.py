"""What deciding a transition checks, reads and moves, worked out once per compiled workflow,
so that `engine.core.decision.decide` does only the work that depends on the case.

A `TransitionPlan` holds, for one compiled transition, the roles that may fire it, the CEL
programs of its conditions, its effects (an effect whose expression is a literal, like
`'true'`, is evaluated and checked once here), and which names and `data` fields those
expressions read. A `Move` holds, for one transition taken from one leaf state, the states
exited and entered, the checklist items that must be ticked, the timers armed on entering
and whether a state the case stays in counts a timer from a date field.

`passing` is the quick path of a decision: it finds the candidate that passes, or answers
None whenever it cannot be sure (a refusal everywhere, a closed case, a value CEL cannot
take), and `decide` then takes the straightforward path, which builds the refusal. The
plans live on the compiled workflow they describe (built on first use; a workflow is
immutable, so they never go stale), and a property test checks that both paths agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import cel

from engine.core.compiler import CompiledTransition, CompiledWorkflow
from engine.core.guards import environment
from engine.core.roles import transition_role
from engine.core.snapshot import Actor, CaseSnapshot
from engine.core.timer_plans import Armed, armed
from engine.language.environment import china_date, to_cel_time
from engine.language.expressions import CompiledExpression
from engine.language.flat import Read, flat_variables, merged_reads
from engine.language.spec import FieldSpec
from engine.language.values import check_value, check_values, from_cel, to_cel

__all__ = ["Effect", "Move", "Step", "TransitionPlan", "bindings", "move", "passing", "plan",
           "steps"]

PLAIN = frozenset({"data", "input", "params", "checklist", "now", "today", "entered_at",
                    "entered_on", "state"})
"""Names whose CEL values are built here; an expression that calls one of the engine's own
functions (`linked`, `add_duration`, `add_working_days`) has its context built by
`engine.language.expressions.Environment`, as before."""
_LITERALS = (bool, int, float, str, type(None))
"""Results of a literal effect that are kept: immutable, so one value serves every case."""


@dataclass(frozen=True)
class Effect:
    """One effect of a transition: the field it sets, and its program or, for a literal,
    the checked value it always gives (`valid` False: the value its field refuses)."""

    name: str
    spec: FieldSpec
    program: Any
    folded: bool = False
    value: Any = None
    valid: bool = True


@dataclass(frozen=True)
class TransitionPlan:
    """What deciding one transition checks and reads, whatever the case."""

    transition: CompiledTransition
    conditions: tuple[Any, ...]
    """The CEL programs of the guard and the conditions, in the order they are tried."""
    effects: tuple[Effect, ...]
    evaluates: bool
    """Whether deciding builds the CEL context at all (a condition or an effect exists)."""
    plain: bool
    """Whether every name read is built by `bindings` (no engine function is called)."""
    roots: frozenset[str]
    fields: tuple[tuple[str, str], ...] | None
    """The `data` fields read, each with its type (None: `data` as a whole)."""
    programs: tuple[Any, ...] = ()
    """The effects' programs, in order (what `_context` runs them as, nested)."""
    flat: FlatPlan | None = None
    """The conditions and effects over flat names, when all of them can be."""
    direct: tuple[tuple[str, str], ...] | None = None
    """When the flat form reads nothing but `data` members of declared fields stored as
    CEL takes them (not dates): each member with its flat name, read straight from the
    case's data (`bindings` and `flat_variables` would give the same values)."""


@dataclass(frozen=True)
class FlatPlan:
    """A plain transition's conditions and effects over flat names (`engine.language.flat`):
    run against the members' values themselves when every member they read has one."""

    conditions: tuple[Any, ...]
    programs: tuple[Any, ...]
    """Per effect, its flat program (None for a literal one, which is never run)."""
    reads: tuple[Read, ...]


@dataclass(frozen=True)
class Move:
    """One transition taken from one leaf: what it exits, enters and arms."""

    target: str
    exited: tuple[str, ...]
    entered: tuple[str, ...]
    stayed: tuple[str, ...]
    final: bool
    outcome: str | None
    checklist: tuple[str, ...]
    """Items of the exited states that must be ticked (when the transition checks them)."""
    timers: tuple[Armed, ...]
    """Timers of the entered states, outermost state first, as `plan_timers` arms them."""
    dated: bool
    """Whether a state the case stays in counts a timer from a date field."""


@dataclass(frozen=True)
class Step:
    """One candidate of a trigger in one leaf state: the transition, its plan, its move."""

    transition: CompiledTransition
    plan: TransitionPlan
    move: Move


class _Book:
    """The plans of one compiled workflow, built as they are first asked for (only for
    a state and trigger the workflow's table holds, so a caller cannot make it grow)."""

    def __init__(self) -> None:
        self.plans: dict[int, TransitionPlan] = {}
        self.steps: dict[tuple[str, str], tuple[Step, ...]] = {}


def _book(wf: CompiledWorkflow) -> _Book:
    found = wf.__dict__.get("_decision_plans")
    if found is None:
        found = _Book()
        # The workflow is frozen and immutable; its plans are a cache of what it implies.
        object.__setattr__(wf, "_decision_plans", found)
    return found


def plan(wf: CompiledWorkflow, t: CompiledTransition) -> TransitionPlan:
    """The plan of `t` (built on first use)."""
    book = _book(wf)
    found = book.plans.get(t.index)
    if found is None or found.transition is not t:
        found = _plan(wf, t)
        book.plans[t.index] = found
    return found


def _plan(wf: CompiledWorkflow, t: CompiledTransition) -> TransitionPlan:
    effects = tuple(_effect(name, wf.fields[name], expr) for name, expr in t.effects.items())
    fields = t.fields
    typed = None if fields is None else tuple(
        (name, wf.fields[name].type) for name in fields if name in wf.fields)
    plain = t.names <= PLAIN
    flat = _flat_plan(t, effects) if plain else None
    return TransitionPlan(
        transition=t, conditions=tuple(c.guard.program for c in t.conditions),
        effects=effects, evaluates=bool(t.conditions or t.effects),
        plain=plain, roots=t.names, fields=typed,
        programs=tuple(effect.program for effect in effects),
        flat=flat, direct=_direct(t.names, typed, flat))


def _direct(roots: frozenset[str], typed: tuple[tuple[str, str], ...] | None,
            flat: FlatPlan | None) -> tuple[tuple[str, str], ...] | None:
    """`TransitionPlan.direct` (None: not every read is such a member)."""
    kinds = dict(typed or ())
    if flat is None or roots != {"data"} or typed is None or any(
            root != "data" or kinds.get(member) in (None, "date", "datetime")
            for root, member, _ in flat.reads):
        return None
    return tuple((member, name) for _, member, name in flat.reads)


def _flat_plan(t: CompiledTransition, effects: tuple[Effect, ...]) -> FlatPlan | None:
    """The flat form of every condition and (run) effect of `t`; None unless all have one."""
    conditions = tuple(c.guard.flat for c in t.conditions)
    run = [(effect, t.effects[effect.name].flat) for effect in effects]
    if any(f is None for f in conditions) or any(f is None for e, f in run if not e.folded):
        return None
    flats = [f for f in (*conditions, *(f for _, f in run)) if f is not None]
    return FlatPlan(conditions=tuple(f.program for f in flats[:len(conditions)]),
                    programs=tuple(None if e.folded or f is None else f.program
                                   for e, f in run),
                    reads=merged_reads(flats))


def _effect(name: str, spec: FieldSpec, expression: CompiledExpression) -> Effect:
    """An effect; a literal one (no variable, no function, not even an operator) is
    evaluated and checked now, exactly as `engine.core.guards.evaluate_effects` would."""
    program = expression.program
    if program.variables() or program.functions():
        return Effect(name, spec, program)
    try:
        result = program.execute(cel.Context())
    except Exception:  # left to the evaluation at decision time, which reports it
        return Effect(name, spec, program)
    if type(result) not in _LITERALS:
        return Effect(name, spec, program)
    raw = from_cel(spec, result)
    if raw is None:
        return Effect(name, spec, program, True, spec.default)
    value, found = check_value(name, spec, raw)
    return Effect(name, spec, program, True, value, found is None)


def move(wf: CompiledWorkflow, source: str, t: CompiledTransition) -> Move:
    """The move `t` makes from leaf `source`."""
    target = wf.leaf(t.spec.to)
    exited, entered = wf.moves(source, t.spec.to)
    stayed = tuple(s for s in wf.lineage(target) if s not in entered)
    info = wf.states[target].spec
    items = tuple(item for state in exited for item in wf.states[state].spec.checklist)
    return Move(
        target=target, exited=tuple(exited), entered=tuple(entered), stayed=stayed,
        final=info.final, outcome=info.outcome,
        checklist=items if t.spec.check_checklist else (),
        timers=tuple(armed(state, timer) for state in entered
                     for timer in wf.states[state].spec.timers),
        dated=any(timer.relative_to != "entry" for state in stayed
                  for timer in wf.states[state].spec.timers))


def steps(wf: CompiledWorkflow, state: str, trigger: str) -> tuple[Step, ...]:
    """The candidates of `trigger` in leaf `state` with their plans, in the order they are
    tried; none when the state is final or unknown or the trigger leaves it nowhere."""
    book = _book(wf)
    key = (state, trigger)
    found = book.steps.get(key)
    if found is None:
        candidates = wf.table.get(key)
        if not candidates:
            return ()
        info = wf.states.get(state)
        found = () if info is None or info.spec.final or trigger not in wf.trigger_titles \
            else tuple(Step(t, plan(wf, t), move(wf, state, t)) for t in candidates)
        book.steps[key] = found
    return found


def passing(wf: CompiledWorkflow, case: CaseSnapshot, trigger: str, values: Mapping[str, Any],
            actor: Actor, now: datetime, params: Mapping[str, Any]
            ) -> tuple[Step, dict[str, Any], dict[str, Any], str | None] | None:
    """The first candidate of `trigger` that passes (its step, checked input, changes and
    the actor's role), as the straightforward path would find it; None when none does or
    when anything is out of the ordinary, so that the caller takes that path (which
    builds the refusal)."""
    if case.status != "active":
        return None
    try:
        for step in steps(wf, case.state, trigger):
            found = _passes(wf, case, step, values, actor, now, params)
            if found is not None:
                return (step, *found)
    except Exception:  # the straightforward path meets it too, and answers for it
        return None
    return None


def _passes(wf: CompiledWorkflow, case: CaseSnapshot, step: Step, values: Mapping[str, Any],
            actor: Actor, now: datetime, params: Mapping[str, Any]
            ) -> tuple[dict[str, Any], dict[str, Any], str | None] | None:
    """`step`'s checked input, changes and role when it passes; None when it is refused."""
    t = step.transition
    fields = t.spec.input
    if fields or values:
        clean, problems = check_values(fields, values)
        if problems:
            return None
    else:
        clean = {}
    allowed, role = transition_role(t, actor)
    if not allowed:
        return None
    planned = step.plan
    context, conditions, programs = (_context(wf, planned, case, now, params, clean)
                                     if planned.evaluates else (None, (), ()))
    for program in conditions:
        try:
            if program.execute(context) is not True:
                return None
        except Exception:  # a guard that cannot be evaluated refuses
            return None
    ticked = case.checklist
    for item in step.move.checklist:
        if not ticked.get(item):
            return None
    data = case.data
    changes: dict[str, Any] = {}
    for effect, program in zip(planned.effects, programs, strict=True):
        if effect.folded:
            if not effect.valid:
                return None
            value = effect.value
        else:
            try:
                result = program.execute(context)
            except Exception:  # an effect that cannot be evaluated refuses
                return None
            spec = effect.spec
            raw = from_cel(spec, result)
            if raw is None:
                value = spec.default
            else:
                value, problem = check_value(effect.name, spec, raw)
                if problem is not None:
                    return None
        if value != data.get(effect.name):
            changes[effect.name] = value
    return clean, changes, role


def _context(wf: CompiledWorkflow, planned: TransitionPlan, case: CaseSnapshot, now: datetime,
             params: Mapping[str, Any], clean: Mapping[str, Any]
             ) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
    """The CEL context of a decision, with the programs of the conditions and the effects
    to run in it: their flat forms when every member they read has a value."""
    if planned.direct is not None and planned.flat is not None:
        data, read = case.data, {}
        for member, name in planned.direct:
            read[name] = data.get(member)
        if None not in read.values():  # else a member has no value: as below, nested
            return cel.Context(variables=read), planned.flat.conditions, planned.flat.programs
    t = planned.transition
    given = to_cel(t.spec.input, clean) if clean else {}
    if not planned.plain:
        context = environment(wf, case, now, params, t.names, t.fields, given).context
        return context, planned.conditions, planned.programs
    variables = bindings(wf, planned, case, now, params, given)
    flat = planned.flat
    if flat is not None:
        values = flat_variables(variables, flat.reads)
        if values is not None:
            return cel.Context(variables=values), flat.conditions, flat.programs
    return cel.Context(variables=variables), planned.conditions, planned.programs


class Reads(Protocol):
    """What `bindings` needs to know of the expressions it prepares for."""

    @property
    def roots(self) -> frozenset[str]: ...

    @property
    def fields(self) -> tuple[tuple[str, str], ...] | None: ...


def bindings(wf: CompiledWorkflow, planned: Reads, case: CaseSnapshot, now: datetime,
             params: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The CEL variables a plain transition's expressions read, as
    `engine.language.expressions.Environment` builds them (a test holds the two equal)."""
    roots = planned.roots
    found: dict[str, Any] = {}
    if "data" in roots:
        data = case.data
        if planned.fields is None:
            found["data"] = to_cel(wf.fields, data)
        else:
            converted: dict[str, Any] = {}
            for name, kind in planned.fields:
                value = data.get(name)
                if value is None:
                    continue
                if kind == "date":
                    converted[name] = to_cel_time(date.fromisoformat(value))
                elif kind == "datetime":
                    converted[name] = to_cel_time(datetime.fromisoformat(value))
                else:
                    converted[name] = value
            found["data"] = converted
    if "input" in roots:
        found["input"] = dict(given)
    if "params" in roots:
        found["params"] = dict(params)
    if "checklist" in roots:
        ticked = case.checklist
        found["checklist"] = {item: bool(ticked.get(item)) for item in wf.checklist_of(case.state)}
    if "now" in roots or "today" in roots:
        moment = to_cel_time(now)
        if "now" in roots:
            found["now"] = moment
        if "today" in roots:
            found["today"] = china_date(moment)
    if "entered_at" in roots or "entered_on" in roots:
        entered = to_cel_time(case.entered_at)
        if "entered_at" in roots:
            found["entered_at"] = entered
        if "entered_on" in roots:
            found["entered_on"] = china_date(entered)
    if "state" in roots:
        found["state"] = case.state
    return found
