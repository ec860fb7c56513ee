"""`hatchery user create|passwd|disable|list` and the demo's people."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from cli.main import app
from engine.access.demo import DEMO_PEOPLE, STORY_PEOPLE, create_demo_people
from engine.access.users import UserStore

runner = CliRunner()
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _run(tmp_path: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, ["user", *args], input=stdin, env={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "HATCHERY_DATA_DIR": str(tmp_path)})


def test_create_prints_a_generated_first_password_once(tmp_path: Path) -> None:
    created = _run(tmp_path, "create", "--name", "wang.li", "--display-name", "王丽",
                   "--role", "caseworker", "--community", "fuzhou/cangshan",
                   "--generate-password")
    assert created.exit_code == 0, created.output
    password = created.stdout.strip()
    listed = _run(tmp_path, "list")
    assert "wang.li" in listed.stdout and "must change password" in listed.stdout
    assert "fuzhou/cangshan（仓山区）" in listed.stdout
    assert password not in listed.output


def test_create_asks_for_the_password_twice(tmp_path: Path) -> None:
    mismatch = _run(tmp_path, "create", "--name", "li.mei", "--role", "auditor",
                    "--community", "fuzhou", stdin="Jinzhou-2026\nJinzhou-2027\n")
    assert mismatch.exit_code == 2
    assert "not the same" in mismatch.output


def test_a_password_breaking_the_policy_is_refused_with_the_reason(tmp_path: Path) -> None:
    refused = _run(tmp_path, "create", "--name", "li.mei", "--role", "auditor",
                   "--community", "fuzhou", stdin="abc\nabc\n")
    assert refused.exit_code == 2
    assert "at least 10 characters" in refused.output


def test_disable_and_passwd_name_a_person_who_exists(tmp_path: Path) -> None:
    _run(tmp_path, "create", "--name", "li.mei", "--role", "auditor", "--community",
         "fuzhou", "--generate-password")
    assert _run(tmp_path, "passwd", "nobody", "--generate-password").exit_code == 2
    assert _run(tmp_path, "passwd", "li.mei", "--generate-password").exit_code == 0
    assert _run(tmp_path, "disable", "li.mei").exit_code == 0
    assert _run(tmp_path, "disable", "li.mei").exit_code == 1
    assert "li.mei" not in _run(tmp_path, "list").stdout
    assert "disabled" in _run(tmp_path, "list", "--all").stdout


def test_the_demo_has_one_person_for_each_kind_of_work_created_once(
        engine: sa.Engine) -> None:
    store = UserStore(engine)
    first = create_demo_people(store, community="fuzhou/cangshan/jinshan/jinzhou", now=NOW)
    again = create_demo_people(store, community="fuzhou/cangshan/jinshan/jinzhou", now=NOW)
    assert [p.name for p, _ in first] == [p.name for p in DEMO_PEOPLE] and again == []
    roles = {role for record in store.list() for role in record.roles}
    assert {"admin", "designer", "caseworker", "auditor"} <= roles
    assert not any(record.must_change_password for record in store.list())


def test_the_people_of_the_demos_history_are_named_but_cannot_sign_in(
        engine: sa.Engine) -> None:
    from engine.contrib.demo.actors import DEMO_ACTORS

    store = UserStore(engine)
    create_demo_people(store, community="fuzhou/cangshan/jinshan/jinzhou", now=NOW)
    assert {p.name for p in STORY_PEOPLE} == set(DEMO_ACTORS)
    assert store.display_names(["huang.min"]) == {"huang.min": "黄敏（上古中心）"}
    assert "huang.min" not in {record.name for record in store.list()}
