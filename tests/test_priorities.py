"""A case's priority (engine.core.priorities) is the one engine.core.guards.priority gives.

The quick path evaluates a plain priority over flat names from the values the decision
plans prepare, without an expression environment; these hold it equal to the environment's
answer on random cases of every shipped and fixture workflow (members present or not), and
hold the environment `guards.environment` builds without its frozen init equal to the one
`Environment(...)` builds."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decision_properties import START, WORKFLOWS, cases_at

from engine.core import guards
from engine.core.decision import CaseSnapshot, environment
from engine.core.priorities import priority
from engine.core.snapshot import LinkedCase
from engine.language.environment import Environment


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(WORKFLOWS)))
def test_the_quick_priority_is_the_environments(data: st.DataObject, name: str) -> None:
    wf = WORKFLOWS[name]
    params = wf.resolve_params()
    case, moment = data.draw(cases_at(wf), label="case")

    assert priority(wf, case, moment, params) == guards.priority(wf, case, moment, params)


def test_some_shipped_priorities_take_the_quick_path() -> None:
    from engine.core.priorities import _planned

    assert any(_planned(wf) is not None for wf in WORKFLOWS.values())


def test_the_environment_is_the_one_its_init_makes() -> None:
    wf = WORKFLOWS[sorted(WORKFLOWS)[0]]
    case = CaseSnapshot(wf.initial, {}, START, {},
                        (LinkedCase("c2", "member_development", "probation"),))

    made = environment(wf, case, START, wf.resolve_params(), frozenset({"data"}),
                       frozenset(), {"by": 1})
    init = Environment(**{f.name: getattr(made, f.name) for f in dataclasses.fields(made)})

    assert made == init
    assert made.__dict__ == init.__dict__
    assert list(made.__dict__) == list(init.__dict__)
