"""The shipped workflows speak as community party-building officers write (DOMAIN.md's
wording note): no label reads as a disciplinary case, and the officers' own terms are used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
