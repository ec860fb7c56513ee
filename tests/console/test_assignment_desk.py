"""The responsible person at the desk over plain HTTP: "my records" by default, claimed
from the record's page, a follow-up date that shows and filters in the queue, handed over
one by one and in bulk by the community's party committee; each change in the timeline."""

from __future__ import annotations

from console.conftest import COMMUNITY, Console, form_tokens, queue_titles, start_record
from engine.core.decision import Actor


def test_my_records_are_the_default_view_and_others_a_click_away(console: Console) -> None:
    area = f"{COMMUNITY}/views"
    name = console.person(community=area)
    mine = start_record(console, "我的组织", area)
    free = start_record(console, "无人负责的组织", area)
    console.app.state.service.assign(mine, name, actor=Actor(name, frozenset({"caseworker"})))
    client = console.signed_in(name)
    assert queue_titles(client.get("/").text) == ["我的组织"]
    assert queue_titles(client.get("/", params={"view": "unassigned"}).text) == ["无人负责的组织"]
    assert sorted(queue_titles(client.get("/", params={"view": "all"}).text)) == sorted(
        ["我的组织", "无人负责的组织"])
    assert free


def test_a_caseworker_claims_a_record_from_its_page(console: Console) -> None:
    area = f"{COMMUNITY}/claim"
    case_id = start_record(console, "待认领的组织", area)
    client = console.signed_in(console.person(community=area, display_name="王丽"))
    page = client.get(f"/cases/{case_id}").text
    answer = client.post(f"/cases/{case_id}/assignment", data={
        **form_tokens(page), "version": "1", "claim": "1"})
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"]).text
    assert "已更新责任人" in shown
    assert "王丽" in shown.split('id="responsible-name"')[1][:200]
    timeline = shown.split('id="timeline"')[1]
    assert "更换责任人" in timeline and "王丽" in timeline
    assert queue_titles(client.get("/").text) == ["待认领的组织"]


def test_a_follow_up_date_shows_and_filters_in_the_queue(console: Console) -> None:
    area = f"{COMMUNITY}/follow-up"
    name = console.person(community=area)
    case_id = start_record(console, "要回访的组织", area)
    start_record(console, "不用回访的组织", area)
    console.app.state.service.assign(case_id, name, actor=Actor(name, frozenset({"caseworker"})))
    client = console.signed_in(name)
    page = client.get(f"/cases/{case_id}").text
    today = console.clock.now().date().isoformat()
    answer = client.post(f"/cases/{case_id}/follow-up", data={
        **form_tokens(page), "version": "2", "on": today})
    assert answer.status_code == 303
    queue = client.get("/", params={"view": "all", "follow_up": "1"}).text
    assert queue_titles(queue) == ["要回访的组织"]
    assert "回访日已到" in queue and "回访 2026年3月2日" in queue


def test_a_caseworker_cannot_take_a_colleagues_record(console: Console) -> None:
    area = f"{COMMUNITY}/not-yours"
    colleague = console.person(community=area)
    case_id = start_record(console, "同事的组织", area)
    console.app.state.service.assign(case_id, colleague,
                                     actor=Actor(colleague, frozenset({"caseworker"})))
    client = console.signed_in(console.person(roles=("caseworker",), community=area))
    page = client.get(f"/cases/{case_id}").text
    assert "由我负责" not in page
    answer = client.post(f"/cases/{case_id}/assignment", data={
        **form_tokens(page), "version": "2", "claim": "1"})
    assert answer.status_code == 403
    assert "只有负责社区工作的人员" in answer.text


def test_the_party_committee_hands_a_colleagues_records_over_in_bulk(
        console: Console) -> None:
    area = f"{COMMUNITY}/handover"
    leaving = console.person(community=area, display_name="周老师")
    taking = console.person(community=area, display_name="王丽")
    ids = [start_record(console, f"移交组织{n}", area) for n in range(3)]
    for case_id in ids:
        console.app.state.service.assign(case_id, leaving,
                                         actor=Actor(leaving, frozenset({"caseworker"})))
    lead = console.signed_in(console.person(roles=("party_committee",), community=area))
    listed = lead.get("/handover", params={"from": leaving}).text
    assert all(f"移交组织{n}" in listed for n in range(3))
    answer = lead.post("/handover", data={**form_tokens(listed), "from": leaving,
                                          "to": taking, "case": ids, "comment": "调岗"})
    assert answer.status_code == 303
    assert "已移交 3 份档案" in lead.get(answer.headers["location"]).text
    assert {console.app.state.service.get_case(i).assignee for i in ids} == {taking}


def test_a_caseworker_may_not_hand_over_in_bulk(console: Console) -> None:
    client = console.signed_in(console.person(roles=("caseworker",)))
    assert client.get("/handover").status_code == 403


def test_an_escalated_record_has_a_badge_in_the_queue(console: Console) -> None:
    area = f"{COMMUNITY}/escalated"
    case_id = start_record(console, "已督办的组织", area)
    start_record(console, "未督办的组织", area)
    console.app.state.service.escalate(case_id, actor=Actor("system:timer"), reason="逾期未答复")
    page = console.signed_in(console.person(community=area)).get("/", params={"view": "all"})
    rows = page.text.split("<tbody>")[1].split("</tr>")
    escalated = [row for row in rows if "已督办" in row]
    assert len(escalated) == 1 and "已督办的组织" in escalated[0]
