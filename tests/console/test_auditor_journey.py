"""The auditor's journey in a real Chromium, in Chinese: sign in, open the audit desk,
narrow the history with the filters, download the export with those filters, verify the
chains in scope and keep a checkpoint; the desk is usable on a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from console.browser import PHONE, sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console
from engine.core.decision import Actor

COMMITTEE = Actor("seed.committee", frozenset({"party_committee", "caseworker"}))


def _seed(console: Console, area: str) -> None:
    service = console.app.state.service
    for name in ("上古健康服务中心", "金洲科学工作室"):
        service.start_case("social_org_incubation", {"name": name, "residents_need": "助老"},
                           actor=COMMITTEE, community=area)
    chosen = service.start_case("social_org_incubation",
                                {"name": "金洲社工服务社", "residents_need": "助老"},
                                actor=COMMITTEE, community=area).case.id
    service.fire(chosen, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)


def _rows(page: Any) -> Any:
    """The records named in the history's rows (a locator: `expect` waits on it for the
    page the last click leads to, instead of reading the one it is leaving)."""
    return page.locator("#events tbody tr td:first-child a:first-child")


def test_an_auditor_filters_exports_and_verifies(page: Any, console: Console,
                                                 tmp_path: Path) -> None:
    area = f"{COMMUNITY}/journey-audit"
    _seed(console, area)
    name = console.person(roles=("auditor",), community=area, display_name="赵审计")
    sign_in_page(page, console.url, name, PASSWORD)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="审计").click()
    expect(page.get_by_role("heading", name="办理记录查询")).to_be_visible()
    expect(_rows(page)).to_have_count(4)

    page.get_by_label("流程").select_option(label="社会组织孵化")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"workflow=social_org_incubation"))
    page.get_by_label("办理事项").select_option(label="选定")
    page.get_by_role("button", name="筛选").click()
    expect(_rows(page)).to_have_text(["金洲社工服务社"])

    with page.expect_download() as waiting:
        page.get_by_role("link", name="CSV（Excel 可直接打开）").click()
    saved = tmp_path / "events.csv"
    waiting.value.save_as(saved)
    content = saved.read_bytes()
    assert content.startswith("\ufeff".encode())
    assert content.decode("utf-8-sig").count(",select,") == 1

    page.get_by_role("link", name="核验与检查点").click()
    page.get_by_role("button", name="开始核验").click()
    expect(page.locator("#verify-result")).to_contain_text("核验通过：3 份档案的办理记录完整")

    with page.expect_download() as waiting:
        page.get_by_role("button", name="生成检查点并下载").click()
    kept = tmp_path / "checkpoint.json"
    waiting.value.save_as(kept)
    page.goto(console.url + "/audit/integrity")
    expect(page.locator("#kept")).to_contain_text("赵审计")
    page.get_by_label("检查点文件").set_input_files(str(kept))
    page.get_by_role("button", name="核验", exact=True).click()
    expect(page.locator("#checkpoint-result")).to_contain_text("核验通过：检查点")


def test_the_audit_desk_fits_a_phone(page: Any, console: Console) -> None:
    area = f"{COMMUNITY}/journey-audit-phone"
    _seed(console, area)
    sign_in_page(page, console.url, console.person(roles=("auditor",), community=area),
                 PASSWORD)
    page.set_viewport_size(PHONE)
    for path in ("/audit", "/audit/at", "/audit/integrity",
                 "/audit/stats?workflow=social_org_incubation", "/audit/operations"):
        page.goto(console.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
