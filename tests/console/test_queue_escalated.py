"""The queue's escalated-only filter (只看已督办), in a real Chromium: ticked, the queue
keeps the records escalated in their current stage (the same flag as the API's
`?escalated=true` and the 已督办 badge), and the filter can be saved with the others."""

from __future__ import annotations

import re
from typing import Any

from console.browser import sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console, queue_titles, start_record
from engine.core.decision import Actor


def test_ticking_escalated_only_keeps_the_escalated_records(
        page: Any, console: Console) -> None:
    area = f"{COMMUNITY}/escalated-only"
    escalated = start_record(console, "被督办的组织", area)
    start_record(console, "正常办理的组织", area)
    console.app.state.service.escalate(escalated, actor=Actor("system:timer"),
                                       reason="逾期未答复")
    sign_in_page(page, console.url, console.person(community=area), PASSWORD)
    page.goto(console.url + "/?view=all")
    assert sorted(queue_titles(page.content())) == ["正常办理的组织", "被督办的组织"]

    page.get_by_label("只看已督办").check()
    page.wait_for_url(re.compile(r"escalated=1"))
    page.wait_for_function("document.querySelectorAll('.record-link').length == 1")
    assert queue_titles(page.content()) == ["被督办的组织"]
    assert page.locator(".badge--escalated").count() == 1
    api = console.app.state.service.list_cases(community_prefix=area, escalated=True)[0]
    assert [case.id for case in api] == [escalated]
