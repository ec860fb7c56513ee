"""docs/workflows.md stays true to the shipped workflows.

Its generated blocks (diagram, version, parameters) must match what the generator makes
from the YAML today, and its hand-written rule tables must name every guard, timer and
automatic transition a workflow has, so that a new rule cannot ship undocumented.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from engine.definitions.loader import load_file
from engine.language.spec import StateSpec

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
SHIPPED = sorted(p.stem for p in WORKFLOWS.glob("*.yaml"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_workflows_md", ROOT / "docs" / "generate_workflows_md.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()
DOC = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")


def test_the_committed_doc_is_what_the_generator_makes_from_the_workflows() -> None:
    assert GENERATOR.render(DOC) == DOC, "run: python docs/generate_workflows_md.py"


def test_every_shipped_workflow_has_a_generated_section() -> None:
    assert sorted(GENERATOR.documented(DOC)) == SHIPPED


def _prose(workflow_id: str) -> str:
    """The hand-written part of a workflow's section: after its generated block, up to the
    next section."""
    end = DOC.index(f"<!-- END GENERATED {workflow_id} -->")
    following = DOC.find("\n## ", end)
    return DOC[end:following if following != -1 else len(DOC)]


def _rules(workflow_id: str) -> set[str]:
    """Every guarded or automatic trigger and every timer id of the workflow."""
    spec = load_file(WORKFLOWS / f"{workflow_id}.yaml").spec
    assert spec is not None
    names = {t.trigger for t in spec.transitions if t.guard is not None or t.automatic}

    def walk(states: dict[str, StateSpec]) -> None:
        for state in states.values():
            names.update(timer.id for timer in state.timers)
            walk(state.states)

    walk(spec.states)
    return names


@pytest.mark.parametrize("workflow_id", SHIPPED)
def test_every_guard_timer_and_automatic_transition_is_explained(workflow_id: str) -> None:
    prose = _prose(workflow_id)
    mentioned = set(re.findall(r"`([a-z][a-z0-9_]*)`", prose))
    assert sorted(_rules(workflow_id) - mentioned) == []
