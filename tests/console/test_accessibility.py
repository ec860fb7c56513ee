"""Accessibility of the desks in Chromium: axe-core's WCAG 2 A and AA rules (labels,
contrast, landmarks, names of controls) find nothing on any page, in Chinese and in
English; the keyboard reaches everything, starting with the link that skips to the page's
content; a refused form puts the focus on its error summary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from console.browser import PHONE, action, sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console
from engine.core.decision import Actor

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page: Any) -> list[str]:
    """axe-core's findings on the page (run through the debugging protocol, which the
    page's content security policy rightly does not allow for a script of its own)."""
    page.evaluate(AXE)
    found = page.evaluate("options => axe.run(document, options)", RULES)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in found["violations"]]


@pytest.fixture
def record_id(console: Console) -> str:
    result = console.app.state.service.start_case(
        "social_org_incubation", {"name": "金洲青禾社工", "residents_need": "助老"},
        actor=Actor("seed", frozenset({"caseworker"})), community=COMMUNITY)
    return str(result.case.id)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_caseworkers_pages_break_no_wcag_rule(page: Any, console: Console,
                                                   record_id: str, lang: str) -> None:
    page.goto(console.url + "/signin")
    assert _violations(page) == []
    sign_in_page(page, console.url, console.person(), PASSWORD)
    if lang == "en":
        page.goto(console.url + "/lang/en?next=/")
    for path in ("/", "/?view=all", f"/cases/{record_id}", "/cases/new",
                 "/cases/new/social_org_incubation", "/account/password", "/handover"):
        page.goto(console.url + path)
        assert _violations(page) == [], path


def test_a_refused_form_breaks_no_wcag_rule_and_takes_the_focus(
        page: Any, console: Console, record_id: str) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    page.goto(console.url + f"/cases/{record_id}")
    with page.expect_navigation():  # the answer to the form, with its script run
        action(page, "select").get_by_role("button", name="选定").click()
    page.wait_for_function("document.activeElement.className === 'error-summary'")
    assert _violations(page) == []


def test_the_first_tab_reaches_the_link_to_the_content(page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")


def test_a_record_can_be_advanced_with_the_keyboard_alone(
        page: Any, console: Console, record_id: str) -> None:
    sign_in_page(page, console.url, console.person(), PASSWORD)
    page.goto(console.url + f"/cases/{record_id}")
    action(page, "select").get_by_label("是").focus()
    page.keyboard.press("Space")
    for _ in range(20):  # on to the action's button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "选定":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("done=fire"))
    assert page.locator("#current-stage").inner_text() == "社会组织确认"


def test_the_queue_on_a_phone_breaks_no_wcag_rule(page: Any, console: Console) -> None:
    page.set_viewport_size(PHONE)
    sign_in_page(page, console.url, console.person(), PASSWORD)
    assert _violations(page) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_auditors_pages_break_no_wcag_rule(page: Any, console: Console, record_id: str,
                                              lang: str) -> None:
    sign_in_page(page, console.url, console.person(roles=("auditor",)), PASSWORD)
    if lang == "en":
        page.goto(console.url + "/lang/en?next=/audit")
    for path in ("/audit", "/audit?workflow=social_org_incubation", "/audit/at?q=青禾",
                 f"/audit/at?case={record_id}",
                 "/audit/at?workflow=social_org_incubation&stage=selection",
                 "/audit/integrity", "/audit/stats?workflow=social_org_incubation",
                 "/audit/operations"):
        page.goto(console.url + path)
        assert _violations(page) == [], path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_designers_pages_break_no_wcag_rule(page: Any, console: Console, lang: str) -> None:
    sign_in_page(page, console.url, console.person(roles=("designer",)), PASSWORD)
    if lang == "en":
        page.goto(console.url + "/lang/en?next=/design")
    for path in ("/design", "/design/workflows/social_org_incubation",
                 "/design/workflows/member_development", "/design/editor"):
        page.goto(console.url + path)
        assert _violations(page) == [], path
    page.get_by_label(re.compile("YAML")).first.fill("id: x\nstates: {a: {}}\n")
    page.get_by_role("button", name=re.compile("检查|Check")).click()
    assert _violations(page) == [], "the editor with problems"
