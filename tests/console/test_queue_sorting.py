"""The queue sorted by the follow-up date a caseworker set, or by the next deadline, as well
as by the workflow's priority: chosen in the filters (in a real Chromium), kept in a saved
filter, the records without a date after those with one."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from console.browser import sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console, queue_titles, start_record
from console.test_desk import _with_a_party_member
from engine.core.decision import Actor


def _follow_up(console: Console, case_id: str, name: str, on: date) -> None:
    service, actor = console.app.state.service, Actor(name, frozenset({"caseworker"}))
    service.assign(case_id, name, actor=actor)
    service.follow_up(case_id, on, actor=actor)


def test_a_caseworker_sorts_by_follow_up_date_and_the_saved_filter_keeps_it(
        page: Any, console: Console) -> None:
    area = f"{COMMUNITY}/sorted-follow-up"
    name = console.person(community=area)
    today = console.clock.now().date()
    began = console.clock.now()
    try:  # started in this order, so the queue's own order (oldest first) is this one
        later = start_record(console, "五天后回访", area)
        console.clock.advance(timedelta(minutes=1))
        sooner = start_record(console, "明天回访", area)
        console.clock.advance(timedelta(minutes=1))
        start_record(console, "没有回访日期", area)
    finally:
        console.clock.set(began)
    _follow_up(console, later, name, today + timedelta(days=5))
    _follow_up(console, sooner, name, today + timedelta(days=1))
    sign_in_page(page, console.url, name, PASSWORD)
    page.goto(console.url + "/?view=all")
    assert queue_titles(page.content()) == ["五天后回访", "明天回访", "没有回访日期"]

    page.get_by_label("排序").select_option(label="按回访日期（最近的在前）")
    page.wait_for_url(re.compile(r"sort=follow_up"))
    page.wait_for_function("document.querySelector('.record-link').textContent == '明天回访'")
    assert queue_titles(page.content()) == ["明天回访", "五天后回访", "没有回访日期"]

    page.get_by_label("保存当前筛选为").fill("按回访")
    with page.expect_navigation():  # saved before the queue is opened again
        page.get_by_role("button", name="保存", exact=True).click()
    page.goto(console.url + "/")
    with page.expect_navigation():
        page.get_by_role("link", name="按回访").click()
    assert page.get_by_label("排序").input_value() == "follow_up"
    assert queue_titles(page.content()) == ["明天回访", "五天后回访", "没有回访日期"]


def test_sorted_by_deadline_the_soonest_deadline_comes_first(console: Console) -> None:
    area = f"{COMMUNITY}/sorted-deadline"
    began = console.clock.now()
    try:
        start_record(console, "期限在前", area)
        console.clock.advance(timedelta(days=3))
        with_party = start_record(console, "期限在后但优先", area)
        _with_a_party_member(console, with_party, f"{area}-party")
    finally:
        console.clock.set(began)
    client = console.signed_in(console.person(community=area))
    assert queue_titles(client.get("/", params={"view": "all"}).text) == [
        "期限在后但优先", "期限在前"]
    by_deadline = client.get("/", params={"view": "all", "sort": "deadline"}).text
    assert queue_titles(by_deadline) == ["期限在前", "期限在后但优先"]
    assert 'value="deadline" selected' in by_deadline
