"""Messages that say how to fix a mistake, entirely in the reader's language (issue 12, 9)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from engine.core.decision import Actor, CaseSnapshot, decide
from engine.definitions.loader import load_text
from engine.errors import Refusal

WORKFLOW = """id: hints
version: 1.0.0
title: t
parameters:
  max_budget:
    type: integer
    default: {default}
fields:
  budget: {{type: integer}}
  has_plan: {{type: boolean, default: false}}
  total: {{type: integer}}
states:
  draft: {{initial: true}}
  done: {{final: true}}
transitions:
  - trigger: finish
    from: draft
    to: done
    guard: {guard}
    refusal: r
    effects: {{total: {effect}}}
"""
HAN = re.compile("[\u4e00-\u9fff]")


def errors(lang: str = "en", default: str = "50000", guard: str = "data.has_plan",
           effect: str = "data.budget") -> list[tuple[str, str]]:
    text = WORKFLOW.format(default=default, guard=guard, effect=effect)
    return [(d.code, d.message) for d in load_text(text, lang=lang).errors]


def test_word_operators_are_refused_with_the_symbol_to_write() -> None:
    found = errors(guard="data.has_plan and not data.budget > 5 or true")
    assert [(c, m.split(": write ")[-1]) for c, m in found] == [
        ("expression_word_operator", "'&&' instead"), ("expression_word_operator", "'!' instead"),
        ("expression_word_operator", "'||' instead")]


def test_an_unquoted_expression_starting_with_not_is_told_to_be_quoted() -> None:
    found = errors(guard="!data.has_plan", lang="zh")
    assert [c for c, _ in found] == ["yaml_tag_expression"]
    assert "加引号" in found[0][1] and "'!data.has_plan'" in found[0][1]


def test_a_number_with_thousands_separators_in_yaml_says_how_to_write_it() -> None:
    found = errors(default="50,000")
    assert [c for c, _ in found] == ["thousands_separator"]
    assert "as 50000" in found[0][1]


def test_a_number_with_thousands_separators_in_an_expression_says_how_to_write_it() -> None:
    found = errors(guard="'data.budget <= 50,000'")
    assert [c for c, _ in found] == ["expression_thousands_separator"]
    assert "as 50000" in found[0][1]


def test_chinese_messages_of_these_mistakes_read_in_chinese() -> None:
    for found in (errors("zh", guard="data.has_plan and true"), errors("zh", default="50,000"),
                  errors("zh", guard="'data.budget <= 50,000'")):
        assert found and all(HAN.search(m) for _, m in found)
        assert not any(w in m for _, m in found for w in ("must", "write", "instead"))


def test_a_field_without_a_value_is_named_in_chinese_by_its_title_when_refused() -> None:
    text = WORKFLOW.format(default="1", guard="data.budget > 0", effect='"1"').replace(
        "budget: {type: integer}", "budget: {type: integer, title: {zh: 预算, en: Budget}}")
    wf = load_text(text).compiled
    assert wf is not None
    now = datetime(2025, 3, 3, tzinfo=UTC)
    outcome = decide(wf, CaseSnapshot("draft", {}, now), "finish", {},
                     Actor("a", frozenset({"caseworker"})), now)
    assert isinstance(outcome, Refusal) and outcome.code == "guard_error"
    assert "“预算”尚未填写" in outcome.zh and "budget" not in outcome.zh


PATTERN = """id: p
version: 1.0.0
title: t
fields:
  name: {{type: string, pattern: '{pattern}'}}
states:
  a: {{initial: true}}
  b: {{final: true}}
transitions:
  - {{trigger: go, from: a, to: b}}
"""


def test_a_pattern_with_a_back_reference_is_refused_at_load_saying_why() -> None:
    result = load_text(PATTERN.format(pattern=r"^(a)\1$"), lang="zh")
    assert [d.code for d in result.errors] == ["regex_unsupported"]
    assert "反向引用" in result.errors[0].message


def test_a_pattern_that_backtracks_in_python_matches_in_linear_time() -> None:
    from engine.language.values import check_value

    result = load_text(PATTERN.format(pattern=r"^(\w+\s?)*$"))
    assert result.ok and result.spec is not None
    spec = result.spec.fields["name"]
    _, found = check_value("name", spec, "a" * 5000 + "!")  # Python's re: hours
    assert found is not None and found.code == "pattern"


def test_a_definition_whose_line_breaks_were_lost_says_to_send_it_with_data_binary() -> None:
    one_line = WORKFLOW.format(default="1", guard="true", effect='"1"').replace("\n", " ")
    for text in (one_line, "# a comment " + one_line):
        [found] = load_text(text).errors
        assert found.code == "line_breaks_lost" and "--data-binary" in found.message


def test_a_comprehension_inside_another_is_refused_at_load() -> None:
    guard = "'[1, 2, 3].map(x, [1, 2, 3].map(y, x * y)).size() > 0'"
    found = errors(guard=guard)
    assert [c for c, _ in found] == ["expression_nested_comprehension"]
    assert "'map' inside 'map'" in found[0][1]


def test_a_literal_with_too_many_elements_is_refused_at_load() -> None:
    many = ", ".join(str(i) for i in range(150))
    found = errors(guard=f"'data.budget in [{many}]'")
    assert [c for c, _ in found] == ["expression_literal_too_large"]
    assert "150 elements" in found[0][1]


def test_a_single_comprehension_over_a_short_literal_is_allowed() -> None:
    assert errors(guard="'[1, 2, 3].exists(x, x == data.budget)'") == []


def test_a_list_longer_than_the_limit_is_refused_before_any_guard_sees_it() -> None:
    from engine.language.spec import FieldSpec
    from engine.language.values import MAX_LIST_ITEMS, check_value

    _, found = check_value("tags", FieldSpec(type="list", items="integer"),
                           list(range(MAX_LIST_ITEMS + 1)))
    assert found is not None and found.code == "too_long"
