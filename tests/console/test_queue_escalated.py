"""The queue's escalated-only filter (只看已督办), in a real Chromium: ticked, the queue
keeps the records escalated in their current stage (the same flag as the API's
`?escalated=true` and the 已督办 badge), and the filter can be saved with the others."""

from __future__ import annotations

import re
from typing import Any

from console.browser import sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console
from engine.core.decision import Actor

SEED = Actor("seed.worker", frozenset({"caseworker"}))


def _record(console: Console, name: str, community: str) -> str:
    return str(console.app.state.service.start_case(
        "social_org_incubation", {"name": name, "residents_need": "助老"}, actor=SEED,
        community=community).case.id)


def _titles(page: str) -> list[str]:
    return re.findall(r'class="record-link" href="/cases/[0-9a-f]+">([^<]+)<', page)


def test_ticking_escalated_only_keeps_the_escalated_records(
        page: Any, console: Console) -> None:
    area = f"{COMMUNITY}/escalated-only"
    escalated = _record(console, "被督办的组织", area)
    _record(console, "正常办理的组织", area)
    console.app.state.service.escalate(escalated, actor=Actor("system:timer"),
                                       reason="逾期未答复")
    sign_in_page(page, console.url, console.person(community=area), PASSWORD)
    page.goto(console.url + "/?view=all")
    assert sorted(_titles(page.content())) == ["正常办理的组织", "被督办的组织"]

    page.get_by_label("只看已督办").check()
    page.wait_for_url(re.compile(r"escalated=1"))
    page.wait_for_function("document.querySelectorAll('.record-link').length == 1")
    assert _titles(page.content()) == ["被督办的组织"]
    assert page.locator(".badge--escalated").count() == 1
    api = console.app.state.service.list_cases(community_prefix=area, escalated=True)[0]
    assert [case.id for case in api] == [escalated]
