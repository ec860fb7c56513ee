"""Refused attempts on a record's timeline: the person who tried sees their own, marked
未办成 with the reason in Chinese (in a real Chromium); a colleague without the operations
log does not see them; an auditor sees everyone's; the record's history is unchanged."""

from __future__ import annotations

import re
from typing import Any

from console.browser import action, sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console, form_tokens, start_record


def test_a_refused_attempt_is_on_the_timeline_marked_with_its_reason(
        page: Any, console: Console) -> None:
    case_id = start_record(console, "被拒绝过的组织")
    sign_in_page(page, console.url, console.person(display_name="林芳"), PASSWORD)
    page.goto(console.url + f"/cases/{case_id}")
    action(page, "select").get_by_label("否").check()
    with page.expect_navigation():  # the refusal's page, so the attempt is recorded
        action(page, "select").get_by_role("button", name="选定").click()
    page.goto(console.url + f"/cases/{case_id}")
    newest = page.locator("#timeline li.timeline__refused")
    assert newest.locator(".badge--refused").inner_text() == "未办成"
    said = newest.inner_text()
    assert "尝试办理“选定”" in said and "林芳" in said
    assert "被拒绝：列入活动异常名录或严重违法失信名单的组织不能入选" in said
    assert [e.kind for e in console.app.state.service.history(case_id)] == ["start"]


def _refused_once(console: Console, case_id: str) -> str:
    """A caseworker of the community tries to select the record without the condition."""
    name = console.person()
    client = console.signed_in(name)
    page = client.get(f"/cases/{case_id}").text
    answer = client.post(f"/cases/{case_id}/fire/select", data={
        **form_tokens(page), "version": "1", "in-not_on_abnormal_lists": "false"})
    assert answer.status_code == 422
    return name


def _refusals(html: str) -> list[str]:
    return re.findall(r'class="timeline__refused"', html)


def test_a_colleague_does_not_see_anothers_refused_attempt_and_an_auditor_does(
        console: Console) -> None:
    case_id = start_record(console, "同事尝试过的组织")
    tried = _refused_once(console, case_id)
    assert len(_refusals(console.signed_in(tried).get(f"/cases/{case_id}").text)) == 1
    colleague = console.signed_in(console.person())
    assert _refusals(colleague.get(f"/cases/{case_id}").text) == []
    auditor = console.signed_in(console.person(roles=("auditor",)))
    assert len(_refusals(auditor.get(f"/cases/{case_id}").text)) == 1


def test_a_step_refused_through_the_api_is_named_on_the_timeline(console: Console) -> None:
    """The API's address (`/events`) does not name the step: the door keeps the trigger
    with the refusal, and the timeline says which step was tried, with the designer's
    reason."""
    case_id = start_record(console, "接口尝试过的组织")
    _, token = console.app.state.tokens.create(
        "api.worker", ("caseworker", "party_committee"), COMMUNITY, (),
        now=console.clock.now())
    with console.client() as client:
        refused = client.post(f"/api/v1/cases/{case_id}/events",
                              headers={"Authorization": f"Bearer {token}"},
                              json={"trigger": "select",
                                    "input": {"not_on_abnormal_lists": False}})
    assert refused.status_code == 422, refused.text
    auditor = console.signed_in(console.person(roles=("auditor",)))
    page = auditor.get(f"/cases/{case_id}").text
    entry = re.search(r'<li class="timeline__refused".*?</li>', page, re.S)
    assert entry is not None, page
    said = re.sub(r"<[^>]+>|\s+", "", entry.group(0))
    assert "尝试办理“选定”" in said and "api.worker" in said
    assert "被拒绝：列入活动异常名录或严重违法失信名单的组织不能入选" in said
