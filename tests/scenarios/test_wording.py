"""The shipped workflows speak as community party-building officers write (DOMAIN.md's
wording note): no label reads as a disciplinary case, and the officers' own terms are used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions.loader import load_file
from engine.language.spec import Text
from engine.language.texts import value_title
from engine.settings import PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / "workflows").glob("*.yaml"))
AVOIDED = {
    "案件": "档案, 记录 or 事项",
    "不予批复": "不予批准",
    "履职": "正式任职 or 任职",
    "认定成立": "登记备案",
    "机制未坚持": "what happened: 组织生活未按期开展",
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
@pytest.mark.parametrize("word", sorted(AVOIDED))
def test_a_shipped_workflow_avoids_words_officers_do_not_write(path: Path, word: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = [n for n, line in enumerate(text.splitlines(), 1)
             if word in line and not line.lstrip().startswith("#")]
    assert lines == [], f"say {AVOIDED[word]} instead of {word} (lines {lines})"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_a_branch_committee_decision_names_the_general_meeting_too(path: Path) -> None:
    """A branch without a committee (fewer than 7 full members) decides at its general
    meeting: a label naming the committee alone would be wrong for most incubated branches."""
    text = path.read_text(encoding="utf-8")
    alone = [line.strip() for line in text.splitlines()
             if re.search(r"支部委员会(研究确定|研究决定|审查)", line) and "支部大会" not in line]
    assert alone == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_enumerated_value_has_a_title_in_both_languages(path: Path) -> None:
    """People read titles, never codes: every value of every enum field and input (and of
    every list of enumerated values) carries a Chinese and an English title."""
    spec = load_file(path).spec
    assert spec is not None
    specs = [(f"field {name}", field) for name, field in spec.fields.items()]
    specs += [(f"{t.trigger} input {name}", field)
              for t in spec.transitions for name, field in t.input.items()]
    untitled = [(where, value) for where, field in specs if field.values is not None
                for value in field.value_ids
                if not isinstance(field.values, dict)
                or not isinstance(field.values[value], Text)
                or not (field.values[value].zh and field.values[value].en)]
    assert untitled == []


def test_the_activist_nomination_methods_are_titled_as_their_label_lists_them() -> None:
    spec = load_file(PROJECT_ROOT / "workflows" / "member_development.yaml").spec
    assert spec is not None
    method = next(t for t in spec.transitions if t.trigger == "recommend_activist").input["method"]
    assert {v: value_title(method, v, "zh") for v in method.value_ids} == {
        "party_members": "党员推荐", "mass_organizations": "群团组织推优", "the_public": "群众推荐"}
