"""Texts that name values: placeholders are checked when a definition loads, located, and
filled as people read them."""

from __future__ import annotations

from engine.definitions.loader import load_text
from engine.language.spec import FieldSpec, Text
from engine.language.texts import Values, fill, placeholders, shown

BASE = """id: texts
version: 1.0.0
title: {title}
parameters:
  max_budget: {{type: integer, default: 50000}}
fields:
  budget: {{type: integer}}
states:
  draft: {{initial: true}}
  done: {{final: true}}
transitions:
  - trigger: finish
    from: draft
    to: done
    input:
      amount: {{type: integer}}
    guard: has(input.amount)
    refusal: {refusal}
"""


def codes(text: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.column, d.code) for d in load_text(text).errors]


def test_placeholders_naming_declared_values_load() -> None:
    text = BASE.format(title='"预算上限 {params.max_budget} 元"',
                       refusal='"{input.amount} 超过 {params.max_budget}，已有 {data.budget}"')
    assert load_text(text).ok


def test_a_misspelt_parameter_in_a_refusal_is_an_error_at_its_place() -> None:
    text = BASE.format(title="t", refusal='"至多 {params.max_budgt} 元"')
    result = load_text(text)
    assert [(d.line, d.column, d.code) for d in result.errors] == [
        (18, 18, "placeholder_undeclared")]
    assert "max_budget" in result.errors[0].message


def test_a_title_cannot_show_input() -> None:
    text = BASE.format(title='"{input.amount}"', refusal="r")
    assert codes(text) == [(3, 9, "placeholder_unknown")]


def test_braces_holding_something_else_are_an_error_with_the_way_to_write_braces() -> None:
    result = load_text(BASE.format(title='"a {b} c"', refusal="r"), lang="zh")
    assert [d.code for d in result.errors] == ["placeholder_unknown"]
    assert "{{" in result.errors[0].message


def test_escaped_braces_are_shown_as_braces() -> None:
    assert list(placeholders("{{params.x}}")) == []
    assert fill("a {{b}} c", "en", None) == "a {b} c"


def test_a_value_not_known_yet_shows_the_fields_title() -> None:
    fields = {"budget": FieldSpec(type="integer", title=Text(zh="预算", en="Budget"))}
    values = Values(fields=fields, parameters={}, params={}, data={}, input_fields={},
                    input={})
    assert fill("上限：{data.budget}", "zh", values) == "上限：预算"


def test_values_read_as_people_read_them() -> None:
    assert shown(None, True, "zh") == "是" and shown(None, False, "en") == "no"
    assert shown(None, 50000.0, "en") == "50000"
    titled = FieldSpec(type="list", items="string",
                       values={"a": Text(zh="甲"), "b": Text(en="B")})
    assert shown(titled, ["a", "b"], "zh") == "甲、B"


def test_counting_needs_days_and_a_parameter_of_working_or_calendar() -> None:
    text = """id: t
version: 1.0.0
title: t
parameters:
  kind: {type: string, default: lunar}
states:
  a:
    initial: true
    timers:
      - {id: x, working_days: 5, counting: calendar, action: escalate}
      - {id: y, days: 5, counting: params.kind, action: [mark_overdue, escalate]}
      - {id: z, days: 5, counting: weekly, action: escalate}
  b: {final: true}
transitions:
  - {trigger: go, from: a, to: b}
"""
    assert [d.code for d in load_text(text).errors] == [
        "counting_without_days", "counting_parameter", "bad_choice"]


def test_start_roles_must_be_declared() -> None:
    text = BASE.format(title="t", refusal="r").replace(
        "parameters:", "start_roles: [applicnt]\nparameters:")
    assert [d.code for d in load_text(text).errors] == ["unknown_role"]
