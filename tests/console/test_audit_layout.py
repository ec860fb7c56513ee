"""The auditor's filters stay in their panel (in a real Chromium): the input conditions'
long field titles once pushed them over the results."""

from __future__ import annotations

from typing import Any

from console.browser import sign_in_page
from console.conftest import PASSWORD, Console, start_record


def test_the_input_conditions_stay_inside_the_filter_panel(
        page: Any, console: Console) -> None:
    start_record(console, "审计布局用的组织")
    sign_in_page(page, console.url, console.person(roles=("auditor",)), PASSWORD)
    page.goto(console.url + "/audit?workflow=social_org_incubation")
    panel = page.locator("#event-filters").bounding_box()
    for control in page.locator(".condition .input").all():
        box = control.bounding_box()
        assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 1
