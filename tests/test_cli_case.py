"""`hatchery case start|fire|show` on the configured database: the engine used from the
command line, every refusal as one line with its reason and exit 1, every failure to run
(bad JSON, a missing, corrupt or locked database) as one line with exit 2, never a
traceback. SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY, SHIPPED_WORKFLOWS, STORE_FIXTURES
from typer.testing import CliRunner, Result

from cli.main import app
from engine.ledger.chain import GENESIS
from engine.service import CaseService
from engine.store import db
from engine.store import pool as pool_module

runner = CliRunner()
INCUBATION = "store_incubation"
ORG = {"name": "Sunshine volunteers", "residents_need": "elderly care",
       "contact_phone": "+86 138 0000 1111"}
AGREEMENT = {"services": "elderly care visits", "activity_sessions": 4,
             "expected_effect": "fewer lonely elders", "agreement_date": "2026-03-02"}
COMMITTEE_ARGS = ("--actor", "li.committee", "--role", "party_committee")
CASEWORKER_ARGS = ("--actor", "wang.caseworker", "--role", "caseworker")


def case(db_url: str, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, ["case", *args], input=stdin, env={
        "DATABASE_URL": db_url, "HATCHERY_WORKFLOWS_DIR": str(STORE_FIXTURES),
        "COLUMNS": "250", "HATCHERY_ACTOR": ""})


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_line(result: Result) -> str:
    """The error of a failed command: exactly one line on standard error, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def started(db_url: str, **extra: Any) -> dict[str, Any]:
    result = case(db_url, "start", INCUBATION, "--community", COMMUNITY, "--data",
                  json.dumps({**ORG, **extra}), *COMMITTEE_ARGS, "--json")
    return as_json(result)["case"]  # type: ignore[no-any-return]


# -- start ---------------------------------------------------------------------------------


def test_start_creates_the_case_and_says_where_it_stands(db_url: str) -> None:
    result = case(db_url, "start", INCUBATION, "--community", COMMUNITY, "--data",
                  json.dumps(ORG), *COMMITTEE_ARGS, "--comment", "from the street office")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith("started case ")
    assert "store_incubation 1.0.0, state Selection (selection) (case version 1)" in line
    plain = started(db_url, has_party_organization=True)
    assert (plain["state"], plain["version"], plain["priority"]) == ("selection", 1, 2.0)
    assert plain["data"]["contact_phone"] == "+86 *********1111"  # masked without --pii
    assert plain["head_hash"] != GENESIS


def test_start_reads_the_data_from_a_file_or_standard_input(
        db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text(json.dumps({**ORG, "name": "阳光志愿队"}, ensure_ascii=False),
                    encoding="utf-8")
    from_file = as_json(case(db_url, "start", INCUBATION, "--community", COMMUNITY,
                             "--data", f"@{path}", *COMMITTEE_ARGS, "--json"))
    assert from_file["case"]["title"] == "阳光志愿队"
    from_stdin = as_json(case(db_url, "start", INCUBATION, "--community", COMMUNITY,
                              "--data", "@-", *COMMITTEE_ARGS, "--json",
                              stdin=json.dumps(ORG)))
    assert from_stdin["case"]["data"]["name"] == ORG["name"]


def test_invalid_initial_data_is_refused_field_by_field(db_url: str) -> None:
    result = case(db_url, "start", INCUBATION, "--community", COMMUNITY, "--data",
                  '{"name": 5, "party_member_count": -1}', *COMMITTEE_ARGS)
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("refused [input_invalid]: ")
    for field in ("Organization name", "Residents' need", "Number of party members"):
        assert field in line


# -- fire ----------------------------------------------------------------------------------


def test_fire_moves_the_case_with_input_and_reports_the_change(db_url: str) -> None:
    case_id = started(db_url)["id"]
    selected = case(db_url, "fire", case_id, "select", "--input",
                    '{"not_on_abnormal_lists": true}', *COMMITTEE_ARGS,
                    "--expected-version", "1")
    assert selected.exit_code == 0, selected.output
    assert selected.stdout.strip() == (
        f"Select (select): Selection (selection) -> Confirmation by agreement (confirmation) "
        f"(case {case_id}, now version 2)")
    signed = as_json(case(db_url, "fire", case_id, "sign_agreement", "--input",
                          json.dumps(AGREEMENT), *COMMITTEE_ARGS, "--json"))
    assert (signed["case"]["state"], signed["case"]["version"]) == ("cultivation", 3)
    assert signed["event"]["changes"]["activity_sessions"] == 4


def test_a_stale_version_is_a_conflict_naming_the_current_one(db_url: str) -> None:
    case_id = started(db_url)["id"]
    assert case(db_url, "fire", case_id, "select", "--input",
                '{"not_on_abnormal_lists": true}', *COMMITTEE_ARGS).exit_code == 0
    result = case(db_url, "fire", case_id, "decline", *COMMITTEE_ARGS,
                  "--expected-version", "1")
    assert result.exit_code == 1
    assert one_line(result) == (f"conflict: case {case_id} is at version 2, not 1: read it "
                                "again and retry")
    zh = case(db_url, "fire", case_id, "decline", *COMMITTEE_ARGS, "--expected-version", "1",
              "--lang", "zh")
    assert one_line(zh).startswith(f"冲突：事项 {case_id} 当前版本为 2")


def test_an_idempotency_key_replays_the_first_result(
        db_url: str, service: CaseService) -> None:
    case_id = started(db_url)["id"]
    args = ("fire", case_id, "select", "--input", '{"not_on_abnormal_lists": true}',
            *COMMITTEE_ARGS, "--idempotency-key", "cli-1")
    first = case(db_url, *args)
    again = case(db_url, *args)
    assert first.exit_code == again.exit_code == 0
    assert "replayed" in again.stdout and "replayed" not in first.stdout
    assert service.get_case(case_id).event_count == 2


@pytest.mark.parametrize(("trigger", "payload", "actor", "code", "words"), [
    ("sign_agreement", AGREEMENT, CASEWORKER_ARGS, "role_missing", "party_committee"),
    ("select", {"not_on_abnormal_lists": False}, COMMITTEE_ARGS, "guard_false",
     "abnormal-activity or serious-violation lists cannot be selected"),
    ("select", {"not_on_abnormal_lists": "maybe"}, COMMITTEE_ARGS, "input_invalid",
     "Not on the abnormal-activity or serious-violation lists: must be true or false"),
    ("graduate", {}, COMMITTEE_ARGS, "not_allowed_from_state", "'Selection'"),
    ("fly", {}, COMMITTEE_ARGS, "unknown_trigger", "'fly' is not a trigger"),
])
def test_every_refusal_names_its_reason_in_one_line_and_writes_nothing(
        db_url: str, service: CaseService, trigger: str, payload: dict[str, Any],
        actor: tuple[str, ...], code: str, words: str) -> None:
    case_id = started(db_url)["id"]
    if trigger == "sign_agreement":
        assert case(db_url, "fire", case_id, "select", "--input",
                    '{"not_on_abnormal_lists": true}', *COMMITTEE_ARGS).exit_code == 0
    before = service.get_case(case_id)
    result = case(db_url, "fire", case_id, trigger, "--input", json.dumps(payload), *actor)
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(f"refused [{code}]: ") and words in line
    assert service.get_case(case_id) == before


def test_checklist_suspended_and_closed_refusals(db_url: str, service: CaseService) -> None:
    case_id = started(db_url)["id"]
    for trigger, payload in (("select", {"not_on_abnormal_lists": True}),
                             ("sign_agreement", AGREEMENT)):
        assert case(db_url, "fire", case_id, trigger, "--input", json.dumps(payload),
                    *COMMITTEE_ARGS).exit_code == 0
    incomplete = case(db_url, "fire", case_id, "begin_final_evaluation", *COMMITTEE_ARGS)
    assert incomplete.exit_code == 1
    assert one_line(incomplete).startswith("refused [checklist_incomplete]: ")
    service.suspend(case_id, actor=COMMITTEE, reason="inspection")
    suspended = case(db_url, "fire", case_id, "remove", "--input", '{"reason": "x"}',
                     *COMMITTEE_ARGS, "--lang", "zh")
    assert one_line(suspended) == "拒绝 [case_suspended]: 事项已暂停，请先恢复"
    service.resume(case_id, actor=COMMITTEE)
    assert case(db_url, "fire", case_id, "remove", "--input", '{"reason": "x"}',
                *COMMITTEE_ARGS).exit_code == 0
    closed = case(db_url, "fire", case_id, "remove", "--input", '{"reason": "x"}',
                  *COMMITTEE_ARGS)
    assert closed.exit_code == 1
    assert one_line(closed).startswith("refused [case_closed]: ")


# -- show ----------------------------------------------------------------------------------


def test_show_gives_state_data_checklist_history_and_what_the_actor_may_do(
        db_url: str, service: CaseService) -> None:
    case_id = started(db_url)["id"]
    for trigger, payload in (("select", {"not_on_abnormal_lists": True}),
                             ("sign_agreement", AGREEMENT)):
        case(db_url, "fire", case_id, trigger, "--input", json.dumps(payload),
             *COMMITTEE_ARGS)
    service.tick(case_id, "venue", evidence="community hall, room 2", actor=COMMITTEE)
    result = case(db_url, "show", case_id, *CASEWORKER_ARGS)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"Case {case_id}" in text and "state: Cultivation (cultivation) · active" in text
    assert "Sunshine volunteers" in text and ORG["contact_phone"] not in text
    assert "community hall, room 2" in text and "One incubation plan" in text
    assert "Sign the agreement (sign_agreement)" in text  # history
    assert "What wang.caseworker may do next" in text
    assert re.search(r"Record a periodic evaluation \(record_evaluation\) +│ yes", text)
    assert "'Begin the final evaluation' needs one of the roles: party_committee" in text
    plain = as_json(case(db_url, "show", case_id, *CASEWORKER_ARGS, "--json", "--pii"))
    assert plain["case"]["data"]["contact_phone"] == ORG["contact_phone"]
    assert [e["kind"] for e in plain["history"]] == ["start", "transition", "transition",
                                                     "checklist_tick"]
    allowed = {a["trigger"]: a for a in plain["actions"]}
    assert allowed["record_evaluation"]["allowed"] is True
    assert allowed["begin_final_evaluation"]["refusal"]["code"] == "role_missing"


def test_show_in_chinese_and_without_an_actor(db_url: str) -> None:
    case_id = started(db_url)["id"]
    result = case(db_url, "show", case_id, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "阶段: 社会组织选择 (selection) · 进行中" in result.stdout
    assert "组织名称" in result.stdout and "历史记录" in result.stdout
    assert "指定 --actor 和 --role" in result.stdout


# -- failures to run -----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "code", "words"), [
    (("show", "nope"), 1, "not found: case 'nope'"),
    (("fire", "nope", "select", *COMMITTEE_ARGS), 1, "not found: case 'nope'"),
    (("fire", "nope", "select", "--input", "{bad", *COMMITTEE_ARGS), 2,
     "--input is not valid JSON: Expecting property name"),
    (("fire", "nope", "select", "--input", "[1, 2]", *COMMITTEE_ARGS), 2,
     "--input must be a JSON object"),
    (("fire", "nope", "select", "--input", "@/no/such/file.json", *COMMITTEE_ARGS), 2,
     "cannot read /no/such/file.json"),
    (("fire", "nope", "select"), 2, "--actor is required"),
    (("start", INCUBATION, "--data", "{}", *COMMITTEE_ARGS), 2, "--community is required"),
    (("start", "no_such_workflow", "--community", COMMUNITY, *COMMITTEE_ARGS), 1,
     "not found: workflow 'no_such_workflow'"),
    (("start", INCUBATION, "--community", "a//b", *COMMITTEE_ARGS), 1,
     "refused [invalid_community]"),
])
def test_each_failure_is_one_line_with_its_exit_status(
        db_url: str, args: tuple[str, ...], code: int, words: str) -> None:
    result = case(db_url, *args)
    assert result.exit_code == code
    assert words in one_line(result)


def test_a_corrupt_database_file_is_one_line_with_exit_2(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage, not SQLite " * 300)
    result = case(f"sqlite:///{corrupt}", "show", "abc")
    assert result.exit_code == 2
    assert "is corrupt or not a SQLite database" in one_line(result)


def test_a_locked_database_is_one_line_with_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    assert case(url, "show", "abc").exit_code == 1  # creates and upgrades the file
    monkeypatch.setattr(pool_module, "make_engine",
                        functools.partial(db.make_engine, busy_timeout=0.2))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = case(url, "fire", "abc", "select", *COMMITTEE_ARGS)
    finally:
        holder.close()
    assert result.exit_code == 2
    assert "is locked by another process" in one_line(result)


def test_an_unreachable_postgresql_is_one_line_with_exit_2() -> None:
    result = case("postgresql+psycopg://nobody@127.0.0.1:1/none", "show", "abc")
    assert result.exit_code == 2
    assert one_line(result).startswith("error: cannot reach the database")


def test_hatchery_case_runs_as_a_real_command(db_url: str, engine: sa.Engine) -> None:
    hatchery = str(Path(sys.executable).parent / "hatchery")
    environment = {"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url,
                   "HATCHERY_WORKFLOWS_DIR": str(STORE_FIXTURES), "HATCHERY_ACTOR": "li"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([hatchery, "case", *args], capture_output=True, text=True,
                              timeout=120, check=False, env=environment)

    begun = run("start", INCUBATION, "--community", COMMUNITY, "--data", json.dumps(ORG),
                "--role", "party_committee", "--json")
    assert begun.returncode == 0, begun.stderr
    case_id = json.loads(begun.stdout)["case"]["id"]
    fired = run("fire", case_id, "decline", "--role", "party_committee")
    assert fired.returncode == 0, fired.stderr
    shown = run("show", case_id, "--json")
    assert json.loads(shown.stdout)["case"]["status"] == "closed"
    refused = run("fire", case_id, "select", "--role", "party_committee")
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("refused [case_closed]")
    assert "Traceback" not in refused.stderr


def test_show_gives_enumerated_values_by_their_titles_beside_their_codes(db_url: str) -> None:
    """People read titles, never codes (issue 13, 7): `case show` in Chinese shows an
    evaluation's result as 一般, with the code the operator types beside it."""
    def shipped(*args: str) -> Result:
        return runner.invoke(app, ["case", *args], env={
            "DATABASE_URL": db_url, "HATCHERY_WORKFLOWS_DIR": str(SHIPPED_WORKFLOWS),
            "COLUMNS": "250", "HATCHERY_ACTOR": ""})

    case_id = as_json(shipped("start", "social_org_incubation", "--community", COMMUNITY,
                              "--data", json.dumps({"name": "熠家心理工作室",
                                                    "residents_need": "心理疏导"}),
                              *COMMITTEE_ARGS, "--json"))["case"]["id"]
    selected = as_json(shipped("fire", case_id, "select", "--input",
                               json.dumps({"not_on_abnormal_lists": True}), *COMMITTEE_ARGS,
                               "--json"))["case"]["data"]["selected_on"]
    for trigger, given in (
            ("sign_agreement", {"services": "心理咨询", "activity_sessions": 4,
                                "expected_effect": "服务百人", "agreement_date": selected,
                                "venue": "社区心理服务室", "startup_funds_yuan": 5000,
                                "instructor": "陈红", "resources_due": selected}),
            ("record_evaluation", {"evaluated_on": selected, "result": "fair",
                                   "services_as_agreed": True,
                                   "effect_achieved": "partly_achieved"})):
        done = shipped("fire", case_id, trigger, "--input", json.dumps(given),
                       *COMMITTEE_ARGS)
        assert done.exit_code == 0, done.output
    shown = shipped("show", case_id, "--lang", "zh")
    assert shown.exit_code == 0, shown.output
    assert "一般 (fair)" in shown.stdout and "部分达成 (partly_achieved)" in shown.stdout
