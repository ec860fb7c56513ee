"""Compiling a workflow onto `transitions`: one shared machine, flat lookup tables, and
safety under concurrent use."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import transitions.core

from engine.core.compiler import CompiledWorkflow, compile_workflow, content_hash
from engine.core.decision import (
    Actor,
    CaseSnapshot,
    LinkedCase,
    Refusal,
    Transition,
    automatic_step,
    available_actions,
    decide,
)
from engine.definitions.loader import load_file
from engine.errors import DefinitionError
from engine.language.expressions import fields_read
from engine.language.spec import WorkflowSpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "workflows"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def compiled(path: Path) -> CompiledWorkflow:
    result = load_file(path)
    assert result.ok and result.spec is not None, result.diagnostics
    ready = getattr(result, "compiled", None)
    return ready if ready is not None else compile_workflow(result.spec, result.text)


@pytest.fixture(scope="module")
def members() -> CompiledWorkflow:
    return compiled(FIXTURES / "member_development.yaml")


@pytest.fixture(scope="module")
def branch() -> CompiledWorkflow:
    return compiled(FIXTURES / "branch_building.yaml")


def test_nested_states_are_flattened_with_their_place_in_the_tree(
        members: CompiledWorkflow) -> None:
    training = members.states["training"]
    assert training.path == "candidacy.target.training"
    assert training.parent == "target" and training.children == ()
    assert members.states["candidacy"].children == ("activist", "target")
    assert members.states["full_member"].final and not members.states["probation"].final


def test_the_machine_is_hierarchical_and_shared_by_no_model(members: CompiledWorkflow) -> None:
    machine = members.machine
    assert machine.models == []
    assert set(machine.get_nested_state_names()) == {s.path for s in members.states.values()}
    assert "to_probation" not in machine.events  # no auto transitions: only the designer's


def test_a_stage_is_entered_at_its_initial_step_all_the_way_down(
        members: CompiledWorkflow) -> None:
    assert members.initial == "application"
    assert members.leaf("candidacy") == "activist"
    assert members.leaf("target") == "review"
    assert members.leaf("probation") == "probation"
    assert members.lineage("training") == ["training", "target", "candidacy"]


def test_a_step_inherits_every_ancestors_transitions(members: CompiledWorkflow) -> None:
    assert [c.spec.to for c in members.candidates("review", "withdraw")] == ["withdrawn"]
    assert [c.spec.to for c in members.candidates("activist", "withdraw")] == ["withdrawn"]
    assert members.candidates("application", "withdraw") == ()


def test_the_machine_says_which_states_a_transition_exits_and_enters(
        members: CompiledWorkflow) -> None:
    assert members.moves("training", "withdrawn") == (
        ["training", "target", "candidacy"], ["withdrawn"])
    assert members.moves("activist", "target") == (["activist"], ["target", "review"])
    assert members.moves("application", "candidacy") == (
        ["application"], ["candidacy", "activist"])


def test_a_step_back_to_its_own_stage_leaves_and_reenters_the_stage(
        members: CompiledWorkflow) -> None:
    assert members.moves("training", "target") == (["training", "target"], ["target", "review"])


def test_a_transition_back_to_the_same_step_is_internal(members: CompiledWorkflow) -> None:
    assert members.moves("review", "review") == ([], [])


def test_the_innermost_declaration_is_tried_first(members: CompiledWorkflow) -> None:
    assert [c.spec.to for c in members.candidates("training", "withdraw")] == [
        "review", "withdrawn"]
    case = CaseSnapshot("training", {"name": "x", "applied_on": "2025-01-02"}, NOW)
    secretary = Actor("a", frozenset({"branch_secretary"}))
    committee = Actor("b", frozenset({"higher_committee"}))
    step = decide(members, case, "withdraw", {}, secretary, NOW)
    assert isinstance(step, Transition) and step.to_state == "review"
    stage = decide(members, case, "withdraw", {}, committee, NOW)
    assert isinstance(stage, Transition) and stage.to_state == "withdrawn"
    assert stage.exited == ("training", "target", "candidacy")


def test_candidates_of_one_source_keep_the_definitions_order(branch: CompiledWorkflow) -> None:
    assert [c.spec.to for c in branch.candidates("approval", "certify")] == [
        "established", "dropped"]
    indexes = [c.index for c in branch.candidates("approval", "certify")]
    assert indexes == sorted(indexes)


def test_any_means_every_top_level_state_that_is_not_final(branch: CompiledWorkflow) -> None:
    sources = {s for (s, trigger) in branch.table if trigger == "drop"}
    assert sources == {"intake", "guidance", "joint_branch", "preparing", "public_notice",
                       "approval"}


def test_automatic_transitions_are_listed_per_state(members: CompiledWorkflow) -> None:
    automatic = {s: [c.trigger for c in ts] for s, ts in members.automatic.items() if ts}
    assert automatic == {"review": ["review_done"], "probation": ["convert"]}


def test_triggers_are_listed_in_the_order_the_definition_names_them(
        members: CompiledWorkflow) -> None:
    assert members.triggers == ("apply", "qualify", "add_sponsor", "review_done",
                                "record_training", "withdraw", "admit", "convert")


def test_expressions_are_compiled_once_at_load(members: CompiledWorkflow) -> None:
    admit = next(c for c in members.transitions if c.trigger == "admit")
    assert admit.guard is not None and admit.guard.source == "checklist.course && data.trained"
    assert set(next(c for c in members.transitions if c.trigger == "apply").effects) == {
        "id_number"}


def test_a_transition_knows_which_data_fields_its_expressions_read(
        members: CompiledWorkflow) -> None:
    admit = next(c for c in members.transitions if c.trigger == "admit")
    assert admit.fields == frozenset({"trained"})


@pytest.mark.parametrize(("source", "fields"), [
    ("data.a > 1 && has(data.b)", {"a", "b"}),
    ("'data.x' == data.a", {"a"}),
    ("size(data) > 2", None),
    ("'a' in data", None),
])
def test_fields_read_are_named_or_the_whole_data_is_kept(
        source: str, fields: set[str] | None) -> None:
    assert fields_read(source) == (None if fields is None else frozenset(fields))


def test_checklists_and_timers_are_gathered_up_the_tree(members: CompiledWorkflow) -> None:
    assert members.checklist_of("training") == {"course": "training"}
    assert members.checklist_of("review") == {}
    assert [(s, t.id) for s, t in members.timers_of("activist")] == [
        ("activist", "assessment"), ("activist", "activist_year")]


def test_parameter_defaults_are_resolved(members: CompiledWorkflow) -> None:
    assert members.resolve_params() == {"activist_period": "P1Y", "minimum_sponsors": 2}
    assert members.resolve_params({"minimum_sponsors": 3})["minimum_sponsors"] == 3


def test_the_content_hash_is_the_sha256_of_the_text() -> None:
    text = (FIXTURES / "member_development.yaml").read_text(encoding="utf-8")
    assert content_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert content_hash(text) != content_hash(text + "\n")


def test_a_workflow_without_an_initial_state_does_not_compile() -> None:
    spec = WorkflowSpec.model_validate({
        "id": "w", "version": "1.0.0", "title": {"en": "W"},
        "states": {"a": {}, "b": {"final": True}},
        "transitions": [{"trigger": "go", "from": "a", "to": "b"}],
    })
    with pytest.raises(DefinitionError, match="no initial state"):
        compile_workflow(spec)


def test_the_machine_module_is_the_only_one_that_imports_transitions() -> None:
    importers = sorted(
        path.relative_to(ROOT).as_posix() for path in (ROOT / "engine").rglob("*.py")
        if re.search(r"^\s*(from|import)\s+transitions\b", path.read_text(encoding="utf-8"),
                     re.M))
    assert importers == ["engine/core/machine.py"]


# --- the compiled workflow under concurrent use -----------------------------------------


ADMIN = Actor("root", frozenset({"admin"}))
SECRETARY = Actor("a", frozenset({"branch_secretary"}))
COMMITTEE = Actor("b", frozenset({"higher_committee"}))


def scenarios(members: CompiledWorkflow, branch: CompiledWorkflow) -> list[tuple[Any, ...]]:
    """A mix of decisions that pass and are refused, over both fixtures."""
    person = {"name": "张三", "applied_on": "2025-01-02", "sponsors": 0, "trained": False}
    org = {"org_name": "上古健康服务中心", "member_count": 2}
    members3 = tuple(LinkedCase(f"m{i}", "member_development", "full_member") for i in range(3))
    return [
        (members, CaseSnapshot("application", person, NOW), "apply",
         {"id_number": "11010519491231002X"}, SECRETARY),
        (members, CaseSnapshot("application", person, NOW), "apply", {"id_number": "1"},
         SECRETARY),
        (members, CaseSnapshot("review", person, NOW), "add_sponsor", {}, SECRETARY),
        (members, CaseSnapshot("training", {**person, "trained": True}, NOW,
                               {"course": True}), "admit", {}, COMMITTEE),
        (members, CaseSnapshot("training", person, NOW), "admit", {}, COMMITTEE),
        (members, CaseSnapshot("probation", person, NOW - timedelta(days=400)), "convert", {},
         Actor("system:auto")),
        (members, CaseSnapshot("training", person, NOW), "withdraw", {}, COMMITTEE),
        (branch, CaseSnapshot("intake", org, NOW), "accept",
         {"category": "no_members", "phone": "13800000000"}, ADMIN),
        (branch, CaseSnapshot("joint_branch", org, NOW), "prepare",
         {"founded_on": "2025-03-01"}, ADMIN),
        (branch, CaseSnapshot("joint_branch", {**org, "member_count": 3}, NOW,
                              {"charter": True}), "prepare", {"founded_on": "2025-03-01"}, ADMIN),
        (branch, CaseSnapshot("preparing", {**org, "founded_on": "2025-02-01"}, NOW),
         "publish", {}, ADMIN),
        (branch, CaseSnapshot("approval", org, NOW, links=members3), "establish", {},
         Actor("system:auto")),
        (branch, CaseSnapshot("approval", org, NOW), "certify", {}, ADMIN),
        (branch, CaseSnapshot("joint_branch", org, NOW), "fly", {}, ADMIN),
    ]


def run(scenario: tuple[Any, ...], *, everything: bool = False) -> Any:
    wf, case, trigger, given, actor = scenario
    outcome = decide(wf, case, trigger, given, actor, NOW)
    if not everything:
        return outcome
    return (outcome, automatic_step(wf, case, NOW),
            [(a.trigger, a.allowed) for a in available_actions(wf, case, actor, NOW)])


def test_many_threads_share_one_compiled_workflow_and_agree_with_a_sequential_run(
        members: CompiledWorkflow, branch: CompiledWorkflow,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cases = scenarios(members, branch)
    expected = [run(s) for s in cases]
    expected_all = [run(s, everything=True) for s in cases]
    assert {type(e) for e in expected} == {Transition, Refusal}
    machines_before = (members.machine, branch.machine)

    built = []
    original_init = transitions.core.Machine.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(transitions.core.Machine, "__init__", counting_init)

    threads_n, per_thread = 8, 2000
    barrier = threading.Barrier(threads_n)
    mismatches: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                k = (i * 7 + offset) % len(cases)
                if run(cases[k]) != expected[k]:
                    mismatches.append((offset, k))
                if i % 100 == 0 and run(cases[k], everything=True) != expected_all[k]:
                    mismatches.append((offset, -k))
        except BaseException as exc:  # surfaced below, never swallowed
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, failures
    assert not mismatches, mismatches[:5]
    assert built == []  # no Machine is constructed per decision
    assert members.machine is machines_before[0] and branch.machine is machines_before[1]
    assert members.machine.models == [] and branch.machine.models == []
    compile_workflow(members.spec)  # the counter does see a construction
    assert built == ["_Machine"]
