"""The queue on a phone, in a real Chromium: the records come first (the filters folded
behind 筛选 until tapped, unless some are in use), and a row's dates do not break."""

from __future__ import annotations

from typing import Any

from console.browser import PHONE, sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console, start_record


def test_on_a_phone_the_records_come_before_the_folded_filters(
        page: Any, console: Console) -> None:
    area = f"{COMMUNITY}/phone-queue"
    start_record(console, "手机上看的组织", area)
    page.set_viewport_size(PHONE)
    sign_in_page(page, console.url, console.person(community=area), PASSWORD)
    page.goto(console.url + "/?view=all")
    record = page.get_by_role("link", name="手机上看的组织")
    assert record.is_visible()
    assert record.bounding_box()["y"] < PHONE["height"]  # no scrolling past the filters
    assert not page.get_by_label("按名称搜索").is_visible()
    page.get_by_text("筛选", exact=True).first.click()
    assert page.get_by_label("按名称搜索").is_visible()
    deadline = page.locator("td[data-label='下一期限'] .date").first
    assert deadline.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"


def test_on_a_phone_filters_in_use_stay_open(page: Any, console: Console) -> None:
    page.set_viewport_size(PHONE)
    sign_in_page(page, console.url, console.person(), PASSWORD)
    page.goto(console.url + "/?view=all&overdue=1")
    assert page.get_by_label("只看已逾期").is_visible()
    assert "（已筛选）" in page.locator(".filters-panel__toggle").inner_text()
