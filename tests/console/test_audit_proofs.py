"""The auditor's desk over plain HTTP, looking back and proving: a record on a date, the
records in a stage on a date, verification of the chains in scope, checkpoints kept and
checked, stage statistics with the chart, the operations log."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from console.conftest import COMMUNITY, Console, form_tokens
from engine.core.decision import Actor

COMMITTEE = Actor("seed.committee", frozenset({"party_committee", "caseworker"}))


def _record(console: Console, name: str, community: str) -> str:
    result = console.app.state.service.start_case(
        "social_org_incubation", {"name": name, "residents_need": "助老"},
        actor=COMMITTEE, community=community)
    return str(result.case.id)


def _auditor(console: Console, community: str, name: str | None = None) -> str:
    return console.person(roles=("auditor",), community=community, display_name=name)


def test_a_record_is_shown_as_it_stood_at_the_end_of_a_day(console: Console) -> None:
    area = f"{COMMUNITY}/at-record"
    case_id = _record(console, "金洲书画社", area)
    started = console.clock.now()
    console.clock.advance(timedelta(days=2))  # selected two days later; then back again,
    try:  # for the other tests of the session expect the frozen Monday
        console.app.state.service.fire(case_id, "select",
                                       input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    finally:
        console.clock.set(started)
    client = console.signed_in(_auditor(console, area))
    then = client.get("/audit/at", params={"case": case_id, "on": started.date().isoformat()})
    assert "社会组织选择" in then.text.split('id="stood-stage"')[1][:40]
    later = (started + timedelta(days=2)).date().isoformat()
    now = client.get("/audit/at", params={"case": case_id, "on": later}).text
    assert "社会组织确认" in now.split('id="stood-stage"')[1][:40]
    before = (started - timedelta(days=1)).date().isoformat()
    assert "该日期时档案尚未建立" in client.get(
        "/audit/at", params={"case": case_id, "on": before}).text


def test_a_record_is_found_by_part_of_its_name(console: Console) -> None:
    area = f"{COMMUNITY}/at-search"
    _record(console, "金洲机器人工作室", area)
    page = console.signed_in(_auditor(console, area)).get("/audit/at", params={"q": "机器人"})
    assert "金洲机器人工作室" in page.text


def test_the_records_in_a_stage_on_a_date_are_listed(console: Console) -> None:
    area = f"{COMMUNITY}/at-stage"
    _record(console, "金洲心理工作室", area)
    client = console.signed_in(_auditor(console, area))
    page = client.get("/audit/at", params={"workflow": "social_org_incubation",
                                           "stage": "selection"}).text
    assert "金洲心理工作室" in page.split('id="in-stage"')[1]


def test_verifying_the_scope_says_the_histories_are_intact(console: Console) -> None:
    area = f"{COMMUNITY}/verify-ok"
    _record(console, "甲", area)
    _record(console, "乙", area)
    client = console.signed_in(_auditor(console, area))
    tokens = form_tokens(client.get("/audit/integrity").text)
    page = client.post("/audit/verify", data=tokens).text
    assert "核验通过：2 份档案的办理记录完整" in page


def test_an_edited_event_is_named_by_its_records_title(console: Console) -> None:
    area = f"{COMMUNITY}/verify-broken"
    case_id = _record(console, "被改动的组织", area)
    with console.app.state.service.engine.begin() as connection:
        # The append-only trigger is set aside for the edit and put back (SQLite store).
        trigger = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'events_no_update'").scalar_one()
        connection.exec_driver_sql("DROP TRIGGER events_no_update")
        connection.execute(sa.text("UPDATE events SET comment = 'x' WHERE case_id = :c"),
                           {"c": case_id})
        connection.exec_driver_sql(trigger)
    client = console.signed_in(_auditor(console, area))
    tokens = form_tokens(client.get("/audit/integrity").text)
    page = client.post("/audit/verify", data=tokens).text
    assert "发现 1 份档案的办理记录与写入时不一致" in page
    assert "被改动的组织" in page and "记录内容被修改" in page


def test_a_verification_needs_the_forms_token(console: Console) -> None:
    client = console.signed_in(_auditor(console, f"{COMMUNITY}/verify-csrf"))
    assert client.post("/audit/verify", data={}).status_code == 403


def test_a_checkpoint_is_downloaded_listed_and_checked(console: Console) -> None:
    area = f"{COMMUNITY}/checkpoint"
    _record(console, "甲", area)
    client = console.signed_in(_auditor(console, area, name="赵审计"))
    tokens = form_tokens(client.get("/audit/integrity").text)
    answer = client.post("/audit/checkpoint", data=tokens)
    assert answer.headers["content-disposition"].startswith("attachment;")
    kept = json.loads(answer.text)
    assert kept["case_count"] == 1
    listed = client.get("/audit/integrity").text
    assert kept["digest"] in listed and "赵审计" in listed
    checked = client.post("/audit/checkpoint/verify", data=tokens,
                          files={"file": ("cp.json", answer.content, "application/json")})
    assert "核验通过：检查点" in checked.text
    assert "该摘要与操作日志中生成时记下的一致" in checked.text


def test_an_altered_checkpoint_file_is_refused_in_words(console: Console) -> None:
    area = f"{COMMUNITY}/checkpoint-altered"
    _record(console, "甲", area)
    client = console.signed_in(_auditor(console, area))
    tokens = form_tokens(client.get("/audit/integrity").text)
    kept = json.loads(client.post("/audit/checkpoint", data=tokens).text)
    head = next(iter(kept["heads"].values()))
    head["event_count"] += 1
    checked = client.post("/audit/checkpoint/verify", data=tokens, files={
        "file": ("cp.json", json.dumps(kept).encode(), "application/json")})
    assert "核验未通过：检查点文件被改动过" in checked.text


def test_stage_statistics_show_the_table_and_the_chart(console: Console) -> None:
    area = f"{COMMUNITY}/stats"
    _record(console, "甲", area)
    _record(console, "乙", area)
    page = console.signed_in(_auditor(console, area)).get(
        "/audit/stats", params={"workflow": "social_org_incubation"}).text
    assert "<svg" in page.split('id="chart"')[1]
    row = page.split('id="stats"')[1].split("社会组织选择</td>")[1]
    assert row.split("</td>")[0].endswith(">2")


def test_the_operations_log_names_people_and_actions(console: Console) -> None:
    area = f"{COMMUNITY}/operations"
    client = console.signed_in(_auditor(console, area, name="钱审计"))
    tokens = form_tokens(client.get("/audit/integrity").text)
    client.post("/audit/verify", data=tokens)
    admin = console.signed_in(console.person(roles=("admin",), community="*"))
    page = admin.get("/audit/operations", params={"action": "verify"}).text
    assert "钱审计" in page and "核验" in page
    assert "verify" not in page.split('id="operations"')[1]
