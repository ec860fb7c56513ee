"""The designer's journey in a real Chromium, in Chinese: paste a broken definition and
see each problem at its line and column (and the line itself marked), correct it, see the
diagram, store it as a new version and find it among the workflows."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from console.browser import PHONE, sign_in_page
from console.conftest import PASSWORD, Console
from console.test_design_desk import BROKEN, good


def test_a_designer_corrects_a_definition_and_stores_it(page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(roles=("designer",)), PASSWORD)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="流程设计").click()
    page.get_by_role("link", name="编辑与发布").first.click()

    page.get_by_label("流程定义（YAML）").fill(BROKEN)
    page.get_by_role("button", name="检查").click()
    problems = page.locator("#diagnostics")
    expect(problems).to_contain_text("第 10 行第 9 列")
    expect(problems).to_contain_text("没有名为“registerd”的状态；是不是“registered”？")
    assert page.get_by_role("button", name="保存为新版本").count() == 0
    problems.get_by_role("link", name="第 10 行第 9 列").click()
    expect(page).to_have_url(re.compile(r"#line-10$"))
    expect(page.locator("#line-10")).to_have_class("line--error")

    workflow_id = f"watch_{uuid.uuid4().hex[:8]}"
    page.get_by_label("流程定义（YAML）").fill(good(workflow_id))
    page.get_by_role("button", name="检查").click()
    expect(page.get_by_role("status")).to_contain_text("检查通过")
    expect(page.locator("#preview svg")).to_be_visible()
    assert "已申请" in page.locator("#preview svg").inner_html()
    page.get_by_role("button", name="保存为新版本").click()
    page.wait_for_url(re.compile(f"/design/workflows/{workflow_id}"))
    expect(page.get_by_role("status")).to_contain_text("已保存：邻里守望队登记 版本 1.0.0")
    page.get_by_role("link", name="流程与版本").click()
    expect(page.get_by_role("link", name="邻里守望队登记").first).to_be_visible()


def test_the_design_desk_fits_a_phone(page: Any, console: Console) -> None:
    sign_in_page(page, console.url, console.person(roles=("designer",)), PASSWORD)
    page.set_viewport_size(PHONE)
    for path in ("/design", "/design/workflows/social_org_incubation", "/design/editor"):
        page.goto(console.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
