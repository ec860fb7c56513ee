"""Every error is an RFC 9457 problem with a stable code, in the caller's language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx

from http_api.conftest import WORKFLOW, Api, start_case

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:hatchery:problem:{code}"
    assert body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


def test_401_without_a_token_with_a_wrong_scheme_or_an_unknown_token(api: Api) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"},
                    {"Authorization": "Bearer hat_not-a-real-token"},
                    {"Authorization": "Bearer"}):
        response = httpx.get(f"{api.url}/api/v1/cases", headers=headers)
        problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"


def test_401_once_a_token_is_revoked(api: Api, area: str) -> None:
    token = api.token(["caseworker"], area, name=f"leaving{area[1:7]}")
    with api.client(token) as client:
        assert client.get("/cases").status_code == 200
        assert api.tokens.revoke(f"leaving{area[1:7]}", now=datetime.now(UTC)) == 1
        problem(client.get("/cases"), 401, "unauthenticated")


def test_403_names_the_missing_role(api: Api, area: str) -> None:
    case = start_case(api.as_(["caseworker"], area), area)
    with api.as_(["auditor"], area) as auditor:
        body = problem(auditor.post(f"/cases/{case['id']}/events", json={"trigger": "note"}),
                       403, "role_missing")
        assert "caseworker" in body["required_roles"]
    with api.as_(["caseworker"], area) as caseworker:
        caseworker.post(f"/cases/{case['id']}/events",
                        json={"trigger": "accept", "input": {"id_number": "6" * 18}})
        body = problem(caseworker.post(f"/cases/{case['id']}/events",
                                       json={"trigger": "approve"}), 403, "role_missing")
        assert body["required_roles"] == ["party_committee"]


def test_404_for_unknown_cases_workflows_versions_and_routes(api: Api, area: str) -> None:
    with api.as_(["admin"], area) as client:
        problem(client.get("/cases/0123456789abcdef"), 404, "not_found")
        problem(client.get("/workflows/no_such_workflow"), 404, "not_found")
        problem(client.get(f"/workflows/{WORKFLOW}/versions/9.9.9"), 404, "not_found")
        problem(client.get("/no/such/route"), 404, "route_not_found")
        problem(client.delete("/workflows"), 405, "method_not_allowed")


def test_409_when_the_state_forbids_the_trigger(api: Api, area: str) -> None:
    with api.as_(["admin"], area) as client:
        case = start_case(client, area)
        body = problem(client.post(f"/cases/{case['id']}/events", json={"trigger": "approve"}),
                       409, "not_allowed_from_state")
        assert "Submitted" in body["detail"]


def test_412_when_if_match_is_stale_and_422_when_it_is_not_a_version(api: Api,
                                                                     area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
        body = problem(client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                                   headers={"If-Match": '"1"'}), 412, "precondition_failed")
        assert body["current_version"] == 2
        for version, form in ((2, 'W/"{}"'), (3, "{}"), (4, "*")):
            response = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                                   headers={"If-Match": form.format(version)})
            assert response.status_code == 200, (form, response.text)
        body = problem(client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                                   headers={"If-Match": "yesterday"}), 422, "validation_failed")
        assert body["errors"][0]["field"] == "If-Match"


def test_413_for_a_body_over_the_limit_declared_or_streamed(api: Api, area: str) -> None:
    big = b'{"trigger": "' + b"x" * (1024 * 1024) + b'"}'
    with api.as_(["caseworker"], area) as client:
        problem(client.post("/cases", content=big,
                            headers={"Content-Type": "application/json"}),
                413, "body_too_large")

        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b"x" * 100_000

        problem(client.post("/workflows/validate", content=chunks()), 413, "body_too_large")


def test_422_lists_each_invalid_field(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        body = problem(client.post("/cases", json={"workflow_id": WORKFLOW, "community": area,
                                                   "data": {"applicant": 7, "shoe_size": 42}}),
                       422, "input_invalid")
        assert {(e["field"], e["code"]) for e in body["errors"]} == {
            ("applicant", "type_string"), ("shoe_size", "unknown")}
        case = start_case(client, area)
        body = problem(client.post(f"/cases/{case['id']}/events",
                                   json={"trigger": "accept", "input": {"id_number": "12"}}),
                       422, "input_invalid")
        assert [e["field"] for e in body["errors"]] == ["id_number"]
        body = problem(client.post(f"/cases/{case['id']}/events", json={"input": {}}),
                       422, "validation_failed")
        assert body["errors"] == [{"field": "trigger", "in": "body", "code": "missing",
                                   "message": "Field required"}]
        body = problem(client.post("/cases", content=b"{not json",
                                   headers={"Content-Type": "application/json"}),
                       422, "validation_failed")
        assert body["errors"][0]["code"] == "json_invalid"
        problem(client.get("/cases", params={"limit": 0}), 422, "validation_failed")
        problem(client.get("/cases", params={"cursor": "garbage"}), 422, "invalid_cursor")
        problem(client.post(f"/cases/{case['id']}/events",
                            json={"trigger": "no_such_trigger"}), 422, "unknown_trigger")


def test_messages_follow_accept_language(api: Api, area: str) -> None:
    token = api.token(["caseworker"], area)
    case = start_case(api.client(token), area)
    for header, lang in (("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-GB", "en"),
                         ("fr, zh;q=0.5", "zh"), ("en;q=0.4, zh;q=0.6", "zh"), ("fr", "en")):
        with api.client(token, lang=header) as client:
            response = client.post(f"/cases/{case['id']}/events", json={"trigger": "approve"})
            assert response.headers["content-language"] == lang, header
            body = response.json()
            if lang == "zh":
                assert body["title"] == "冲突" and "已提交" in body["detail"], header
            else:
                assert body["title"] == "Conflict" and "Submitted" in body["detail"], header
    with api.client(token, lang="zh") as client:
        body = problem(client.post(f"/cases/{case['id']}/events",
                                   json={"trigger": "accept", "input": {}}), 422,
                       "input_invalid")
        assert body["errors"][0]["message"] == "必须填写"
        body = problem(client.get("/cases", params={"limit": "many"}), 422,
                       "validation_failed")
        assert body["errors"][0]["message"] == "必须是整数"
    with httpx.Client(base_url=f"{api.url}/api/v1", headers={"Accept-Language": "zh"}) as c:
        assert problem(c.get("/cases"), 401, "unauthenticated")["title"] == "需要身份验证"
