"""What every answer carries whatever produced it (`api.front`): the security headers and
the request id, on the answers of the routes and on those made before or after any route
runs (404, 405, 413, 422 for the request line, 500)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute

from http_api.conftest import Api, start_case

PROBLEM = "application/problem+json"
PERSONAL = "Lin Mei 350102199001011234"
SECURITY = ("x-content-type-options", "x-frame-options", "referrer-policy",
            "cross-origin-opener-policy", "permissions-policy", "content-security-policy")


@pytest.fixture
def extra_routes(api: Api) -> Iterator[str]:
    """Two routes of this test's own on the running app, under a path of their own:
    `/boom` raises an error nothing expects, `/framed` sets a security header itself."""
    app: FastAPI = api.app
    prefix = f"/test-front-{uuid.uuid4().hex[:8]}"

    async def boom() -> None:
        raise RuntimeError(f"a message quoting {PERSONAL}")

    async def framed() -> JSONResponse:
        return JSONResponse({"ok": True}, headers={"X-Frame-Options": "SAMEORIGIN"})

    before: list[BaseRoute] = list(app.router.routes)
    app.add_api_route(f"{prefix}/boom", boom, methods=["GET"])
    app.add_api_route(f"{prefix}/framed", framed, methods=["GET"])
    try:
        yield prefix
    finally:
        app.router.routes[:] = before


def _names(response: httpx.Response) -> list[str]:
    return [name.decode().lower() for name, _ in response.headers.raw]


def _carries_the_headers(response: httpx.Response, request_id: str) -> None:
    names = _names(response)
    for name in SECURITY:
        assert names.count(name) == 1, (response.status_code, name, names)
    assert names[-1] == "x-request-id", names
    assert response.headers["x-request-id"] == request_id


def test_answers_made_before_any_route_runs_carry_the_security_headers_and_request_id(
        api: Api, area: str) -> None:
    big = b'{"trigger": "' + b"x" * (1024 * 1024) + b'"}'

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 100_000

    token = api.token(["caseworker"], area)

    def ask(method: str, path: str, request_id: str, **options: object) -> httpx.Response:
        # A client each: a 413 closes its connection before the body is read.
        with api.client(token) as client:
            headers = {"X-Request-ID": request_id, **options.pop("headers", {})}  # type: ignore[dict-item]
            return client.request(method, path, headers=headers, **options)  # type: ignore[arg-type]

    answers = {
        "413 declared": ask("POST", "/cases", "r-413d", content=big,
                            headers={"Content-Type": "application/json"}),
        "413 streamed": ask("POST", "/workflows/validate", "r-413s", content=chunks()),
        "404": ask("GET", "/no-such-route", "r-404"),
        "405": ask("DELETE", "/workflows", "r-405"),
        "422 path": ask("GET", "/cases/a%00b", "r-422p"),
        "422 query": ask("GET", "/cases", "r-422q", params={"state": "a\x00"}),
    }
    expected = {"404": 404, "405": 405, "413 declared": 413, "413 streamed": 413,
                "422 path": 422, "422 query": 422}
    for what, response in answers.items():
        assert response.status_code == expected[what], (what, response.text)
        assert response.headers["content-type"] == PROBLEM, what
        _carries_the_headers(response, response.request.headers["x-request-id"])


def test_an_error_nothing_expected_is_a_500_problem_with_the_headers_logged_by_type_only(
        api: Api, extra_routes: str, log_records: list[logging.LogRecord]) -> None:
    with httpx.Client(base_url=api.url) as client:
        response = client.get(f"{extra_routes}/boom", headers={"X-Request-ID": "r-500"})
        # The access line is written just after the answer is sent, in the same step of
        # the server's event loop: once a next request is answered, it is written.
        client.get("/healthz")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "internal_error"
    assert PERSONAL not in response.text
    _carries_the_headers(response, "r-500")
    logged = [r.getMessage() for r in log_records if r.name == "hatchery.api"]
    assert any(line.startswith(f"unexpected RuntimeError on GET {extra_routes}/boom")
               for line in logged), logged
    assert not any(PERSONAL in line for line in logged)
    access = [r for r in log_records if r.name == "hatchery.request"
              and getattr(r, "status", None) == 500]
    assert [r.route for r in access] == [f"{extra_routes}/boom"]  # type: ignore[attr-defined]


def test_a_security_header_the_response_set_itself_is_kept_and_not_repeated(
        api: Api, extra_routes: str) -> None:
    with httpx.Client(base_url=api.url) as client:
        response = client.get(f"{extra_routes}/framed", headers={"X-Request-ID": "r-own"})
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    _carries_the_headers(response, "r-own")


def test_an_api_answer_carries_the_security_headers_after_its_own_and_the_id_last(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        response = client.get(f"/cases/{case['id']}", headers={"X-Request-ID": "r-200"})
    assert response.status_code == 200
    names = _names(response)
    assert names.index("etag") < names.index("x-content-type-options")
    assert names[-len(SECURITY) - 1:] == [*SECURITY, "x-request-id"]
    _carries_the_headers(response, "r-200")
