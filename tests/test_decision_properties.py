"""Properties of the decision function, checked on random walks through real workflows.

- a walk of triggers (with random input drawn from each transition's input fields, random
  checklist ticks and random linked cases) never reaches a state the definition lacks,
  and never writes a field it does not declare;
- a refused trigger changes nothing: the snapshot and the input are as they were;
- `decide` is pure: the same arguments give equal results;
- guards see exactly the declared data and the resolved parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.core.decision import (
    Actor,
    CaseSnapshot,
    LinkedCase,
    Refusal,
    Transition,
    automatic_step,
    decide,
    decide_plainly,
)
from engine.definitions.loader import load_file
from engine.language.environment import Environment
from engine.language.expressions import CompiledExpression
from engine.language.spec import FieldSpec

ROOT = Path(__file__).resolve().parent.parent
PATHS = [*sorted((ROOT / "tests" / "fixtures" / "workflows").glob("*.yaml")),
         *sorted((ROOT / "workflows").glob("*.yaml"))]
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ACTORS = [Actor("root", frozenset({"admin"})), Actor("wang", frozenset({"party_committee"})),
          Actor("li", frozenset({"caseworker"})), Actor("zhao", frozenset({"secretary"})),
          Actor("liu", frozenset({"branch_secretary"})), Actor("system:timer")]


def compiled(path: Path) -> CompiledWorkflow:
    result = load_file(path)
    assert result.ok and result.spec is not None, result.diagnostics
    ready = getattr(result, "compiled", None)
    return ready if ready is not None else compile_workflow(result.spec, result.text)


WORKFLOWS = {path.stem: compiled(path) for path in PATHS}


def value_of(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values a field accepts (mostly) — or, now and then, one it refuses."""
    low = int(spec.min) if spec.min is not None else -5
    high = int(spec.max) if spec.max is not None else 60
    kinds: dict[str, st.SearchStrategy[Any]] = {
        "integer": st.integers(low - 1, high + 1),
        "number": st.floats(low - 1, high + 1, allow_nan=False),
        "boolean": st.booleans(),
        "enum": st.sampled_from(spec.value_ids or ["x"]),
        "date": st.dates(date(2024, 1, 1), date(2025, 12, 31)).map(date.isoformat),
        "datetime": st.datetimes(datetime(2024, 1, 1), datetime(2025, 12, 31),
                                 timezones=st.just(UTC)).map(datetime.isoformat),
        "reference": st.text("abc123", min_size=1, max_size=8),
        "list": st.lists(st.text(max_size=5), max_size=6),
    }
    if spec.type in ("string", "text"):
        if spec.pattern:
            good = st.from_regex(spec.pattern, fullmatch=True)
        else:
            good = st.text(min_size=spec.min_length or 0, max_size=(spec.max_length or 20))
        return st.one_of(good, good, st.text(max_size=3))
    return kinds[spec.type]


@st.composite
def inputs_for(draw: st.DrawFn, fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """Input for a transition: each field supplied or left out, values random."""
    return {name: draw(value_of(spec)) for name, spec in fields.items()
            if draw(st.integers(0, 9)) > 0}


def links() -> st.SearchStrategy[tuple[LinkedCase, ...]]:
    one = st.builds(LinkedCase, st.text("abc", min_size=1, max_size=4),
                    st.sampled_from(["member_development", "social_org_incubation"]),
                    st.sampled_from(["full_member", "probation", "applicant"]))
    return st.lists(one, max_size=6).map(tuple)


@st.composite
def cases_at(draw: st.DrawFn, wf: CompiledWorkflow) -> tuple[CaseSnapshot, datetime]:
    """A case of `wf` in any of its states (random data, ticks, links and age) and a
    moment to decide at, up to 400 days after START."""
    state = draw(st.sampled_from(sorted(wf.states)), label="state")
    stored = draw(inputs_for(dict(wf.fields)), label="data")
    ticked = {i: draw(st.booleans()) for i in sorted(wf.checklist_of(state))}
    moment = START + timedelta(hours=draw(st.integers(0, 24 * 400)))
    case = CaseSnapshot(state, stored, START - timedelta(hours=draw(st.integers(0, 99))),
                        ticked, draw(links()))
    return case, moment


Decision = tuple[CompiledWorkflow, CaseSnapshot, str, dict[str, Any], Actor]


@st.composite
def decisions(draw: st.DrawFn, statuses: tuple[str, ...]) -> Decision:
    """A decision to take: a shipped or fixture workflow, a case in any of its states (random
    data, ticks and links, one of `statuses`), one of its triggers or an unknown one, input
    for the trigger's first candidate, and an actor."""
    wf = WORKFLOWS[draw(st.sampled_from(sorted(WORKFLOWS)))]
    state = draw(st.sampled_from(sorted(wf.states)), label="state")
    trigger = draw(st.sampled_from([*wf.triggers, "nope"]), label="trigger")
    candidates = wf.candidates(state, trigger)
    given_input = draw(inputs_for(dict(candidates[0].spec.input) if candidates else {}))
    stored = draw(inputs_for(dict(wf.fields)), label="data")
    case = CaseSnapshot(state, stored, START,
                        {i: draw(st.booleans()) for i in sorted(wf.checklist_of(state))},
                        draw(links()), draw(st.sampled_from(statuses)))
    return wf, case, trigger, given_input, draw(st.sampled_from(ACTORS), label="actor")


def first_snapshot(wf: CompiledWorkflow) -> CaseSnapshot:
    data = {name: spec.default for name, spec in wf.fields.items() if spec.default is not None}
    data.update({"org_name": "x", "name": "x", "residents_need": "y",
                 "applied_on": "2025-01-02"})
    data = {k: v for k, v in data.items() if k in wf.fields}
    return CaseSnapshot(wf.leaf(wf.initial), data, START)


def freeze(case: CaseSnapshot) -> Any:
    return copy.deepcopy((case.state, dict(case.data), dict(case.checklist), case.links,
                          case.status, case.entered_at))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_a_random_walk_stays_inside_the_definition(data: st.DataObject, name: str) -> None:
    wf = WORKFLOWS[name]
    case = first_snapshot(wf)
    now = START
    for _ in range(data.draw(st.integers(5, 40), label="steps")):
        # Mostly a trigger that leaves the current state for a state that is not final, so
        # that walks go deep; now and then any trigger at all.
        leaving = [t for t in wf.triggers if wf.candidates(case.state, t)]
        onwards = [t for t in leaving
                   if not wf.states[wf.candidates(case.state, t)[0].spec.to].final]
        anything = [*wf.triggers, "no_such_trigger"]
        pick = data.draw(st.integers(0, 9), label="pick")
        pool = (onwards if pick < 7 else leaving if pick < 9 else []) or anything
        trigger = data.draw(st.sampled_from(pool), label="trigger")
        candidates = wf.candidates(case.state, trigger)
        fields = dict(candidates[0].spec.input) if candidates else {}
        given_input = data.draw(inputs_for(fields), label="input")
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        items = sorted(wf.checklist_of(case.state))
        ticks = {i: data.draw(st.sampled_from([True, True, True, False]), label=f"tick {i}")
                 for i in items}
        case = CaseSnapshot(case.state, case.data, case.entered_at, ticks,
                            data.draw(links(), label="links"))
        now += timedelta(days=data.draw(st.integers(0, 20), label="days"))
        before, input_before = freeze(case), copy.deepcopy(given_input)

        outcome = decide(wf, case, trigger, given_input, actor, now)

        assert freeze(case) == before and given_input == input_before
        assert decide(wf, case, trigger, given_input, actor, now) == outcome
        if isinstance(outcome, Refusal):
            continue
        assert isinstance(outcome, Transition)
        assert outcome.to_state in wf.states
        assert not wf.states[outcome.to_state].children  # a case rests in a leaf
        assert set(outcome.data) <= set(wf.fields)
        assert set(outcome.changes) <= set(wf.fields)
        # A timer counted from a date field may fall due in the past; it is still armed.
        assert all(p.state in wf.states and p.due_at.tzinfo is not None for p in outcome.arm)
        assert set(outcome.exited) | set(outcome.entered) <= set(wf.states)
        if wf.states[outcome.to_state].final:
            assert outcome.final and outcome.outcome is not None
        entered_at = now if outcome.entered else case.entered_at
        case = CaseSnapshot(outcome.to_state, outcome.data, entered_at, {}, case.links)
        auto = automatic_step(wf, case, now)
        if auto is not None:
            assert auto.to_state in wf.states
            case = CaseSnapshot(auto.to_state, auto.data, now, {}, case.links)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decision=decisions(("active", "active", "suspended")))
def test_a_refused_trigger_changes_nothing_and_decide_is_pure(decision: Decision) -> None:
    wf, case, trigger, given_input, actor = decision
    before, input_before = freeze(case), copy.deepcopy(given_input)

    first = decide(wf, case, trigger, given_input, actor, START)
    second = decide(wf, copy.deepcopy(case), trigger, copy.deepcopy(given_input), actor, START)

    assert first == second
    assert freeze(case) == before and given_input == input_before
    if isinstance(first, Refusal):
        assert first.code in {
            "unknown_trigger", "not_allowed_from_state", "role_missing", "input_invalid",
            "guard_false", "guard_error", "checklist_incomplete", "case_suspended",
            "case_closed", "effect_invalid", "calendar_not_covered"}


@contextmanager
def watching_guards() -> Iterator[list[Environment]]:
    """Record the environment of every expression evaluated inside the block."""
    seen: list[Environment] = []
    original = CompiledExpression.evaluate

    def spy(self: CompiledExpression, env: Any) -> Any:
        if isinstance(env, Environment):
            seen.append(env)
        return original(self, env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CompiledExpression, "evaluate", spy)
        yield seen


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_guards_see_exactly_the_declared_data_and_the_resolved_parameters(
        data: st.DataObject, name: str) -> None:
    wf = WORKFLOWS[name]
    overrides = {p: data.draw(st.integers(1, 9)) for p, spec in wf.spec.parameters.items()
                 if spec.type == "integer" and data.draw(st.booleans())}
    params = wf.resolve_params(overrides)
    state = data.draw(st.sampled_from(sorted(wf.states)), label="state")
    trigger = data.draw(st.sampled_from(list(wf.triggers)), label="trigger")
    candidates = wf.candidates(state, trigger)
    given_input = data.draw(inputs_for(dict(candidates[0].spec.input) if candidates else {}))
    stored = data.draw(inputs_for(dict(wf.fields)), label="data")
    case = CaseSnapshot(state, stored, START, {}, data.draw(links()))
    # The straightforward path, whose expressions see an `Environment`; the planned path
    # hands CEL the same values (tests/test_decision_plans.py).
    with watching_guards() as seen:
        decide_plainly(wf, case, trigger, given_input, Actor("root", frozenset({"admin"})),
                       START, params)
    for env in seen:
        assert set(env.data) <= set(wf.fields)
        # only the fields the conditions and effects read are prepared (all when they
        # use `data` as a whole)
        assert set(env.data) == {k for k, v in stored.items() if v is not None
                                 and k in wf.fields
                                 and (env.fields is None or k in env.fields)}
        assert dict(env.params) == params
        assert env.state == state
        if candidates:
            assert set(env.input) <= set(candidates[0].spec.input)


def test_guards_do_not_see_fields_the_workflow_does_not_declare() -> None:
    wf = WORKFLOWS["branch_building"]
    case = CaseSnapshot("approval", {"org_name": "x", "retired_field": 1}, START)
    with watching_guards() as seen:
        decide_plainly(wf, case, "certify", {}, Actor("root", frozenset({"admin"})), START)
    assert seen and all("retired_field" not in env.data for env in seen)
