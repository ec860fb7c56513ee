"""GET /cases in the orders a caseworker sorts by (`order`): the workflow's priority, the
latest change, the follow-up day and the next deadline, as the console's queue offers them;
a cursor pages within its order; any other order is refused, naming those it takes."""

from __future__ import annotations

from typing import Any

import httpx

from http_api.conftest import Api, start_case
from http_api.test_assignment import _person


def _ids(client: httpx.Client, **params: Any) -> list[str]:
    response = client.get("/cases", params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["data"]]


def _incubation(client: httpx.Client, area: str, name: str) -> str:
    """A case whose first stage has a deadline (the answer to the application is due)."""
    response = client.post("/cases", json={
        "workflow_id": "social_org_incubation", "community": area,
        "data": {"name": name, "residents_need": "助老"}})
    assert response.status_code == 201, response.text
    return str(response.json()["case"]["id"])


def _responsible(api: Api, area: str) -> tuple[httpx.Client, str]:
    """A client of a caseworker who may take cases and set their follow-up days."""
    me = _person(api, area)
    return api.client(api.token(["caseworker"], area, name=me)), me


def test_order_follow_up_puts_the_soonest_follow_up_day_first(api: Api, area: str) -> None:
    client, me = _responsible(api, area)
    with client:
        later, sooner, none = (start_case(client, area)["id"] for _ in range(3))
        for case_id, day in ((later, "2026-05-09"), (sooner, "2026-04-01")):
            client.post(f"/cases/{case_id}/assignment", json={"assignee": me})
            answered = client.post(f"/cases/{case_id}/follow-up", json={"on": day})
            assert answered.status_code == 200, answered.text
        assert _ids(client, order="priority") == [later, sooner, none]
        assert _ids(client, order="follow_up") == [sooner, later, none]


def test_order_deadline_puts_cases_with_a_deadline_before_those_without(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        urgent = start_case(client, area, urgent=True)["id"]
        with_deadline = _incubation(client, area, "有答复期限")
        assert _ids(client, order="priority")[0] == urgent
        assert _ids(client, order="deadline") == [with_deadline, urgent]


def test_a_cursor_pages_through_the_follow_up_order(api: Api, area: str) -> None:
    client, me = _responsible(api, area)
    with client:
        cases = [start_case(client, area)["id"] for _ in range(3)]
        for case_id, day in zip(cases, ("2026-06-03", "2026-06-02", "2026-06-01"),
                                strict=True):
            client.post(f"/cases/{case_id}/assignment", json={"assignee": me})
            client.post(f"/cases/{case_id}/follow-up", json={"on": day})
        first = client.get("/cases", params={"order": "follow_up", "limit": 2}).json()
        rest = client.get("/cases", params={"order": "follow_up", "limit": 2,
                                            "cursor": first["next_cursor"]}).json()
        assert [c["id"] for c in first["data"] + rest["data"]] == cases[::-1]
        assert rest["next_cursor"] is None


def test_an_unknown_order_is_refused_naming_the_orders_taken(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area, lang="zh") as client:
        refused = client.get("/cases", params={"order": "due"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    error = refused.json()["errors"][0]
    assert (error["field"], error["in"]) == ("order", "query")
    assert error["message"] == "不是允许的值（可用的值：priority、updated、follow_up、deadline）"


def test_the_openapi_document_lists_every_order(api: Api) -> None:
    # Building the document is the first request to it; on a loaded machine it takes
    # longer than httpx's 5 s default (this test is about its content, not its speed).
    document = httpx.get(api.url + "/openapi.json", timeout=120).json()
    parameters = document["paths"]["/api/v1/cases"]["get"]["parameters"]
    order = next(p for p in parameters if p["name"] == "order")
    assert order["schema"]["enum"] == ["priority", "updated", "follow_up", "deadline"]
    assert "follow_up" in order["description"] and "deadline" in order["description"]
