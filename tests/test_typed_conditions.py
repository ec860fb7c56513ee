"""Conditions on recorded input are read as the field's declared type, and no recorded
value can make the database fail one (SQLite and PostgreSQL): a boolean is a boolean,
`00123` in a text field stays text, `nan` is not a number, and a number condition passes
over rows that recorded the same name as text."""

from __future__ import annotations

import pytest
from conftest import CASEWORKER, COMMUNITY

from engine.audit.conditions import TypedConditionError, stored_workflows, typed_condition
from engine.audit.filters import InputCondition
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService

FORMS = """\
id: {id}
version: 1.0.0
title: {{en: Forms}}
fields:
  code: {{type: {code}}}
  count: {{type: integer}}
  flag: {{type: boolean}}
  day: {{type: date}}
states:
  open: {{initial: true}}
  done: {{final: true, outcome: done}}
transitions:
  - {{trigger: finish, from: open, to: done}}
"""


@pytest.fixture
def forms(registry: WorkflowRegistry, service: CaseService) -> list[object]:
    registry.register_text(FORMS.format(id="forms_text", code="string"), "text.yaml")
    registry.register_text(FORMS.format(id="forms_number", code="integer"), "number.yaml")
    for data in ({"code": "00123", "count": 3, "flag": True, "day": "2026-07-01"},
                 {"code": "123", "count": 30, "flag": False, "day": "2026-08-01"},
                 {"code": "abc", "count": 7}):
        service.start_case("forms_text", data, actor=CASEWORKER, community=COMMUNITY)
    for code in (5, 50):
        service.start_case("forms_number", {"code": code}, actor=CASEWORKER,
                           community=COMMUNITY)
    return list(stored_workflows(registry, service.engine, "forms_text"))


def found(service: CaseService, condition: InputCondition) -> list[dict[str, object]]:
    events, _ = service.list_events(conditions=[condition])
    return [e.input for e in events]


def test_a_boolean_condition_finds_what_was_recorded_true(service: CaseService,
                                                         forms: list[object]) -> None:
    condition = typed_condition("flag=true", forms)  # type: ignore[arg-type]
    assert condition == InputCondition("flag", "=", True)
    assert [e["code"] for e in found(service, condition)] == ["00123"]


def test_digits_in_a_text_field_stay_text(service: CaseService, forms: list[object]) -> None:
    condition = typed_condition("code=00123", forms)  # type: ignore[arg-type]
    assert condition.value == "00123"
    assert [e["code"] for e in found(service, condition)] == ["00123"]


def test_numbers_and_dates_compare_in_order(service: CaseService, forms: list[object]) -> None:
    assert [e["count"] for e in found(service, typed_condition(
        "count>5", forms))] == [30, 7]  # type: ignore[arg-type]
    assert [e["code"] for e in found(service, typed_condition(
        "day>=2026-07-15", forms))] == ["123"]  # type: ignore[arg-type]


def test_a_number_condition_passes_over_rows_that_recorded_text(service: CaseService,
                                                                forms: list[object]) -> None:
    assert sorted(e["code"] for e in found(service, InputCondition("code", ">", 10.0))) == [50]
    assert [e["code"] for e in found(service, InputCondition("code", "=", "5"))] == []


@pytest.mark.parametrize(("text", "code"), [
    ("count=nan", "condition_value"), ("count=inf", "condition_value"),
    ("count=many", "condition_value"), ("flag=yes", "condition_value"),
    ("day=0001-01-01", "condition_value"), ("code>5", "condition_operator"),
    ("shoe_size=42", "unknown_input_field"),
])
def test_a_value_not_of_the_fields_type_is_refused_saying_why(
        forms: list[object], text: str, code: str) -> None:
    with pytest.raises(TypedConditionError) as refused:
        typed_condition(text, forms)  # type: ignore[arg-type]
    assert refused.value.code == code


def test_a_name_two_workflows_record_as_different_kinds_needs_the_workflow(
        registry: WorkflowRegistry, service: CaseService, forms: list[object]) -> None:
    everything = stored_workflows(registry, service.engine)
    with pytest.raises(TypedConditionError) as refused:
        typed_condition("code=5", everything)
    assert refused.value.code == "ambiguous_input_field"
