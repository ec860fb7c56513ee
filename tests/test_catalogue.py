"""The one way messages are kept in two languages: every catalogue of the code base is an
`engine.catalogue.Catalogue`, each entry has Chinese and English words naming the same
placeholders, and filling follows one set of rules."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import api
import cli
import engine
from engine.catalogue import CATALOGUES, Catalogue, Words, fill, placeholders


def _import_everything() -> None:
    """Every module of the code base, so that every catalogue is built."""
    for package in (engine, api, cli):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)


_import_everything()


def test_the_code_base_keeps_its_messages_in_catalogues() -> None:
    assert {"designer", "refusals", "api.problems", "console", "cli.case"} <= set(CATALOGUES)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def _bilingual_pair(node: ast.expr) -> bool:
    """An ("English", "中文") or ("中文", "English") pair of written strings."""
    if not (isinstance(node, ast.Tuple) and len(node.elts) == 2
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                    for e in node.elts)):
        return False
    texts = [e.value for e in node.elts if isinstance(e, ast.Constant)]
    return any(_CJK.search(t) for t in texts) and any(
        _LATIN.search(t) and not _CJK.search(t) for t in texts)


def _tables_outside_catalogues(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr in ("en_zh", "zh_en")
             for arg in node.args}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Dict) and id(node) not in built and len(node.values) >= 2
            and any(_bilingual_pair(v) for v in node.values)]


def test_no_table_of_words_in_two_languages_is_kept_outside_a_catalogue() -> None:
    root = Path(__file__).resolve().parent.parent
    found = {str(path.relative_to(root)): lines
             for package in ("engine", "api", "cli")
             for path in sorted((root / package).rglob("*.py"))
             if (lines := _tables_outside_catalogues(path))}
    assert found == {}


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_message_has_chinese_and_english_words(name: str) -> None:
    missing = [key for key, words in CATALOGUES[name].items()
               if not words.zh.strip() or not words.en.strip()]
    assert missing == []


# Placeholders deliberately shown in English only: the regular-expression engine's own
# message, which only exists in English (the Chinese text says how to fix the pattern).
ENGLISH_ONLY = {("designer", "bad_regex"): {"detail"},
                ("designer", "regex_unsupported"): {"detail"}}


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_both_languages_of_a_message_name_the_same_placeholders(name: str) -> None:
    differing = {key: (sorted(placeholders(words.en)), sorted(placeholders(words.zh)))
                 for key, words in CATALOGUES[name].items()
                 if placeholders(words.en) - ENGLISH_ONLY.get((name, key), set())
                 != placeholders(words.zh)}
    assert differing == {}


SAMPLE = Catalogue.en_zh("test.sample", {
    "closed": ("the case is closed (final state '{state}')", "事项已结束（终止阶段“{state}”）"),
    "roles": ("needs one of the roles: {roles}", "需要以下角色之一：{roles}"),
})


def test_a_table_written_chinese_first_reads_the_same_as_one_written_english_first() -> None:
    zh_first = Catalogue.zh_en("test.zh_first", {"closed": (SAMPLE["closed"].zh,
                                                            SAMPLE["closed"].en)})
    assert zh_first["closed"] == SAMPLE["closed"]


def test_a_message_is_chosen_by_language_and_filled() -> None:
    assert SAMPLE.text("closed", "en", state="done") == "the case is closed (final state 'done')"
    assert SAMPLE.text("closed", "zh", state="结束") == "事项已结束（终止阶段“结束”）"


def test_words_fill_a_message_in_both_languages_at_once() -> None:
    assert SAMPLE.words("roles", roles=["a", "b"]) == Words(
        "needs one of the roles: a, b", "需要以下角色之一：a、b")


def test_an_argument_given_in_both_languages_is_shown_in_the_message_language() -> None:
    state = Words("Review", "审核")
    assert SAMPLE.text("closed", "zh", state=state) == "事项已结束（终止阶段“审核”）"
    assert SAMPLE.text("closed", "en", state=state).endswith("'Review')")


def test_quotes_inside_chinese_quotes_become_single_quotes() -> None:
    shown = SAMPLE.text("closed", "zh", state="落实“四个一”")
    assert shown == "事项已结束（终止阶段“落实‘四个一’”）"


def test_a_missing_argument_shows_the_template_instead_of_raising() -> None:
    shown = fill("needs {roles}", "en", {"other": 1})
    assert shown.startswith("needs {roles}")


def test_escaped_braces_are_not_placeholders() -> None:
    assert placeholders("write {{}} after {name}") == {"name"}
