"""A record's page over plain HTTP, the parts the journeys pass by: the diagram with the
record's stage highlighted, a deadline with the working days left on the official
calendar, unticking an item with a reason, and suspending and resuming, each said on the
timeline."""

from __future__ import annotations

import re

from console.conftest import Console, form_tokens, start_record
from console.test_desk import SEED


def _said(html: str, section: str) -> str:
    found = re.search(rf'id="{section}".*?</(?:section|ol)>', html, re.S)
    assert found is not None, section
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def _form(html: str, action: str) -> str:
    found = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html,
                      re.S)
    assert found is not None, action
    return found.group(0)


def test_the_diagram_highlights_the_records_stage(console: Console) -> None:
    record = start_record(console, "看流程图的组织")
    page = console.signed_in(console.person()).get(f"/cases/{record}").text
    current = re.findall(r'<g class="state[^"]* current"[^>]*>.*?</g>', page, re.S)
    assert len(current) == 1 and "社会组织选择" in current[0]


def test_a_deadline_says_its_day_and_the_working_days_left(console: Console) -> None:
    record = start_record(console, "有答复期限的组织")
    page = console.signed_in(console.person()).get(f"/cases/{record}").text
    said = _said(page, "deadlines-title")
    due = r"入驻申请答复期限 ：\d{4}年\d{1,2}月\d{1,2}日 到期 （还剩 \d+ 个工作日）"
    assert re.search(due, said), said


def _in_cultivation(console: Console, name: str, actor: str = "seed.committee") -> str:
    service = console.app.state.service
    record = start_record(console, name)
    committee = SEED.__class__(actor, frozenset({"party_committee", "caseworker"}))
    service.fire(record, "select", input={"not_on_abnormal_lists": True}, actor=committee)
    service.fire(record, "sign_agreement", input={
        "services": "助餐、助浴", "activity_sessions": 24, "expected_effect": "覆盖社区老人",
        "agreement_date": "2026-03-02", "venue": "社区党群服务中心活动室",
        "startup_funds_yuan": 20000, "instructor": "陈红", "resources_due": "2026-03-31"},
        actor=committee)
    service.tick(record, "venue", evidence="场地协议 JZ-2026-02", actor=committee)
    return record


def test_an_item_is_unticked_with_its_reason_on_the_timeline(console: Console) -> None:
    record = _in_cultivation(console, "取消勾选的组织")
    client = console.signed_in(console.person())
    page = client.get(f"/cases/{record}").text
    form = _form(page, f"/cases/{record}/checklist/venue")
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    answer = client.post(f"/cases/{record}/checklist/venue",
                         data={**fields, "note": "场地协议未盖章"}, follow_redirects=True)
    assert answer.status_code == 200, answer.text
    said = _said(answer.text, "timeline")
    assert "取消勾选清单项" in said and "场地协议未盖章" in said and "提供一个免费场所" in said
    assert "✓ 提供一个免费场所" not in _said(answer.text, "checklist-title")


def test_a_record_is_suspended_and_resumed_from_its_page(console: Console) -> None:
    record = start_record(console, "暂停又恢复的组织")
    client = console.signed_in(console.person())
    for note in ("负责人外出", "负责人回来了"):
        page = client.get(f"/cases/{record}").text
        form = _form(page, f"/cases/{record}/suspension")
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
        answer = client.post(f"/cases/{record}/suspension",
                             data={**form_tokens(page), **fields, "note": note},
                             follow_redirects=True)
        assert answer.status_code == 200, answer.text
    said = _said(answer.text, "timeline")
    assert "暂停办理" in said and "负责人外出" in said and "恢复办理" in said
    assert console.app.state.service.get_case(record).status == "active"


def test_who_ticked_an_item_is_named_as_on_every_page(console: Console) -> None:
    ticker = console.person(display_name="陈红（社区党委）")
    record = _in_cultivation(console, "谁勾选的组织", actor=ticker)
    page = console.signed_in(console.person()).get(f"/cases/{record}").text
    said = _said(page, "checklist-title")
    assert "陈红（社区党委） 于" in said and ticker not in said
