"""Expressions are type-checked when a definition loads (issue 12, 8): mistakes that would
refuse every fire at run time are located errors instead."""

from __future__ import annotations

from engine.definitions.loader import load_text

WORKFLOW = """id: types
version: 1.0.0
title: t
fields:
  project_name: {{type: string, required: true}}
  beneficiaries: {{type: integer}}
  budget: {{type: number}}
states:
  draft: {{initial: true}}
  done: {{final: true}}
transitions:
  - trigger: finish
    from: draft
    to: done
    input:
      people: {{type: integer}}
      amount: {{type: number}}
    guard: '{guard}'
    refusal: r
    effects:
      {effects}
"""


def errors(guard: str = "true", effects: str = "budget: input.amount",
           lang: str = "en") -> list[tuple[int, str, str]]:
    text = WORKFLOW.format(guard=guard, effects=effects)
    return [(d.line, d.code, d.message) for d in load_text(text, lang=lang).errors]


def test_well_typed_expressions_load() -> None:
    assert errors(guard="input.people > 0 && size(data.project_name) > 0",
                  effects="beneficiaries: input.people") == []


def test_text_compared_with_a_number_is_a_type_error_at_the_guard() -> None:
    [(line, code, message)] = errors(guard="data.project_name > 5")
    assert (line, code) == (18, "expression_type")
    assert "data.project_name is text" in message


def test_a_whole_number_field_set_from_a_decimal_input_is_refused_at_load() -> None:
    [(line, code, message)] = errors(effects="beneficiaries: input.amount")
    assert (line, code) == (21, "effect_type")
    assert "'beneficiaries' holds a whole number" in message


def test_a_guard_that_is_not_true_or_false_is_refused() -> None:
    assert [c for _, c, _ in errors(guard="input.people + 1")] == ["guard_not_boolean"]


def test_a_guard_reading_a_field_its_own_effects_set_says_to_read_the_input() -> None:
    found = errors(guard="data.beneficiaries > 0", effects="beneficiaries: input.people",
                   lang="zh")
    assert [(line, code) for line, code, _ in found] == [(18, "read_before_set")]
    assert "请改为读取输入项" in found[0][2]


def test_has_guards_a_read_of_a_field_its_effects_set() -> None:
    assert errors(guard="!has(data.beneficiaries)", effects="beneficiaries: input.people") == []


def test_a_guard_may_read_a_field_another_trigger_sets_before_this_one_sets_it_again() -> None:
    """A re-election is bounded by the previous election's date, which the first election
    set: the field has a value when the re-election's condition is checked."""
    text = WORKFLOW.format(guard="true", effects="budget: input.amount").replace(
        "  done: {final: true}\n",
        "  running: {}\n  done: {final: true}\n").replace(
        "    to: done\n", "    to: running\n", 1) + """  - trigger: again
    from: running
    to: running
    input:
      people: {type: integer, required: true}
    guard: input.people > data.beneficiaries
    refusal: r
    effects:
      beneficiaries: input.people
  - trigger: close
    from: running
    to: done
"""
    text = text.replace("budget: input.amount",
                        "budget: input.amount\n      beneficiaries: input.people", 1)
    assert [d.code for d in load_text(text).errors] == []


SHARED = """id: shared
version: 1.0.0
title: t
fields:
  beneficiaries: {type: integer}
  budget: {type: number}
states:
  draft: {initial: true}
  review: {}
  done: {final: true}
transitions:
  - trigger: submit
    from: draft
    to: review
    input:
      amount: {type: number}
    effects:
      beneficiaries: input.amount
      budget: input.amount
  - trigger: finish
    from: review
    to: done
    input:
      amount: {type: number}
    effects:
      budget: input.amount
      beneficiaries: input.amount
"""


def test_an_expression_repeated_with_the_same_inputs_is_judged_per_field_at_every_place(
        ) -> None:
    found = [(d.line, d.code) for d in load_text(SHARED).errors]
    assert found == [(18, "effect_type"), (27, "effect_type")]
