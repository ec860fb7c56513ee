"""Loading definitions: every problem located, in plain words, and never an exception."""

from __future__ import annotations

import gc
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml.nodes import Node

import engine.definitions.yaml_nodes as yaml_nodes
from engine.definitions.loader import MAX_BYTES, LoadResult, load_file, load_text
from engine.language.diagnostics import MESSAGES

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "fixtures" / "broken"
EXPECTED = tomllib.loads((BROKEN / "expected.toml").read_text(encoding="utf-8"))
WORKFLOWS = sorted((ROOT / "workflows").glob("*.yaml"))
SHIPPED = ROOT / "workflows" / "social_org_incubation.yaml"

MINI = """\
id: mini
version: 1.0.0
title: {zh: 小流程, en: Mini}
fields:
  level: {type: enum, values: [good, fair, poor]}
states:
  draft:
    initial: true
  done:
    final: true
transitions:
  - trigger: finish
    from: draft
    to: done
"""

PARSERS = ["pure"] + (["c"] if yaml_nodes._CParser is not None else [])


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the pure-Python YAML parser, and with the C one when installed."""
    if request.param == "pure":
        monkeypatch.setattr(yaml_nodes, "_CParser", None)
    return str(request.param)


def _expected(name: str) -> list[tuple[str, str]]:
    rows = EXPECTED[name]
    return [(row.split(" | ", 1)[0], row.split(" | ", 1)[1]) for row in rows]


def test_every_broken_definition_has_its_expectations() -> None:
    files = {p.name for p in BROKEN.glob("*.yaml")}
    assert files == set(EXPECTED)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_definition_is_reported_where_the_mistake_is(name: str, parser: str) -> None:
    result = load_file(BROKEN / name)
    reported = [(f"{d.line}:{d.column} {d.severity} {d.code}", d.message)
                for d in result.diagnostics]
    expected = _expected(name)
    assert [r[0] for r in reported] == [e[0] for e in expected]
    for (_, message), (_, fragment) in zip(reported, expected, strict=True):
        assert fragment in message
    only_warnings = all(e[0].split()[1] == "warning" for e in expected)
    assert result.ok is only_warnings
    assert (result.compiled is not None) is only_warnings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_definition_is_reported_in_chinese_at_the_same_places(name: str) -> None:
    english = load_file(BROKEN / name, "en").diagnostics
    chinese = load_file(BROKEN / name, "zh").diagnostics
    assert [(d.line, d.column, d.code) for d in chinese] == \
        [(d.line, d.column, d.code) for d in english]
    for en, zh in zip(english, chinese, strict=True):
        assert zh.message != en.message or en.code in ("invalid_value", "yaml_syntax")
        assert "{" not in zh.message.replace("{zh", "").replace("{}", "")
        assert zh.in_language("en").message == en.message


def test_every_reported_code_has_words_in_both_languages() -> None:
    codes = {d.code for name in EXPECTED for d in load_file(BROKEN / name).diagnostics}
    assert codes <= set(MESSAGES)
    for code in codes:
        words = MESSAGES[code]
        assert words.en and words.zh and words.en != words.zh


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_shipped_workflow_validates_and_compiles(path: Path) -> None:
    result = load_file(path)
    assert [d.format() for d in result.errors] == []
    assert result.compiled is not None
    assert result.compiled.id == result.spec.id if result.spec else False


def test_social_org_incubation_has_no_warning_either() -> None:
    assert load_file(SHIPPED).diagnostics == []


def test_a_valid_definition_is_compiled_once_loaded(parser: str) -> None:
    result = load_text(MINI, "mini.yaml")
    assert result.ok and result.diagnostics == []
    assert result.compiled is not None and result.compiled.initial == "draft"


def test_yes_no_on_off_stay_text_under_yaml_1_2(parser: str) -> None:
    text = MINI.replace("values: [good, fair, poor]", "values: [yes, no, on, off, y, n]")
    result = load_text(text)
    assert result.ok
    assert result.spec is not None
    assert result.spec.fields["level"].values == ["yes", "no", "on", "off", "y", "n"]


def test_dates_and_versions_stay_text(parser: str) -> None:
    text = MINI.replace("level: {type: enum, values: [good, fair, poor]}",
                        "start: {type: date, default: 2026-07-01}")
    result = load_text(text)
    assert result.ok and result.spec is not None
    assert result.spec.fields["start"].default == "2026-07-01"
    assert result.spec.version == "1.0.0"


def test_numbers_and_booleans_follow_the_core_schema(parser: str) -> None:
    text = MINI.replace(
        "level: {type: enum, values: [good, fair, poor]}",
        "a: {type: integer, default: 0x1F}\n  b: {type: number, default: 1.5e1}\n"
        "  c: {type: boolean, default: True}\n  d: {type: string, default: '017'}")
    result = load_text(text)
    assert result.ok and result.spec is not None
    assert [result.spec.fields[k].default for k in "abcd"] == [31, 15.0, True, "017"]


def test_a_python_tag_is_refused_and_never_constructed(parser: str, tmp_path: Path) -> None:
    marker = tmp_path / "created"
    text = MINI.replace("title: {zh: 小流程, en: Mini}",
                        f"title: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]")
    result = load_text(text)
    assert [d.code for d in result.diagnostics] == ["yaml_tag"]
    assert not marker.exists()


def test_anchors_aliases_and_merge_keys_are_plain_yaml(parser: str) -> None:
    text = MINI.replace("transitions:\n", "transitions:\n  - &base\n    trigger: close\n"
                        "    from: draft\n    to: done\n  - <<: *base\n    trigger: cancel\n")
    result = load_text(text)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.spec is not None
    assert [t.trigger for t in result.spec.transitions] == ["close", "cancel", "finish"]


def test_a_key_that_overrides_a_merge_is_located_where_it_is_written(parser: str) -> None:
    text = MINI.replace("transitions:\n", "transitions:\n  - &base\n    trigger: close\n"
                        "    from: draft\n    to: done\n  - <<: *base\n    trigger: cancel\n"
                        "    to: nowhere\n")
    [diagnostic] = load_text(text).diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("unknown_state", 18, 9)


def test_a_billion_laughs_is_refused_quickly(parser: str) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    result = load_text("\n".join(lines) + "\n")
    assert [d.code for d in result.diagnostics] == ["yaml_bomb"]


def test_deep_nesting_is_refused_without_crashing(parser: str) -> None:
    for depth in (100, 100_000):
        result = load_text("a: " + "[" * depth + "]" * depth + "\n")
        assert [d.code for d in result.diagnostics] == ["yaml_too_deep"]


def test_a_loaded_definition_leaves_no_yaml_node_to_the_cycle_collector() -> None:
    # The nodes are freed as soon as the load ends, not left in a reference cycle for the
    # cyclic collector to find (which cost a 200-state load about 15 % of its time).
    gc.collect()
    gc.disable()
    try:
        result = load_text(MINI, "mini.yaml")  # read by the quick walk: no alias, no tag
        alive = sum(isinstance(o, Node) for o in gc.get_objects())
    finally:
        gc.enable()
    assert result.ok
    assert alive == 0


LOADING_MODULES = ("engine.language", "engine.definitions", "engine.core", "ruamel",
                   "transitions", "cel")
"""Whose objects a load makes: the cycle check looks at these only, since the collector
also finds what other threads of the test process (live servers, schedulers) left."""


def _made_by_a_load(item: object) -> bool:
    module = getattr(type(item), "__module__", "") or ""
    if callable(item) and hasattr(item, "__module__"):
        module = getattr(item, "__module__", "") or module
    return module.startswith(LOADING_MODULES)


def test_a_load_leaves_no_reference_cycle_for_the_collector_to_find() -> None:
    # Garbage of a load is freed by reference counting the moment the load ends; only a
    # cycle would wait for (and cost) a pass of the cyclic collector.
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = load_text(SHIPPED.read_text(encoding="utf-8"), SHIPPED.name)
        gc.collect()
        cycles = [item for item in gc.garbage if _made_by_a_load(item)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert result.ok
    assert cycles == []


def test_a_load_resumes_the_collector_and_thaws_nothing_frozen_by_others() -> None:
    # The freeze count itself may fall meanwhile (a frozen object freed by another test's
    # thread), so the check is that an object frozen before the load is still frozen:
    # thawed, it would be back in the oldest generation.
    sentinel: list[object] = []
    gc.freeze()  # as a server does before forking its workers
    try:
        result = load_text(MINI, "mini.yaml")
        thawed = any(item is sentinel for item in gc.get_objects(generation=2))
        assert (gc.isenabled(), thawed) == (True, False)
    finally:
        gc.unfreeze()
    assert result.ok
    load_text(MINI, "mini.yaml")
    assert (gc.isenabled(), gc.get_freeze_count()) == (True, 0)


def test_a_text_over_one_mebibyte_is_refused_before_parsing() -> None:
    result = load_text("a: " + "x" * MAX_BYTES + "\n", "big.yaml")
    assert [(d.code, d.line, d.column) for d in result.diagnostics] == [("file_too_large", 1, 1)]


def test_a_file_over_one_mebibyte_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    [diagnostic] = load_file(big).diagnostics
    assert diagnostic.code == "file_too_large"
    assert "1 MiB" in diagnostic.message


def test_a_missing_file_or_a_folder_is_a_diagnostic(tmp_path: Path) -> None:
    assert [d.code for d in load_file(tmp_path / "nope.yaml").diagnostics] == \
        ["file_not_found"]
    assert [d.code for d in load_file(tmp_path).diagnostics] == ["file_unreadable"]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINI.encode("utf-8"))
    assert load_file(path).ok


def test_control_characters_are_located() -> None:
    [diagnostic] = load_text("id: mini\ntitle: a\x00b\n").diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == \
        ("yaml_control_character", 2, 9)


def test_a_key_left_empty_is_pointed_at_with_a_remedy() -> None:
    text = MINI.replace("  done:\n    final: true\n", "  review:\n  done:\n    final: true\n")
    [diagnostic] = load_text(text).diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("empty_mapping", 9, 3)
    assert "write {} after the colon" in diagnostic.message


def test_text_that_is_no_mapping_is_said_plainly() -> None:
    [diagnostic] = load_text("just some words\n").diagnostics
    assert diagnostic.code == "not_a_mapping"
    assert "the text 'just some words'" in diagnostic.message


def test_diagnostic_format_is_path_line_column_severity_message() -> None:
    [diagnostic] = load_text(MINI.replace("to: done", "to: dnoe"), "w.yaml").diagnostics
    assert diagnostic.format() == \
        "w.yaml:14:9: error: there is no state 'dnoe'; did you mean 'done'?"


def test_an_expression_problem_points_into_a_quoted_guard() -> None:
    text = MINI.replace("to: done\n", "to: done\n    guard: \"data.levl == 'good'\"\n"
                        "    refusal: Only good ones.\n")
    [diagnostic] = load_text(text).errors
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == \
        ("expression_unknown_data", 15, 18)


def test_an_expression_problem_points_into_a_folded_guard() -> None:
    text = MINI.replace("to: done\n", "to: done\n    guard: >-\n      data.level == 'good'\n"
                        "      && data.levl != 'poor'\n    refusal: Only good ones.\n")
    [diagnostic] = load_text(text).errors
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == \
        ("expression_unknown_data", 17, 15)


def test_every_shape_problem_is_reported_at_once() -> None:
    text = (MINI.replace("version: 1.0.0", "version: one")
            .replace("initial: true", "initial: yes please")
            .replace("final: true", "final: true\n    colour: red"))
    codes = [d.code for d in load_text(text).diagnostics]
    assert codes == ["bad_version", "wrong_type", "unknown_key"]


def test_a_duplicate_key_does_not_hide_the_other_problems() -> None:
    text = MINI.replace("    to: done\n", "    to: done\n    to: draft\n    trigger: again\n")
    codes = [d.code for d in load_text(text).diagnostics]
    assert codes == ["duplicate_key", "duplicate_key"]


def test_a_load_result_without_spec_is_not_ok() -> None:
    assert not LoadResult("x", "", None).ok


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list(" \t\n:-[]{}&*!|>'\"#,?%@`abc01~.<=\x00é孵")),
               max_size=200))
def test_no_text_makes_the_loader_raise(text: str) -> None:
    result = load_text(text)
    assert result.spec is None or isinstance(result.diagnostics, list)
    assert all(d.code != "internal_error" for d in result.diagnostics), result.diagnostics


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_damage_to_a_real_definition_makes_the_loader_raise(data: st.DataObject) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text) - 1))
        length = data.draw(st.integers(0, 40))
        insert = data.draw(st.sampled_from(["", " ", "\t", ":", "- ", "\n", "x", "'", "{", "*a"]))
        text = text[:start] + insert + text[start + length:]
    result = load_text(text)
    assert all(d.code != "internal_error" for d in result.diagnostics), result.diagnostics
    assert all(d.line >= 1 and d.column >= 1 for d in result.diagnostics)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_no_bytes_make_load_file_raise(tmp_path_factory: pytest.TempPathFactory,
                                        raw: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "any.yaml"
    path.write_bytes(raw)
    result = load_file(path)
    assert all(d.code != "internal_error" for d in result.diagnostics), result.diagnostics
