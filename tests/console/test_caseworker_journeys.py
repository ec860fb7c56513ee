"""The caseworker's desk in a real Chromium, in Chinese: sign in, start a record from the
generated form, meet a guard's refusal in place, advance, tick the checklist, and read the
timeline; a double submit makes one event; another community's record stays out of reach;
a phone-sized screen can do the same work."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from console.browser import PHONE, action, let_go, sign_in_page
from console.conftest import PASSWORD, Console
from engine.core.decision import Actor

ORGANIZATION = "上古健康服务中心"


def _start_record(page: Any, console: Console, name: str = ORGANIZATION) -> str:
    page.goto(console.url + "/cases/new")
    page.get_by_role("link", name="社会组织孵化").click()
    page.get_by_label("组织名称").fill(name)
    page.get_by_label("对应的居民需求").fill("居家养老服务")
    page.get_by_role("button", name="建档").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f]+\?done=start"))
    return str(page.url.split("/cases/")[1].split("?")[0])


def _landed(page: Any, done: str) -> None:
    """Wait for the page the change `done` leads back to: what is read or unfolded next is
    on that page, not on the one the click left (which a quick test could still see)."""
    page.wait_for_url(re.compile(r"\?done=" + re.escape(quote(done)) + "$"))


def _events(console: Console, case_id: str) -> list[Any]:
    return list(console.app.state.service.history(case_id))


def test_a_caseworker_starts_a_record_and_advances_it_past_a_refusal(
        page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(display_name="王丽"), PASSWORD)
    assert page.get_by_role("heading", name="待办").is_visible()
    _start_record(page, console)
    assert page.locator("#current-stage").inner_text() == "社会组织选择"
    assert page.get_by_role("status").inner_text() == "已建档"

    select = action(page, "select")
    select.get_by_label("否").check()
    select.get_by_role("button", name="选定").click()
    refusal = page.locator("#action-select .refusal")
    assert "列入活动异常名录或严重违法失信名单的组织不能入选" in refusal.inner_text()
    assert page.locator("#current-stage").inner_text() == "社会组织选择"

    action(page, "select").get_by_label("是").check()
    action(page, "select").get_by_role("button", name="选定").click()
    assert page.locator("#current-stage").inner_text() == "社会组织确认"
    assert "已办理：选定" in page.get_by_role("status").inner_text()
    assert "王丽（社区党委）" in page.locator("#timeline li").first.inner_text()


def test_a_missing_field_is_named_in_the_summary_and_beside_the_field(
        page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    _start_record(page, console)
    action(page, "select").get_by_role("button", name="选定").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    link = summary.get_by_role("link")
    assert "未列入活动异常名录" in link.inner_text()
    assert page.locator(".form-group--error .error-message").count() == 1


def test_the_checklist_is_ticked_with_evidence_and_the_timeline_shows_it(
        page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    case_id = _start_record(page, console)
    action(page, "select").get_by_label("是").check()
    action(page, "select").get_by_role("button", name="选定").click()
    _landed(page, "fire:select")
    sign = action(page, "sign_agreement")
    sign.get_by_label("服务内容").fill("助餐、助浴")
    sign.get_by_label("活动场次").fill("24")
    sign.get_by_label("预期效果").fill("覆盖社区老人")
    sign.get_by_label("签订日期").fill("2026-03-02")
    sign.get_by_label("提供的免费场所").fill("社区党群服务中心活动室")
    sign.get_by_label("启动资金（元）").fill("20000")
    sign.get_by_label("下派的党建指导员").fill("陈红")
    sign.get_by_label("“四个一”落实期限").fill("2026-03-31")
    sign.get_by_role("button", name="签订协议").click()
    _landed(page, "fire:sign_agreement")
    assert page.locator("#current-stage").inner_text() == "社会组织培育"

    page.locator("#item-venue").get_by_label("佐证材料").fill("场地协议 JZ-2026-01")
    page.locator("#item-venue").get_by_role("button").click()
    _landed(page, "tick")
    assert "✓ 提供一个免费场所" in page.locator("#item-venue").inner_text()
    timeline = page.locator("#timeline").inner_text()
    assert "勾选清单项" in timeline and "场地协议 JZ-2026-01" in timeline
    assert "签订协议" in timeline and "从“社会组织确认”到“社会组织培育”" in timeline
    kinds = [e.kind for e in _events(console, case_id)]
    assert kinds == ["start", "transition", "transition", "checklist_tick"]


def test_a_double_submit_makes_one_event(page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    case_id = _start_record(page, console)
    form = page.locator("#action-select form")
    action(page, "select").get_by_label("是").check()
    form.evaluate("f => { f.requestSubmit(); f.requestSubmit(); }")
    page.wait_for_url(re.compile(r"done=fire"))
    assert [e.kind for e in _events(console, case_id)] == ["start", "transition"]


def test_a_form_older_than_the_last_change_says_so_and_shows_the_new_state(
        page: Any, console: Console, browser_context: Any) -> None:
    name = console.person()
    sign_in_page(page, console.url, name, PASSWORD)
    case_id = _start_record(page, console)
    other = browser_context.new_page()
    other.goto(console.url + f"/cases/{case_id}")
    action(other, "select").get_by_label("是").check()
    action(other, "select").get_by_role("button", name="选定").click()
    other.wait_for_url(re.compile(r"done=fire"))
    let_go(other)
    page.get_by_label("暂停原因").fill("组织负责人更换")
    page.get_by_role("button", name="暂停办理").click()
    assert "其他人已办理了本档案" in page.locator(".notice").first.inner_text()
    assert page.locator("#current-stage").inner_text() == "社会组织确认"
    assert [e.kind for e in _events(console, case_id)] == ["start", "transition"]


def test_a_record_of_another_community_is_not_found(page: Any, console: Console) -> None:
    elsewhere = console.app.state.service.start_case(
        "social_org_incubation", {"name": "鼓楼某组织", "residents_need": "助学"},
        actor=Actor("gulou.worker", frozenset({"caseworker"})),
        community="fuzhou/gulou/dongjie")
    sign_in_page(page, console.url, console.person(), PASSWORD)
    response = page.goto(console.url + f"/cases/{elsewhere.case.id}")
    assert response is not None and response.status == 404
    assert "鼓楼某组织" not in page.content()


def test_a_phone_sized_screen_can_start_and_advance_a_record(
        page: Any, console: Console) -> None:
    page.set_viewport_size(PHONE)
    sign_in_page(page, console.url, console.person(), PASSWORD)
    _start_record(page, console, name="手机建档的组织")
    action(page, "select").get_by_label("是").check()
    action(page, "select").get_by_role("button", name="选定").click()
    assert page.locator("#current-stage").inner_text() == "社会组织确认"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing forces sideways scrolling of the page
    # started, not claimed: in the person's scope, not yet among their own records
    page.goto(console.url + "/?view=all&q=手机建档")
    assert page.get_by_role("link", name="手机建档的组织").is_visible()


def test_choosing_a_workflow_updates_the_queue_in_place(page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    page.evaluate("window.marker = 'same page'")
    page.get_by_label("流程").select_option(label="社会组织孵化")
    stage = page.get_by_label("阶段")
    stage.wait_for()
    assert "社会组织培育" in stage.inner_text()
    assert page.evaluate("window.marker") == "same page"  # swapped in place, not reloaded
    assert "workflow=social_org_incubation" in page.url
