"""The timeline says in words what a deadline and a link recorded: the deadline by its
title and its time, the record linked by its title; never the keys the door keeps with
the event (timer_row, due_at, other_case_id) or a raw refusal."""

from __future__ import annotations

import re
from datetime import timedelta

from console.conftest import COMMUNITY, Console, start_record
from console.test_desk import SEED

KEYS = ("timer_row", "due_at", "other_case_id", "selection:reply_due", "{'code'")


def _timeline(html: str) -> str:
    found = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S)
    assert found is not None, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def _overdue_record(console: Console, name: str) -> str:
    """A record whose first deadline passed and was marked overdue."""
    service = console.app.state.service
    record = start_record(console, name)
    timer = service.list_timers(case_id=record, status="pending")[0][0]
    began = console.clock.now()
    try:
        console.clock.set(timer.due_at + timedelta(minutes=1))
        # A change fires the record's due timers first, in its transaction.
        service.suspend(record, actor=SEED, reason="等待材料")
    finally:
        console.clock.set(began)
    return record


def test_a_deadline_marked_overdue_is_named_with_its_time(console: Console) -> None:
    record = _overdue_record(console, "逾期过的组织")
    said = _timeline(console.signed_in(console.person()).get(f"/cases/{record}").text)
    assert "标记为逾期" in said
    assert "期限 入驻申请答复期限" in said and "到期时间 20" in said
    assert not [key for key in KEYS if key in said]


def test_a_link_names_the_record_linked_by_its_title(console: Console) -> None:
    service = console.app.state.service
    record = start_record(console, "有关联的组织")
    party = service.start_case("party_organization", {"name": "关联的党组织"}, actor=SEED,
                               community=COMMUNITY).case.id
    service.link(record, party, relation="party_organization", actor=SEED)
    said = _timeline(console.signed_in(console.person()).get(f"/cases/{record}").text)
    assert "关联档案 关联的党组织 · 本档案关联" in said
    assert party not in said and not [key for key in KEYS if key in said]


def test_a_link_to_a_record_out_of_sight_says_so(console: Console) -> None:
    service = console.app.state.service
    record = start_record(console, "关联外社区的组织")
    elsewhere = service.start_case("party_organization", {"name": "外社区党组织"},
                                   actor=SEED, community="fuzhou/gulou/dongjie").case.id
    service.link(record, elsewhere, relation="party_organization", actor=SEED)
    said = _timeline(console.signed_in(console.person()).get(f"/cases/{record}").text)
    assert "关联档案 其他社区的档案（无权查看）" in said
    assert "外社区党组织" not in said and elsewhere not in said


def test_the_auditors_search_says_a_deadline_in_words_too(console: Console) -> None:
    record = _overdue_record(console, "审计看到的逾期组织")
    auditor = console.signed_in(console.person(roles=("auditor",)))
    page = auditor.get("/audit", params={"case": record}).text
    said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "期限“入驻申请答复期限”已到" in said and "期限 入驻申请答复期限" in said
    assert not [key for key in (*KEYS, "timer selection") if key in said]
