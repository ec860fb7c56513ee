"""The planned path of `decide` (engine.core.plans) agrees with the straightforward one.

`decide` finds the passing candidate from per-transition plans built once per workflow and
leaves every refusal to `decide_plainly`; these properties hold the two equal on random
walks and random cases of every shipped and fixture workflow, and hold the CEL values the
plans build equal to those of the expression environment.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decision_properties import (
    ACTORS,
    START,
    WORKFLOWS,
    Decision,
    cases_at,
    decisions,
    first_snapshot,
    inputs_for,
    links,
)

from engine.core.change import Change
from engine.core.compiler import compile_workflow
from engine.core.decision import (
    Actor,
    CaseSnapshot,
    Refusal,
    Transition,
    decide,
    decide_plainly,
    environment,
)
from engine.core.operations import fire
from engine.core.plans import bindings, passing, plan
from engine.core.snapshot import LinkedCase, TimerPlan, made, moved_to
from engine.core.timer_plans import _timer_due, arm, armed
from engine.language.spec import TimerSpec, WorkflowSpec
from engine.language.values import to_cel


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_decide_agrees_with_decide_plainly_along_random_walks(data: st.DataObject,
                                                              name: str) -> None:
    wf = WORKFLOWS[name]
    case = first_snapshot(wf)
    now = START
    for _ in range(data.draw(st.integers(5, 30), label="steps")):
        leaving = [t for t in wf.triggers if wf.candidates(case.state, t)]
        trigger = data.draw(st.sampled_from(leaving or [*wf.triggers]), label="trigger")
        candidates = wf.candidates(case.state, trigger)
        given_input = data.draw(inputs_for(dict(candidates[0].spec.input) if candidates
                                           else {}), label="input")
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        ticks = {i: data.draw(st.sampled_from([True, True, False]), label=f"tick {i}")
                 for i in sorted(wf.checklist_of(case.state))}
        case = CaseSnapshot(case.state, case.data, case.entered_at, ticks,
                            data.draw(links(), label="links"))
        now += timedelta(days=data.draw(st.integers(0, 20), label="days"))

        outcome = decide(wf, case, trigger, given_input, actor, now, comment="c")

        assert outcome == decide_plainly(wf, case, trigger, given_input, actor, now,
                                         comment="c")
        if isinstance(outcome, Transition):
            case = CaseSnapshot(outcome.to_state, outcome.data,
                                now if outcome.entered else case.entered_at, {}, case.links)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decision=decisions(("active", "active", "suspended", "closed")))
def test_decide_agrees_with_decide_plainly_on_random_cases(decision: Decision) -> None:
    wf, case, trigger, given_input, actor = decision

    assert (decide(wf, case, trigger, given_input, actor, START)
            == decide_plainly(wf, case, trigger, given_input, actor, START))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_the_planned_cel_values_are_those_of_the_expression_environment(
        data: st.DataObject, name: str) -> None:
    wf = WORKFLOWS[name]
    params = wf.resolve_params()
    case, moment = data.draw(cases_at(wf), label="case")
    for t in wf.transitions:
        planned = plan(wf, t)
        if not planned.plain:
            continue
        values = data.draw(inputs_for(dict(t.spec.input)), label=f"input {t.index}")
        given_cel = to_cel(t.spec.input, values)
        env = environment(wf, case, moment, params, t.names, t.fields, given_cel)
        expected = {k: v for k, v in env._variables(t.names).items() if k in t.names}

        assert bindings(wf, planned, case, moment, params, given_cel) == expected


def test_the_planned_cel_values_hide_fields_the_workflow_does_not_declare() -> None:
    wf = WORKFLOWS["branch_building"]
    case = CaseSnapshot("approval", {"org_name": "x", "retired_field": 1}, START)
    seen = [bindings(wf, plan(wf, t), case, START, wf.resolve_params(), {})
            for t in wf.candidates("approval", "certify")]

    assert seen and all("retired_field" not in b.get("data", {}) for b in seen)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_armed_timers_fall_due_when_the_timer_rule_says(data: st.DataObject, name: str) -> None:
    wf = WORKFLOWS[name]
    params = wf.resolve_params({p: data.draw(st.integers(1, 30), label=p)
                                for p, spec in wf.spec.parameters.items()
                                if spec.type == "integer"})
    stored = data.draw(inputs_for({k: v for k, v in wf.fields.items()
                                   if v.type in ("date", "datetime")}), label="data")
    moment = START + timedelta(hours=data.draw(st.integers(0, 24 * 300), label="hours"))
    for state, info in wf.states.items():
        for timer in info.spec.timers:
            due = _timer_due(timer, stored, moment, params)
            expected = () if due is None else tuple(
                TimerPlan(state, timer.id, due, action, timer.trigger, timer.repeat)
                for action in timer.actions)

            assert arm((armed(state, timer),), stored, moment, params) == expected


def test_armed_timers_of_every_rule_fall_due_as_the_rule_says() -> None:
    params = {"n": 4, "span": "P2W", "how": "calendar"}
    data = {"signed_on": "2026-01-30", "met_at": "2026-02-03T10:00:00+00:00"}
    rules: list[dict[str, Any]] = [
        {"working_days": 3}, {"working_days": "params.n"}, {"days": 2},
        {"days": "params.n", "counting": "params.how"}, {"duration": "P1M"},
        {"duration": "params.span"}, {"working_days": 2, "relative_to": "signed_on"},
        {"days": 1, "relative_to": "met_at"}, {"working_days": 1, "relative_to": "gone"},
        {"working_days": 0, "action": ["mark_overdue", "escalate"]},
    ]
    for rule in rules:
        timer = TimerSpec.model_validate({"id": "t", "action": "mark_overdue", **rule})
        due = _timer_due(timer, data, START, params)
        expected = () if due is None else tuple(
            TimerPlan("s", "t", due, action, timer.trigger, timer.repeat)
            for action in timer.actions)

        assert arm((armed("s", timer),), data, START, params) == expected, rule


def test_made_builds_what_the_frozen_dataclass_init_builds() -> None:
    values = {"state": "open", "timer_id": "due", "due_at": START, "action": "fire",
              "trigger": None, "repeat": False}
    transition = {"trigger": "go", "from_state": "open", "to_state": "shut", "data": {},
                  "changes": {}, "role": None, "event": {}, "arm": (), "exited": ("open",),
                  "entered": ("shut",), "final": True, "outcome": "done",
                  "moved": frozenset(), "rearm": ()}

    for cls, fields in ((TimerPlan, values), (Transition, transition)):
        assert {f.name for f in dataclasses.fields(cls)} == set(fields)
        assert made(cls, **fields) == cls(**fields)
        assert made(cls, **fields).__dict__ == cls(**fields).__dict__


def _workflow(effects: dict[str, str], guard: str | None = None) -> Any:
    spec = WorkflowSpec.model_validate({
        "id": "literal_effects", "version": "1.0.0", "title": {"en": "Literal effects"},
        "fields": {"count": {"type": "integer", "min": 0, "default": 0},
                   "flag": {"type": "boolean"}, "word": {"type": "string", "max_length": 3}},
        "states": {"open": {"initial": True}, "shut": {"final": True, "outcome": "done"}},
        "transitions": [{"trigger": "go", "from": "open", "to": "shut", "effects": effects,
                         **({"guard": guard} if guard else {})}],
    })
    return compile_workflow(spec)


def test_a_literal_effect_is_evaluated_once_and_sets_its_value() -> None:
    wf = _workflow({"count": "7", "flag": "true", "word": "'abc'"})
    case = CaseSnapshot("open", {"count": 0}, START)
    actor = Actor("li", frozenset({"caseworker"}))

    outcome = decide(wf, case, "go", {}, actor, START)

    assert all(e.folded for e in plan(wf, wf.transitions[0]).effects)
    assert isinstance(outcome, Transition)
    assert outcome.changes == {"count": 7, "flag": True, "word": "abc"}
    assert outcome == decide_plainly(wf, case, "go", {}, actor, START)


def test_a_literal_effect_its_field_refuses_is_refused_as_before() -> None:
    wf = _workflow({"count": "-1", "word": "'abcd'"})
    case = CaseSnapshot("open", {"count": 0}, START)
    actor = Actor("li", frozenset({"caseworker"}))

    outcome = decide(wf, case, "go", {}, actor, START)

    assert passing(wf, case, "go", {}, actor, START, {}) is None
    assert isinstance(outcome, Refusal) and outcome.code == "effect_invalid"
    assert outcome == decide_plainly(wf, case, "go", {}, actor, START)


def test_a_guard_that_cannot_be_evaluated_is_refused_as_before() -> None:
    wf = _workflow({"count": "data.count + 1"}, guard="data.count / 0 > 1")
    case = CaseSnapshot("open", {"count": 3}, START)
    actor = Actor("li", frozenset({"caseworker"}))

    outcome = decide(wf, case, "go", {}, actor, START)

    assert isinstance(outcome, Refusal) and outcome.code == "guard_error"
    assert outcome == decide_plainly(wf, case, "go", {}, actor, START)


def test_an_effect_that_overflows_is_refused_as_before() -> None:
    wf = _workflow({"count": "data.count * 9223372036854775807"})
    case = CaseSnapshot("open", {"count": 3}, START)
    actor = Actor("li", frozenset({"caseworker"}))

    outcome = decide(wf, case, "go", {}, actor, START)

    assert isinstance(outcome, Refusal) and outcome.code == "effect_invalid"
    assert outcome == decide_plainly(wf, case, "go", {}, actor, START)


def test_the_snapshot_after_a_move_is_the_one_init_makes_with_the_other_defaults() -> None:
    links = (LinkedCase("c2", "other", "open"),)
    fast = moved_to("shut", {"count": 1}, START, links)
    slow = CaseSnapshot(state="shut", data={"count": 1}, entered_at=START, links=links)
    assert fast == slow
    assert fast.__dict__ == slow.__dict__
    assert list(fast.__dict__) == [f.name for f in dataclasses.fields(CaseSnapshot)]


def test_a_transitions_change_is_the_one_init_makes_with_the_other_defaults() -> None:
    wf = _workflow({"count": "data.count + 1"})
    case = CaseSnapshot(state="open", data={"count": 0}, entered_at=START)
    change = fire(wf, case, "go", {}, Actor("u", frozenset({"caseworker"})), START,
                  wf.resolve_params())
    assert isinstance(change, Change)
    made_by_init = Change(event=change.event, values=change.values, effects=change.effects,
                          moved=change.moved)
    assert change == made_by_init
    assert change.__dict__ == made_by_init.__dict__
    assert list(change.__dict__) == list(made_by_init.__dict__)
