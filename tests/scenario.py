"""A tiny in-memory community for scenario tests: the pure decision function plus a moved clock.

`Community` plays the shell's part without a database, so that the shipped workflows can be
walked through as a caseworker would (given / when / then) before the service exists:

- `start`, `fire` and `tick` go through `engine.core.decision` exactly as the service will;
- after every change the case and the cases linked to it run their automatic transitions
  until none applies (`automatic_step`), as DESIGN.md asks of the one door;
- timers are the `TimerPlan`s a transition arms; leaving a state cancels its timers; `advance`
  moves a `FrozenClock` and fires what falls due on the way, in due order, as `system:timer`
  (a `fire` timer whose guard refuses is recorded and dropped; `repeat` timers re-arm one
  period after their previous due time);
- links are made explicitly with `link`, as the service makes them (a `reference` field only
  records the other case's id).

Everything lives in plain dictionaries; nothing here is meant for production.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine.clock import FrozenClock
from engine.core.compiler import CompiledWorkflow
from engine.core.decision import (
    Actor,
    CaseSnapshot,
    LinkedCase,
    Start,
    TimerPlan,
    Transition,
    automatic_step,
    decide,
    start,
)
from engine.definitions.loader import load_file
from engine.errors import Refusal, Refused
from engine.timers.calendar import add_duration, default_calendar, parse_duration

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
TIMER = Actor("system:timer")
MAX_AUTOMATIC_STEPS = 100


@dataclass
class Case:
    """One case as the shell would hold it: state, data, checklist, timers, history."""

    id: str
    wf: CompiledWorkflow
    state: str
    data: dict[str, Any]
    entered_at: datetime
    checklist: dict[str, bool] = field(default_factory=dict)
    timers: dict[str, tuple[int, TimerPlan]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    overdue: set[str] = field(default_factory=set)
    escalations: list[str] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.wf.states[self.state].final

    def triggers(self) -> list[str | None]:
        """The triggers of the transitions recorded so far, in order (starts are None)."""
        return [e.get("trigger") for e in self.history if e["kind"] in ("start", "transition")]

    def within(self, state: str) -> bool:
        """Whether the case rests in `state` or in a step nested inside it."""
        return state in self.wf.lineage(self.state)


class Community:
    """Cases of several workflows, their links and one clock, driven through `decide`."""

    def __init__(self, start_at: datetime,
                 params: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.clock = FrozenClock(start_at)
        self.cases: dict[str, Case] = {}
        self._links: dict[str, dict[str, str]] = {}
        self._workflows: dict[str, CompiledWorkflow] = {}
        self._overrides = {k: dict(v) for k, v in (params or {}).items()}
        self._ids = itertools.count(1)
        self._arming = itertools.count()

    # -- definitions ------------------------------------------------------------------------

    def workflow(self, workflow_id: str) -> CompiledWorkflow:
        """The shipped workflow `workflow_id`, loaded and compiled once."""
        if workflow_id not in self._workflows:
            result = load_file(WORKFLOWS / f"{workflow_id}.yaml")
            assert result.compiled is not None, [d.format() for d in result.errors]
            self._workflows[workflow_id] = result.compiled
        return self._workflows[workflow_id]

    def params(self, wf: CompiledWorkflow) -> dict[str, Any]:
        return wf.resolve_params(self._overrides.get(wf.id))

    # -- time -------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta | None = None, *, to: datetime | None = None) -> None:
        """Move the clock forward, firing every timer that falls due on the way, in order."""
        target = to if to is not None else self.now + (delta or timedelta(0))
        if target < self.now:
            raise ValueError(f"cannot go back from {self.now} to {target}")
        while True:
            due = [(plan.due_at, seq, case, key) for case in self.cases.values()
                   for key, (seq, plan) in case.timers.items() if plan.due_at <= target]
            if not due:
                break
            due_at, _, case, key = min(due, key=lambda d: (d[0], d[1]))
            self.clock.set(max(due_at, self.now))
            self._fire_timer(case, key)
        self.clock.set(target)

    def _fire_timer(self, case: Case, key: str) -> None:
        _, plan = case.timers.pop(key)
        record = {"kind": "timer", "timer": plan.timer_id, "state": plan.state,
                  "action": plan.action, "at": self.now}
        if plan.action == "mark_overdue":
            case.overdue.add(plan.timer_id)
            case.history.append(record)
        elif plan.action == "escalate":
            case.escalations.append(plan.timer_id)
            case.history.append(record)
        else:
            assert plan.trigger is not None
            outcome = decide(case.wf, self.snapshot(case), plan.trigger, {}, TIMER, self.now,
                             self.params(case.wf))
            if isinstance(outcome, Refusal):
                case.history.append({**record, "refused": outcome.code, "reason": outcome.en})
            else:
                case.history.append(record)
                self._apply(case, outcome)
                self._settle(case)
        if plan.repeat and plan.state in case.wf.lineage(case.state) and key not in case.timers:
            case.timers[key] = (next(self._arming),
                                replace(plan, due_at=self._next_due(case.wf, plan)))

    def _next_due(self, wf: CompiledWorkflow, plan: TimerPlan) -> datetime:
        spec = next(t for t in wf.states[plan.state].spec.timers if t.id == plan.timer_id)
        params = self.params(wf)

        def value(ref: int | str) -> Any:
            if isinstance(ref, str) and ref.startswith("params."):
                return params[ref.removeprefix("params.")]
            return ref

        if spec.working_days is not None:
            return default_calendar().add_working_days(plan.due_at, int(value(spec.working_days)))
        return add_duration(plan.due_at, parse_duration(str(value(spec.duration or ""))))

    # -- cases ------------------------------------------------------------------------------

    def start(self, workflow_id: str, values: Mapping[str, Any], actor: Actor) -> Case:
        """Start a case; raises `Refused` when the initial data is not valid."""
        wf = self.workflow(workflow_id)
        outcome = start(wf, values, actor, self.now, self.params(wf))
        if isinstance(outcome, Refusal):
            raise Refused(outcome)
        assert isinstance(outcome, Start)
        case = Case(f"{workflow_id}-{next(self._ids)}", wf, outcome.state, dict(outcome.data),
                    self.now)
        case.history.append(dict(outcome.event))
        for plan in outcome.arm:
            case.timers[plan.key] = (next(self._arming), plan)
        self.cases[case.id] = case
        self._settle(case)
        return case

    def attempt(self, case: Case, trigger: str, values: Mapping[str, Any] | None = None, *,
                actor: Actor, comment: str | None = None) -> Transition | Refusal:
        """Fire `trigger`; the transition made, or the refusal (and nothing changed)."""
        outcome = decide(case.wf, self.snapshot(case), trigger, dict(values or {}), actor,
                         self.now, self.params(case.wf), comment)
        if isinstance(outcome, Transition):
            self._apply(case, outcome)
            self._settle(case)
        return outcome

    def fire(self, case: Case, trigger: str, values: Mapping[str, Any] | None = None, *,
             actor: Actor, comment: str | None = None) -> Transition:
        """Fire `trigger`; raises `Refused` when the workflow refuses it."""
        outcome = self.attempt(case, trigger, values, actor=actor, comment=comment)
        if isinstance(outcome, Refusal):
            raise Refused(outcome)
        return outcome

    def tick(self, case: Case, item: str, evidence: str, *, actor: Actor) -> None:
        """Tick a checklist item of the current state (or of a stage containing it)."""
        owners = case.wf.checklist_of(case.state)
        if item not in owners:
            raise KeyError(f"'{item}' is not a checklist item of '{case.state}'")
        spec = case.wf.states[owners[item]].spec.checklist[item]
        if spec.evidence and not evidence.strip():
            raise ValueError(f"ticking '{item}' needs evidence")
        case.checklist[item] = True
        case.history.append({"kind": "checklist", "item": item, "evidence": evidence,
                             "actor": actor.id, "at": self.now})
        self._settle(case)

    def link(self, a: Case, b: Case, relation: str = "related") -> None:
        """Link two cases (both see each other in `linked(...)`)."""
        self._links.setdefault(a.id, {})[b.id] = relation
        self._links.setdefault(b.id, {})[a.id] = relation
        self._settle(a)

    def linked(self, case: Case) -> list[Case]:
        return [self.cases[other] for other in self._links.get(case.id, {})]

    def snapshot(self, case: Case) -> CaseSnapshot:
        links = tuple(LinkedCase(other.id, other.wf.id, other.state,
                                 self._links[case.id][other.id]) for other in self.linked(case))
        return CaseSnapshot(state=case.state, data=dict(case.data), entered_at=case.entered_at,
                            checklist=dict(case.checklist), links=links,
                            status="closed" if case.final else "active")

    # -- the shell's part ---------------------------------------------------------------------

    def _apply(self, case: Case, t: Transition) -> None:
        for state in t.exited:
            for item in case.wf.states[state].spec.checklist:
                case.checklist.pop(item, None)
            for key in [k for k, (_, plan) in case.timers.items() if plan.state == state]:
                del case.timers[key]
        for plan in t.arm:
            case.timers[plan.key] = (next(self._arming), plan)
        if t.to_state != t.from_state:
            case.entered_at = self.now
        case.state = t.to_state
        case.data = dict(t.data)
        case.history.append(dict(t.event))

    def _settle(self, changed: Case) -> None:
        """Run automatic transitions on `changed` and its linked cases, and on from there."""
        pending = [changed, *self.linked(changed)]
        steps = 0
        while pending:
            case = pending.pop(0)
            step = automatic_step(case.wf, self.snapshot(case), self.now, self.params(case.wf))
            if step is None:
                continue
            steps += 1
            if steps > MAX_AUTOMATIC_STEPS:
                raise AssertionError(f"automatic transitions of {case.id} did not settle")
            self._apply(case, step)
            pending.extend(c for c in (case, *self.linked(case)) if c not in pending)
