"""Diagrams for designers: Mermaid text and SVG, in both languages, deterministic."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.contrib.diagram import mermaid, svg
from engine.core.compiler import compile_workflow
from engine.definitions.loader import load_file, load_text
from engine.language.spec import WorkflowSpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "workflows"
FIXTURE = FIXTURES / "branch_building.yaml"
SHIPPED = ROOT / "workflows" / "social_org_incubation.yaml"
SVG_NS = "{http://www.w3.org/2000/svg}"


def spec_of(path: Path) -> WorkflowSpec:
    result = load_file(path)
    assert result.spec is not None, result.diagnostics
    return result.spec


@pytest.fixture(scope="module")
def branch() -> WorkflowSpec:
    return spec_of(FIXTURE)


def test_mermaid_starts_as_a_state_diagram_with_a_title(branch: WorkflowSpec) -> None:
    lines = mermaid(branch).splitlines()
    assert lines[:4] == ["---", "title: 'Party organization building 1.2.0'", "---",
                         "stateDiagram-v2"]


def test_mermaid_marks_the_initial_and_the_final_states(branch: WorkflowSpec) -> None:
    text = mermaid(branch)
    assert "    [*] --> intake" in text.splitlines()
    assert "established --> [*]" in text
    assert "dropped --> [*]" in text
    assert "class established,dropped final" in text


def test_mermaid_labels_follow_the_language(branch: WorkflowSpec) -> None:
    en, zh = mermaid(branch, lang="en"), mermaid(branch, lang="zh")
    assert 'state "Joint branch" as joint_branch' in en
    assert 'state "联合支部" as joint_branch' in zh
    assert "intake --> guidance : Accept" in en
    assert "intake --> guidance : 受理" in zh


def test_mermaid_nests_composite_states_and_enters_their_initial_step(
        branch: WorkflowSpec) -> None:
    lines = mermaid(branch).splitlines()
    start = lines.index("    state guidance {")
    end = lines.index("    }", start)
    block = "\n".join(lines[start:end])
    assert "        [*] --> joint_branch" in block
    for child in ("joint_branch", "preparing", "public_notice"):
        assert f"as {child}" in block
    assert "as approval" not in block


def test_mermaid_nests_stages_within_stages() -> None:
    text = mermaid(spec_of(FIXTURES / "member_development.yaml"))
    lines = text.splitlines()
    outer = lines.index("    state candidacy {")
    inner = lines.index("        state target {")
    assert outer < inner < lines.index("        }", inner) < lines.index("    }", inner)
    assert "            [*] --> review" in lines
    assert "training --> review : Back to review" in text
    assert "candidacy --> withdrawn : Withdraw" in text
    assert "activist --> target : Make a development target (timer, 1 year)" in text


def test_mermaid_tells_automatic_and_timer_transitions_apart(branch: WorkflowSpec) -> None:
    text = mermaid(branch)
    assert "approval --> established : Establish (automatic)" in text
    assert "approval --> established : Certify" in text
    assert ("public_notice --> approval : Close the notice (timer, 5 working days)"
            in text)
    zh = mermaid(branch, lang="zh")
    assert "自动成立（自动）" in zh and "公示结束（定时，5个工作日）" in zh


def test_mermaid_lists_timers_that_fire_no_trigger(branch: WorkflowSpec) -> None:
    text = mermaid(branch)
    assert "intake : Reply deadline (timer, 5 working days) → marks overdue" in text
    assert "preparing : founding_due (timer, 1 month after Founding date) → marks overdue" in text
    # Mermaid refuses a description on a composite state, so its timers go in a note.
    assert "note right of guidance\n        Periodic review (timer, every 6 months)" in text
    assert "\n    guidance :" not in text


def test_mermaid_merges_transitions_between_the_same_states(branch: WorkflowSpec) -> None:
    text = mermaid(branch)
    assert "joint_branch --> joint_branch : Record a member / Remove a member" in text
    assert "approval --> dropped : Refuse / Drop" in text


def test_mermaid_draws_a_transition_from_any_from_every_top_level_non_final_state(
        branch: WorkflowSpec) -> None:
    drops = re.findall(r"^    (\w+) --> dropped : .*Drop$", mermaid(branch), re.M)
    assert sorted(drops) == ["approval", "guidance", "intake"]


def test_mermaid_highlights_the_current_state(branch: WorkflowSpec) -> None:
    text = mermaid(branch, highlight="preparing")
    assert "classDef current " in text
    assert text.rstrip().endswith("class preparing current")
    assert "current" not in mermaid(branch)


def test_highlighting_an_unknown_state_is_an_error(branch: WorkflowSpec) -> None:
    with pytest.raises(ValueError, match="no such state"):
        mermaid(branch, highlight="nowhere")
    with pytest.raises(ValueError, match="no such state"):
        svg(branch, highlight="nowhere")


def test_mermaid_escapes_what_would_end_a_label_early() -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "title: {zh: 受理, en: Accept}", 'title: {zh: 受理, en: "Accept: step 1; \\"now\\""}'
    ).replace("title: {zh: 筹建, en: Preparing}", 'title: {zh: 筹建, en: "Prep \\"A\\" {x}"}')
    result = load_text(text)
    assert result.spec is not None, result.diagnostics
    out = mermaid(result.spec)
    assert "intake --> guidance : Accept∶ step 1； 'now'" in out
    assert 'state "Prep \'A\' (x)" as preparing' in out


def test_mermaid_renames_states_whose_id_is_a_mermaid_keyword() -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("selection", "note")
    result = load_text(text)
    assert result.spec is not None, result.diagnostics
    out = mermaid(result.spec)
    assert "[*] --> note_S" in out and "note_S --> confirmation" in out


def test_mermaid_falls_back_to_ids_and_the_other_language() -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "title: {zh: 公示, en: Public notice}", "title: {zh: 公示}")
    result = load_text(text)
    assert result.spec is not None
    out = mermaid(result.spec, lang="en")
    assert 'state "公示" as public_notice' in out
    assert 'state "approval" as approval' not in out  # titled states keep their title


def test_a_compiled_workflow_draws_like_its_spec(branch: WorkflowSpec) -> None:
    compiled = compile_workflow(branch, FIXTURE.read_text(encoding="utf-8"))
    assert mermaid(compiled, lang="zh") == mermaid(branch, lang="zh")
    assert svg(compiled) == svg(branch)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", [*sorted(FIXTURES.glob("*.yaml")), SHIPPED],
                         ids=lambda p: p.stem)
def test_svg_is_valid_xml_with_a_box_per_state(path: Path, lang: str) -> None:
    spec = spec_of(path)
    root = ET.fromstring(svg(spec, lang=lang))  # type: ignore[arg-type]
    assert root.tag == f"{SVG_NS}svg"
    groups = [g for g in root.iter(f"{SVG_NS}g") if "state" in g.get("class", "").split()]
    ids = {g.get("id") for g in groups}
    expected = {f"state-{sid}" for sid in _all_states(spec)}
    assert ids == expected


def test_svg_carries_chinese_labels_as_text(branch: WorkflowSpec) -> None:
    out = svg(branch, lang="zh")
    root = ET.fromstring(out)
    texts = {t.text for t in root.iter(f"{SVG_NS}text")}
    assert {"受理", "联合支部", "成立独立支部", "开始筹建"} <= texts
    assert out.encode("utf-8").decode("utf-8") == out


def test_svg_draws_every_transition_and_start_arrow(branch: WorkflowSpec) -> None:
    root = ET.fromstring(svg(branch))
    kinds = [p.get("class", "").split()[1] for p in root.iter(f"{SVG_NS}path")
             if p.get("class", "").startswith("edge")]
    # Transitions merged by (source, target, kind), one start arrow into the stage's first
    # step, the arrow from the start dot, and the four legend samples.
    assert kinds.count("automatic") == 2  # the edge and its legend sample
    assert kinds.count("timer") == 2
    assert kinds.count("start") == 2


def test_svg_highlights_the_current_state(branch: WorkflowSpec) -> None:
    root = ET.fromstring(svg(branch, highlight="public_notice"))
    current = [g.get("id") for g in root.iter(f"{SVG_NS}g")
               if "current" in g.get("class", "").split()]
    assert current == ["state-public_notice"]


def test_svg_is_deterministic(branch: WorkflowSpec) -> None:
    assert svg(branch, lang="zh") == svg(spec_of(FIXTURE), lang="zh")


def test_svg_escapes_markup_in_labels() -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "title: {zh: 受理, en: Intake}", 'title: {zh: 受理, en: "<b>Intake & co</b>"}')
    result = load_text(text)
    assert result.spec is not None
    root = ET.fromstring(svg(result.spec))
    assert "<b>Intake & co</b>" in {t.text for t in root.iter(f"{SVG_NS}text")}


def test_svg_places_states_no_path_reaches_in_a_last_row() -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "  declined:\n", "  orphan:\n    title: {en: Orphan}\n  declined:\n", 1)
    result = load_text(text)
    assert result.spec is not None, result.diagnostics
    root = ET.fromstring(svg(result.spec))
    tops = {g.get("id"): float(next(g.iter(f"{SVG_NS}rect")).get("y", "0"))
            for g in root.iter(f"{SVG_NS}g") if g.get("id", "").startswith("state-")}
    assert tops["state-orphan"] == max(tops.values())


def _all_states(spec: WorkflowSpec) -> list[str]:
    out: list[str] = []

    def walk(states: dict) -> None:  # type: ignore[type-arg]
        for sid, state in states.items():
            out.append(sid)
            walk(state.states)

    walk(spec.states)
    return out


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import app; app()", *args],
        capture_output=True, text=True, encoding="utf-8", cwd=ROOT, check=False,
    )


def test_hatchery_diagram_prints_mermaid_in_the_chosen_language() -> None:
    done = run_cli("diagram", str(SHIPPED), "--lang", "zh")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("---\ntitle: '社会组织孵化 2.2.0'")
    assert 'state "社会组织培育" as cultivation' in done.stdout


def test_hatchery_diagram_writes_svg_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "incubation.svg"
    done = run_cli("diagram", str(SHIPPED), "--format", "svg", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    ET.fromstring(target.read_text(encoding="utf-8"))


def test_hatchery_diagram_refuses_a_broken_definition(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    done = run_cli("diagram", str(broken))
    assert done.returncode == 1
    assert done.stdout == ""
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: error: ", done.stderr)
    assert "Traceback" not in done.stderr


def test_hatchery_diagram_reports_a_missing_file(tmp_path: Path) -> None:
    done = run_cli("diagram", str(tmp_path / "missing.yaml"))
    assert done.returncode == 1
    assert "missing.yaml" in done.stderr and ": error: " in done.stderr
    assert "Traceback" not in done.stderr


def test_hatchery_diagram_rejects_an_unknown_format() -> None:
    done = run_cli("diagram", str(SHIPPED), "--format", "png")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_svg_puts_a_stage_above_its_first_step_even_when_steps_are_entered_directly() -> None:
    spec = spec_of(ROOT / "workflows" / "member_development.yaml")
    root = ET.fromstring(svg(spec))
    tops = {g.get("id", "").removeprefix("state-"): float(next(g.iter(f"{SVG_NS}rect"))
                                                          .get("y", "0"))
            for g in root.iter(f"{SVG_NS}g") if g.get("id", "").startswith("state-")}

    def check(states: dict) -> None:  # type: ignore[type-arg]
        for sid, state in states.items():
            first = next((c for c, s in state.states.items() if s.initial), None)
            if first is not None:
                assert tops[sid] < tops[first], sid
            check(state.states)

    check(spec.states)


def test_zero_length_timers_are_said_in_words() -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace("default: P1M", "default: P0D")
    result = load_text(text)
    assert result.spec is not None
    assert "founding_due (timer, 0 days after Founding date)" in mermaid(result.spec)
    assert "筹建日期后0天" in mermaid(result.spec, lang="zh")
