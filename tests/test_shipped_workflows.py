"""What the shipped workflows owe their readers, checked on the definitions alone: no lint
warning, and every label in both Chinese and English. (Walking them through as caseworkers
do is tests/test_workflow_scenarios.py, on the real service.)"""

from __future__ import annotations

import pytest

from engine.definitions.loader import load_file
from engine.language.spec import StateSpec, Text, WorkflowSpec
from engine.settings import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / "workflows"
SHIPPED = sorted(p.stem for p in WORKFLOWS.glob("*.yaml"))


def _spec(workflow_id: str) -> WorkflowSpec:
    spec = load_file(WORKFLOWS / f"{workflow_id}.yaml").spec
    assert spec is not None
    return spec


def _labels(spec: WorkflowSpec) -> list[tuple[str, object]]:
    """Every label a designer owes the reader: where it is, and what it is."""
    found: list[tuple[str, object]] = [("title", spec.title), ("description", spec.description)]
    found += [(f"parameter {n}", p.title) for n, p in spec.parameters.items()]
    found += [(f"field {n}", f.title) for n, f in spec.fields.items()]

    def walk(states: dict[str, StateSpec]) -> None:
        for sid, state in states.items():
            found.append((f"state {sid}", state.title))
            found.extend((f"item {i}", c.title) for i, c in state.checklist.items())
            found.extend((f"timer {t.id}", t.title) for t in state.timers)
            walk(state.states)

    walk(spec.states)
    for t in spec.transitions:
        found.append((f"transition {t.trigger}", t.title))
        found += [(f"input {t.trigger}.{n}", f.title) for n, f in t.input.items()]
    return found


@pytest.mark.parametrize("workflow_id", SHIPPED)
def test_a_shipped_workflow_has_no_lint_warning(workflow_id: str) -> None:
    result = load_file(WORKFLOWS / f"{workflow_id}.yaml")
    assert result.errors == [] and result.warnings == [], [
        d.format() for d in result.diagnostics]


@pytest.mark.parametrize("workflow_id", SHIPPED)
def test_every_label_is_given_in_chinese_and_english(workflow_id: str) -> None:
    missing = [where for where, label in _labels(_spec(workflow_id))
               if not (isinstance(label, Text) and label.zh and label.en)]
    assert missing == []
