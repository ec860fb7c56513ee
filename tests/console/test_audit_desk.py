"""The auditor's desk over plain HTTP: the history searched with the API's filters (in
people's words, in the person's scope), and exports of what the filters keep."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

from console.conftest import COMMUNITY, Console
from engine.core.decision import Actor
from engine.store.operations import list_operations

COMMITTEE = Actor("seed.committee", frozenset({"party_committee", "caseworker"}))


def _record(console: Console, name: str, community: str) -> str:
    result = console.app.state.service.start_case(
        "social_org_incubation", {"name": name, "residents_need": "助老"},
        actor=COMMITTEE, community=community)
    return str(result.case.id)


def _select(console: Console, case_id: str) -> None:
    console.app.state.service.fire(case_id, "select", input={"not_on_abnormal_lists": True},
                                   actor=COMMITTEE)


def _auditor(console: Console, community: str) -> str:
    return console.person(roles=("auditor",), community=community)


def _records(page: str) -> list[str]:
    return re.findall(r'<a href="/cases/[0-9a-f]+">([^<]+)</a>', page)


def test_a_caseworker_is_refused_the_auditors_desk(console: Console) -> None:
    client = console.signed_in(console.person())
    assert "审计" not in client.get("/").text.split("</nav>")[0]
    refused = client.get("/audit")
    assert refused.status_code == 403
    assert "审计功能仅供审计人员和管理员使用" in refused.text


def test_the_search_shows_events_in_peoples_words(console: Console) -> None:
    area = f"{COMMUNITY}/audit-words"
    _select(console, _record(console, "金洲书画社", area))
    page = console.signed_in(_auditor(console, area)).get("/audit").text
    assert "金洲书画社" in _records(page)
    assert "选定" in page and "从“社会组织选择”到“社会组织确认”" in page
    assert "社区党委" in page
    assert "social_org_incubation" not in page.split('id="events"')[1]


def test_the_search_filters_by_step(console: Console) -> None:
    area = f"{COMMUNITY}/audit-step"
    _record(console, "甲 只建档", area)
    _select(console, _record(console, "乙 已选定", area))
    client = console.signed_in(_auditor(console, area))
    page = client.get("/audit", params={"workflow": "social_org_incubation",
                                        "step": "select"}).text
    assert _records(page) == ["乙 已选定"]


def test_the_search_keeps_the_persons_scope(console: Console) -> None:
    area = f"{COMMUNITY}/audit-scope"
    _record(console, "本社区的组织", area)
    elsewhere = _record(console, "别处的组织", f"{COMMUNITY}/audit-elsewhere")
    client = console.signed_in(_auditor(console, area))
    assert "别处的组织" not in client.get("/audit").text
    assert "别处的组织" not in client.get("/audit", params={"case": elsewhere}).text


def test_the_period_includes_its_last_day(console: Console) -> None:
    area = f"{COMMUNITY}/audit-period"
    _record(console, "三月二日的组织", area)
    client = console.signed_in(_auditor(console, area))
    day = console.clock.now().date().isoformat()
    assert _records(client.get("/audit", params={"since": day, "until": day}).text) == [
        "三月二日的组织"]
    after = (console.clock.now() + timedelta(days=1)).date().isoformat()
    assert _records(client.get("/audit", params={"since": after}).text) == []


def test_inverted_dates_are_named_in_the_summary(console: Console) -> None:
    client = console.signed_in(_auditor(console, f"{COMMUNITY}/audit-inverted"))
    page = client.get("/audit", params={"since": "2026-03-05", "until": "2026-03-01"}).text
    assert "error-summary" in page and "“到”的日期不能早于“从”的日期" in page


def test_a_condition_on_what_was_entered_is_chosen_by_the_fields_title(
        console: Console) -> None:
    area = f"{COMMUNITY}/audit-condition"
    _record(console, "甲 未选定", area)
    _select(console, _record(console, "乙 已选定", area))
    client = console.signed_in(_auditor(console, area))
    page = client.get("/audit", params={"workflow": "social_org_incubation"}).text
    assert "未列入活动异常名录或严重违法失信名单" in page
    found = client.get("/audit", params={
        "workflow": "social_org_incubation", "cf": "not_on_abnormal_lists", "co": "eq",
        "cv": "是"}).text
    assert _records(found) == ["乙 已选定"]


def test_a_csv_export_keeps_the_filters_and_opens_in_excel(console: Console) -> None:
    area = f"{COMMUNITY}/audit-csv"
    _record(console, "甲 只建档", area)
    _select(console, _record(console, "乙 已选定", area))
    client = console.signed_in(_auditor(console, area))
    answer = client.get("/audit/export", params={
        "workflow": "social_org_incubation", "step": "select", "format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith("\ufeff".encode())
    rows = [line for line in answer.text.splitlines() if line and not line.startswith(
        ("\ufeff", "#"))]
    assert len(rows) == 1 and ",select," in rows[0]


def test_an_xlsx_export_is_a_workbook(console: Console) -> None:
    area = f"{COMMUNITY}/audit-xlsx"
    _record(console, "甲", area)
    answer = console.signed_in(_auditor(console, area)).get(
        "/audit/export", params={"format": "xlsx"})
    assert zipfile.is_zipfile(io.BytesIO(answer.content))


def test_a_jsonl_export_is_one_event_a_line_and_is_logged(console: Console) -> None:
    area = f"{COMMUNITY}/audit-jsonl"
    case_id = _record(console, "甲", area)
    name = _auditor(console, area)
    answer = console.signed_in(name).get("/audit/export", params={"format": "jsonl"})
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [line["case_id"] for line in lines] == [case_id]  # no trailer row
    logged, _ = list_operations(console.app.state.service.engine, actor=name,
                                action="export")
    assert logged and logged[-1].detail["format"] == "jsonl"


def test_a_condition_value_not_of_the_fields_kind_is_named_by_its_title(
        console: Console) -> None:
    client = console.signed_in(_auditor(console, f"{COMMUNITY}/audit-bad-condition"))
    page = client.get("/audit", params={
        "workflow": "social_org_incubation", "cf": "activity_sessions", "co": "gt",
        "cv": "许多"}).text
    assert "error-summary" in page and "条件“协议活动场次”的值应为数字" in page
