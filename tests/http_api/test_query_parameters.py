"""Query parameters an operation does not take are refused (400 naming it, the closest one
it takes and all it takes), on every `/api/v1` operation: a typo must not silently widen a
query to everything."""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from engine.settings import Settings
from http_api.conftest import Api


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every `/api/v1` operation in the OpenAPI document, path parameters
    filled in."""
    paths = create_app(Settings(database_url="sqlite://")).openapi()["paths"]
    return [(method.upper(), re.sub(r"\{[^}]+\}", "x", path))
            for path, operations in paths.items() if path.startswith("/api/v1")
            for method in operations]


OPERATIONS = _operations()


def test_every_api_operation_is_checked() -> None:
    assert len(OPERATIONS) > 25
    assert ("GET", "/api/v1/cases") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_an_unknown_query_parameter_is_refused_with_400_naming_it(
        api: Api, area: str, method: str, path: str) -> None:
    with api.as_(["admin"], area) as client:
        response = client.request(method, api.url + path, params={"bogus": "1"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (body["code"], body["errors"][0]["field"], body["errors"][0]["in"]) == (
        "unknown_parameter", "bogus", "query")


def test_a_typo_names_the_parameter_meant_and_lists_the_others(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area, lang="zh") as client:
        response = client.get("/cases", params={"stat": "review"})
    assert response.status_code == 400
    body = response.json()
    assert "state" in body["accepted"] and "escalated" in body["accepted"]
    assert body["detail"].startswith("未知的查询参数“stat”：是否想用“state”？")
    assert body["title"] == "请求有误"


def test_declared_parameters_still_pass(api: Api, area: str) -> None:
    with api.as_(["auditor"], area) as client:
        assert client.get("/cases", params={"state": "review", "limit": 5}).status_code == 200
        assert client.get("/events", params={"input": ["reason=a", "reason!=b"],
                                             "workflow": "api_resident_service"}).status_code == 200
        assert client.get("/stats/stages", params={"workflow": "api_resident_service",
                                                   "from": "2026-01-01"}).status_code == 200
