"""Expressions over flat names (engine.language.flat) answer as the nested ones do.

An expression that reads the maps only through their members is also compiled with each
`root.member` as one variable, and evaluated against the members' values when all of them
have one (the CEL binding converts a map of Python values far more slowly than the values
alone). These hold the flat form to the nested one: which expressions have one, and the
same answer, or the same failure, for every expression of every shipped and fixture
workflow on random cases.
"""

from __future__ import annotations

from typing import Any

import cel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decision_properties import WORKFLOWS, cases_at, inputs_for

from engine.core.compiler import CompiledWorkflow
from engine.core.decision import environment
from engine.core.plans import plan
from engine.language.expressions import CompiledExpression, EvaluationError
from engine.language.flat import flat_variables, flattened
from engine.language.values import to_cel


def test_each_member_read_becomes_one_flat_variable() -> None:
    source = "data.count < params.limit && data.count + input.by > 0"

    flat = flattened(source, cel.compile(source))

    assert flat is not None
    assert flat.reads == (("data", "count", "data__count"), ("params", "limit", "params__limit"),
                          ("input", "by", "input__by"))
    assert sorted(flat.program.variables()) == ["data__count", "input__by", "params__limit"]


def test_a_member_named_inside_a_string_stays_in_the_string() -> None:
    source = "data.name == 'data.name'"

    flat = flattened(source, cel.compile(source))

    assert flat is not None
    assert flat.program.execute({"data__name": "data.name"}) is True


@pytest.mark.parametrize("source", [
    "has(data.note)", "size(data) > 0", "data.size() > 0", "data['count'] == 1",
    "[1, 2].all(data, data > 0)", "checklist.a || size(checklist) == 0",
])
def test_an_expression_reading_a_map_otherwise_than_by_its_members_has_no_flat_form(
        source: str) -> None:
    assert flattened(source, cel.compile(source)) is None


def test_an_expression_reading_no_map_is_its_own_flat_form() -> None:
    program = cel.compile("now > entered_at")

    flat = flattened("now > entered_at", program)

    assert flat is not None and flat.program is program and flat.reads == ()


def test_a_member_without_a_value_leaves_the_answer_to_the_nested_form() -> None:
    reads = (("data", "count", "data__count"), ("params", "limit", "params__limit"))

    assert flat_variables({"data": {}, "params": {"limit": 3}}, reads) is None
    assert flat_variables({"data": {"count": 1}, "params": {"limit": None}, "now": 0},
                          reads) == {"data__count": 1, "params__limit": None, "now": 0}


def test_plain_transitions_reading_members_are_planned_flat() -> None:
    planned = [plan(wf, t) for wf in WORKFLOWS.values() for t in wf.transitions]

    assert any(p.flat is not None and p.flat.reads for p in planned)
    assert all(p.flat is None for p in planned if not p.plain)


def _expressions(wf: CompiledWorkflow) -> list[CompiledExpression]:
    found = [c.guard for t in wf.transitions for c in t.conditions]
    found += [e for t in wf.transitions for e in t.effects.values()]
    return found + ([wf.priority] if wf.priority is not None else [])


def _answer(expression: CompiledExpression, env: Any, alone: bool) -> Any:
    try:
        value = expression.evaluate_alone(env) if alone else expression.evaluate(env)
    except EvaluationError as error:
        return ("error", error.en, error.zh, error.missing)
    return (type(value), value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_every_expression_answers_flat_as_it_answers_nested(data: st.DataObject,
                                                            name: str) -> None:
    wf = WORKFLOWS[name]
    params = wf.resolve_params()
    case, moment = data.draw(cases_at(wf), label="case")
    for t in wf.transitions:
        values = data.draw(inputs_for(dict(t.spec.input)), label=f"input {t.index}")
        given_cel = to_cel(t.spec.input, values)
        for expression in (*(c.guard for c in t.conditions), *t.effects.values()):
            env = environment(wf, case, moment, params, expression.names, expression.fields,
                              given_cel)
            nested = environment(wf, case, moment, params, expression.names,
                                 expression.fields, given_cel)

            assert _answer(expression, env, True) == _answer(expression, nested, False)
    if wf.priority is not None:
        expression = wf.priority
        env = environment(wf, case, moment, params, expression.names, expression.fields)
        nested = environment(wf, case, moment, params, expression.names, expression.fields)

        assert _answer(expression, env, True) == _answer(expression, nested, False)


def test_most_expressions_of_the_shipped_workflows_have_a_flat_form() -> None:
    expressions = [e for wf in WORKFLOWS.values() for e in _expressions(wf)]

    assert sum(e.flat is not None for e in expressions) > len(expressions) // 2
