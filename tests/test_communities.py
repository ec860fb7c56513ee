"""The community directory: names by path in zh and en, the last segment for a path it
lacks, a bad file refused whole with every problem named, and a changed file followed
(the last good directory kept when the new text is bad)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.access.communities import CommunityBook, CommunityFileError, parse_directory
from engine.settings import PROJECT_ROOT

TEXT = """
fuzhou: {zh: 福州市, en: Fuzhou}
fuzhou/gulou: 鼓楼区
fuzhou/gulou/dongjie: {zh: 东街街道, en: Dongjie Subdistrict}
"""


def test_a_known_community_is_named_in_the_persons_language() -> None:
    found = parse_directory(TEXT)
    assert found.name("fuzhou/gulou/dongjie", "zh") == "东街街道"
    assert found.name("fuzhou/gulou/dongjie", "en") == "Dongjie Subdistrict"


def test_an_english_name_falls_back_to_the_chinese_one() -> None:
    assert parse_directory(TEXT).name("fuzhou/gulou", "en") == "鼓楼区"


def test_the_full_name_runs_from_the_top_known_community_down() -> None:
    assert parse_directory(TEXT).full_name("fuzhou/gulou/dongjie", "zh") == "福州市 鼓楼区 东街街道"


def test_an_unknown_community_is_its_last_segment_and_its_path_as_full_name() -> None:
    found = parse_directory(TEXT)
    assert found.name("fuzhou/gulou/dongjie/x1", "zh") == "x1"
    assert found.full_name("fuzhou/gulou/dongjie/x1", "zh") == "fuzhou/gulou/dongjie/x1"


def test_the_communities_within_a_scope_are_listed_in_path_order() -> None:
    found = parse_directory(TEXT)
    assert found.within("fuzhou/gulou") == ["fuzhou/gulou", "fuzhou/gulou/dongjie"]
    assert found.within("*") == ["fuzhou", "fuzhou/gulou", "fuzhou/gulou/dongjie"]


def test_a_bad_file_is_refused_whole_naming_every_bad_entry() -> None:
    with pytest.raises(CommunityFileError) as refused:
        parse_directory("'a b': 甲\nfuzhou/x: {en: X}\nfuzhou/y: 乙\n")
    assert refused.value.problems == [
        "'a b' is not a community path such as fuzhou/cangshan",
        "fuzhou/x: needs a zh name (zh: 金州社区)"]


def test_text_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(CommunityFileError, match="mapping"):
        parse_directory("- fuzhou\n")


def test_the_shipped_directory_names_the_demo_community() -> None:
    found = parse_directory((PROJECT_ROOT / "communities.yaml").read_text(encoding="utf-8"))
    assert found.name("fuzhou/cangshan/jinshan/jinzhou", "zh") == "金州社区"


def test_a_missing_file_is_an_empty_directory(tmp_path: Path) -> None:
    assert CommunityBook(tmp_path / "none.yaml").current().names == {}


def test_a_changed_file_is_followed_and_a_bad_change_keeps_the_last_good_names(
        tmp_path: Path) -> None:
    path = tmp_path / "communities.yaml"
    path.write_text("fuzhou: 福州市\n", encoding="utf-8")
    book = CommunityBook(path)
    path.write_text("fuzhou: 福州\n", encoding="utf-8")
    os.utime(path, (1, 1))
    assert book.current(now=1e9).name("fuzhou", "zh") == "福州"
    path.write_text("fuzhou: {en: Fuzhou}\n", encoding="utf-8")
    os.utime(path, (2, 2))
    assert book.current(now=2e9).name("fuzhou", "zh") == "福州"


def test_a_bad_file_at_start_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "communities.yaml"
    path.write_text("fuzhou: {en: Fuzhou}\n", encoding="utf-8")
    with pytest.raises(CommunityFileError, match="needs a zh name"):
        CommunityBook(path)


def test_the_cli_lists_the_directory_and_names_every_bad_entry(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    path = tmp_path / "communities.yaml"
    path.write_text("fuzhou: {zh: 福州市, en: Fuzhou}\n", encoding="utf-8")
    listed = CliRunner().invoke(app, ["community", "list"],
                                env={"HATCHERY_COMMUNITIES_FILE": str(path)})
    assert listed.exit_code == 0
    assert listed.stdout.split() == ["fuzhou", "福州市", "Fuzhou"]
    path.write_text("fuzhou: {en: Fuzhou}\n", encoding="utf-8")
    refused = CliRunner().invoke(app, ["community", "list"],
                                 env={"HATCHERY_COMMUNITIES_FILE": str(path)})
    assert refused.exit_code == 2
    assert "fuzhou: needs a zh name" in refused.output
