"""The linter's checks of meaning, on specs built directly (no YAML in between)."""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.core.compiler import compile_workflow
from engine.language.diagnostics import Reporter, SourceMap
from engine.language.lint import build_index, lint, reachable_states, strongly_connected
from engine.language.spec import WorkflowSpec


def spec(states: dict[str, Any], transitions: list[dict[str, Any]], **extra: Any
         ) -> WorkflowSpec:
    return WorkflowSpec.model_validate({
        "id": "w", "version": "1.0.0", "title": "W", "states": states,
        "transitions": transitions, **extra})


def codes(s: WorkflowSpec) -> list[str]:
    return [d.code for d in lint(s)]


def go(trigger: str, source: str | list[str], to: str, **extra: Any) -> dict[str, Any]:
    return {"trigger": trigger, "from": source, "to": to, **extra}


FLAT = {"a": {"initial": True}, "b": {}, "done": {"final": True}}


def test_a_sound_workflow_has_nothing_to_report() -> None:
    assert codes(spec(FLAT, [go("next", "a", "b"), go("finish", "b", "done")])) == []


def test_without_a_source_map_findings_are_placed_at_the_start() -> None:
    [finding] = lint(spec(FLAT, [go("next", "a", "b"), go("finish", "b", "nowhere")]))
    assert (finding.line, finding.column, finding.code) == (1, 1, "unknown_state")


def test_findings_are_located_through_the_source_map() -> None:
    source = SourceMap(keys={("transitions", 1, "to"): (9, 5)},
                       values={("transitions", 1, "to"): (9, 9)})
    [finding] = lint(spec(FLAT, [go("next", "a", "b"), go("finish", "b", "nowhere")]), source,
                     path="w.yaml")
    assert finding.format().startswith("w.yaml:9:9: error: there is no state 'nowhere'")


def test_a_deferred_source_map_is_filled_once_before_its_first_lookup() -> None:
    fills: list[int] = []

    def fill(source: SourceMap) -> None:
        fills.append(1)
        source.values[("transitions", 1, "to")] = (9, 9)

    source = SourceMap()
    source.defer(fill)
    assert fills == []
    [finding] = lint(spec(FLAT, [go("next", "a", "b"), go("finish", "b", "nowhere")]), source)
    assert (finding.line, finding.column) == (9, 9)
    assert source.locate(("transitions", 1, "to")) == (9, 9)
    assert fills == [1]


def test_a_sound_workflow_never_asks_a_deferred_source_map_for_a_position() -> None:
    source = SourceMap()
    source.defer(lambda _: (_ for _ in ()).throw(AssertionError("filled")))
    assert lint(spec(FLAT, [go("next", "a", "b"), go("finish", "b", "done")]), source) == []


def test_a_step_is_reached_only_through_its_stage() -> None:
    states = {"a": {"initial": True},
              "stage": {"states": {"one": {"initial": True}, "two": {}, "three": {}}},
              "done": {"final": True}}
    found = spec(states, [go("enter", "a", "stage"), go("step", "one", "two"),
                          go("finish", "stage", "done")])
    index = build_index(found, Reporter("w"))
    assert reachable_states(index) == {"a", "stage", "one", "two", "done"}
    assert codes(found) == ["unreachable_state"]


def test_any_leaves_every_top_level_state_that_is_not_final() -> None:
    found = spec(FLAT, [go("next", "a", "b"), go("abandon", "*", "done")])
    assert codes(found) == []


def test_a_stage_left_only_from_around_it_is_not_a_dead_end() -> None:
    states = {"stage": {"initial": True, "states": {"one": {"initial": True}, "two": {}}},
              "done": {"final": True}}
    found = spec(states, [go("step", "one", "two"), go("finish", "stage", "done")])
    assert codes(found) == []


def test_steps_that_only_lead_to_each_other_trap_their_stage() -> None:
    states = {"a": {"initial": True},
              "stage": {"states": {"one": {"initial": True}, "two": {}}},
              "done": {"final": True}}
    found = spec(states, [go("enter", "a", "stage"), go("step", "one", "two"),
                          go("back", "two", "one"), go("skip", "a", "done")])
    assert codes(found) == ["no_way_out"]


def test_a_self_loop_is_no_way_out() -> None:
    found = spec(FLAT, [go("next", "a", "b"), go("again", "b", "b"), go("end", "a", "done")])
    assert codes(found) == ["no_way_out"]


def test_an_automatic_self_loop_could_loop_forever() -> None:
    found = spec({"a": {"initial": True}, "done": {"final": True}},
                 [go("tick", "a", "a", automatic=True), go("finish", "a", "done")])
    [finding] = lint(found)
    assert finding.code == "automatic_cycle"
    assert "a -> a" in finding.message


def test_an_automatic_cycle_through_a_stage_is_found() -> None:
    states = {"a": {"initial": True},
              "stage": {"states": {"one": {"initial": True}, "two": {}}},
              "done": {"final": True}}
    found = spec(states, [go("in", "a", "stage", automatic=True),
                          go("out", "stage", "a", automatic=True),
                          go("finish", "a", "done")])
    [finding] = [d for d in lint(found) if d.severity == "error"]
    assert finding.code == "automatic_cycle"
    assert "a -> one -> a" in finding.message


def test_automatic_transitions_in_one_direction_are_fine() -> None:
    found = spec(FLAT, [go("next", "a", "b", automatic=True),
                        go("finish", "b", "done", automatic=True)])
    assert codes(found) == []


def test_a_stage_timer_may_fire_a_trigger_its_steps_declare() -> None:
    states = {"stage": {"initial": True,
                        "timers": [{"id": "check", "duration": "P1M", "trigger": "overdue"}],
                        "states": {"one": {"initial": True}, "two": {}}},
              "done": {"final": True}}
    found = spec(states, [go("step", "one", "two"), go("overdue", "one", "one"),
                          go("overdue", "two", "two"), go("finish", "stage", "done")])
    assert codes(found) == []


def test_a_step_timer_may_fire_a_trigger_of_its_stage() -> None:
    states = {"stage": {"initial": True, "states": {
        "one": {"initial": True,
                "timers": [{"id": "expire", "duration": "P1M", "trigger": "finish"}]}}},
        "done": {"final": True}}
    assert codes(spec(states, [go("finish", "stage", "done")])) == []


def test_graph_warnings_wait_until_every_state_reference_resolves() -> None:
    found = spec(FLAT, [go("next", "a", "bb"), go("finish", "b", "done")])
    assert codes(found) == ["unknown_state"]


def test_a_trigger_from_unreachable_states_only_is_never_enabled() -> None:
    found = spec({**FLAT, "c": {}}, [go("next", "a", "b"), go("finish", "b", "done"),
                                     go("revive", "c", "a")])
    assert codes(found) == ["unreachable_state", "trigger_never_enabled"]


def test_an_automatic_guard_needs_no_refusal_text() -> None:
    fields = {"ready": {"type": "boolean", "default": False}}
    found = spec(FLAT, [go("next", "a", "b", automatic=True, guard="data.ready"),
                        go("finish", "b", "done", guard="data.ready")], fields=fields)
    assert codes(found) == ["guard_without_refusal"]


def test_an_optional_intake_field_nothing_relies_on_is_fine() -> None:
    fields = {"contact": {"type": "string"}, "signed": {"type": "date"}}
    found = spec(FLAT, [go("next", "a", "b"), go("finish", "b", "done")], fields=fields)
    assert codes(found) == []


def test_a_field_a_guard_reads_but_nothing_sets_is_flagged() -> None:
    fields = {"score": {"type": "integer"}}
    found = spec(FLAT, [go("next", "a", "b", guard="data.score > 1", refusal="low"),
                        go("finish", "b", "done")], fields=fields)
    assert codes(found) == ["field_never_set"]


def test_the_builtin_roles_need_no_declaration() -> None:
    found = spec(FLAT, [go("next", "a", "b", roles=["caseworker", "admin"]),
                        go("finish", "b", "done", roles=["designer", "auditor"])])
    assert codes(found) == []


def test_guards_see_the_checklist_of_the_states_they_leave() -> None:
    states = {"a": {"initial": True, "checklist": {"venue": {}}}, "b": {},
              "done": {"final": True}}
    found = spec(states, [go("next", "a", "b", guard="checklist.venue", refusal="no"),
                          go("finish", "b", "done", guard="checklist.venue", refusal="no")])
    assert codes(found) == ["expression_unknown_checklist"]


def test_the_priority_cannot_read_input() -> None:
    found = spec(FLAT, [go("next", "a", "b"), go("finish", "b", "done")],
                 priority="input.x > 1")
    assert codes(found) == ["expression_no_input"]


def test_strongly_connected_handles_long_chains_without_recursion() -> None:
    graph = {f"s{i}": [(f"s{i + 1}", i)] for i in range(5000)}
    graph["s5000"] = [("s0", 5000)]
    [component] = [c for c in strongly_connected(graph) if len(c) > 1]
    assert len(component) == 5001


def test_lint_grows_linearly_with_the_workflow() -> None:
    def big(n: int) -> WorkflowSpec:
        states: dict[str, Any] = {f"s{i}": {} for i in range(n)}
        states["s0"] = {"initial": True}
        states["end"] = {"final": True}
        transitions = [go(f"t{i}", f"s{i % n}", f"s{(i + 1) % n}") for i in range(3 * n)]
        transitions.append(go("finish", f"s{n - 1}", "end"))
        return spec(states, transitions)

    def operations(workflow: WorkflowSpec) -> int:
        """Function calls (Python and C) made while linting: a count, not a clock."""
        calls = 0

        def count(frame: object, event: str, arg: object) -> None:
            nonlocal calls
            if event in ("call", "c_call"):
                calls += 1

        sys.setprofile(count)
        try:
            assert lint(workflow) == []
        finally:
            sys.setprofile(None)
        return calls

    small, large = operations(big(200)), operations(big(2000))
    # ten times the workflow: linear is about 10x the work; quadratic would be about 100x
    assert large < small * 15


def rarely(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 9)) == 7  # not 0: hypothesis favours the smallest values


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    """Small random workflows, mostly sound: nested steps, finals, automatic moves, timers,
    with now and then a mistake (a second initial, an unknown state, a final with steps)."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=5,
                          unique=True))
    states: dict[str, Any] = {}
    steps_of: dict[str, list[str]] = {}
    for position, name in enumerate(names):
        state: dict[str, Any] = {}
        if position == 0 or rarely(draw):
            state["initial"] = True
        final = position > 0 and draw(st.integers(0, 3)) == 2
        if final:
            state["final"] = True
        if (not final or rarely(draw)) and draw(st.integers(0, 2)) == 2:
            steps = [f"{name}{i}" for i in range(draw(st.integers(1, 3)))]
            steps_of[name] = steps
            state["states"] = {s: ({"initial": True} if i == 0 or rarely(draw) else {})
                               for i, s in enumerate(steps)}
        states[name] = state
    known = [*names, *(s for steps in steps_of.values() for s in steps)]
    triggers = ["go", "stop", "back"]
    transitions = []
    for _ in range(draw(st.integers(0, 7))):
        source: Any = draw(st.sampled_from(known))
        if rarely(draw):
            source = draw(st.sampled_from(["*", "zz", ["any", source], [source, "zz"]]))
        elif draw(st.booleans()):
            source = draw(st.lists(st.sampled_from(known), min_size=1, max_size=3,
                                   unique=True))
        target = draw(st.sampled_from(known)) if not rarely(draw) else "zz"
        transitions.append({"trigger": draw(st.sampled_from(triggers)), "from": source,
                            "to": target, "automatic": draw(st.booleans())})
    for name in names:
        if not states[name].get("final") and draw(st.integers(0, 3)) == 2:
            trigger = draw(st.sampled_from([*triggers, "x"]))
            states[name]["timers"] = [{"id": "t", "duration": "P1D", "trigger": trigger}]
    return {"id": "w", "version": "1.0.0", "title": "W", "states": states,
            "transitions": transitions}


@settings(max_examples=400, deadline=None)
@given(workflows())
def test_what_lint_finds_free_of_errors_compiles(raw: dict[str, Any]) -> None:
    try:
        found = WorkflowSpec.model_validate(raw)
    except ValidationError:
        return
    if any(d.severity == "error" for d in lint(found)):
        return
    compiled = compile_workflow(found)
    assert compiled.initial in found.states
