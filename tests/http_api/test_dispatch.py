"""The quick operations' routes found without the router's walk (`api.dispatch`): the same
route, with the scope the router would give it, hence the same answers; and never a route
an earlier one could take the request from."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import _IncludedRouter
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.dispatch import QuickRoutes, quick_entries, route_versions
from api.quick import quick
from http_api.conftest import Api, start_case
from http_api.test_thread_hops import _without_ids

FIRE = {"trigger": "accept", "input": {"id_number": "1" * 18}}


def _quick_routes(app: FastAPI) -> QuickRoutes:
    layer: Any = app.middleware_stack
    while not isinstance(layer, QuickRoutes):
        layer = layer.app
    return layer


@contextmanager
def by_router(api: Api) -> Iterator[None]:
    """Within the block, every request goes the router's way."""
    layer = _quick_routes(api.app)
    entries, versions = layer.entries, layer.versions
    layer.entries, layer.versions = [], route_versions(api.app.router)
    try:
        yield
    finally:
        layer.entries, layer.versions = entries, versions


def test_the_quick_operations_are_found_without_the_router(api: Api) -> None:
    with api.as_(["caseworker"], "dispatch") as client:
        client.get("/cases/none")  # the table is built on the first request
    entries = _quick_routes(api.app).entries
    assert {(entry.route.name, *entry.methods) for entry in entries} == {
        ("start_case", "POST"), ("get_case", "GET"), ("get_actions", "GET"),
        ("fire", "POST")}


def _seen_scope(api: Api, client: httpx.Client, path: str, monkeypatch: pytest.MonkeyPatch
                ) -> dict[str, Any]:
    """The scope the fire route is called with, copied when it is called."""
    seen: dict[str, Any] = {}
    fire = next(entry.route for entry in quick_entries(api.app.router)
                if entry.route.name == "fire")
    original = fire.handle

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope, fastapi=dict(scope["fastapi"]))
        await original(scope, receive, send)

    monkeypatch.setattr(fire, "handle", recording)
    response = client.post(path, json=FIRE)
    monkeypatch.undo()
    assert seen, response.text
    return seen


def test_a_fire_reaches_its_route_with_the_scope_the_router_gives(
        api: Api, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with api.as_(["caseworker"], area) as client:
        path = f"/cases/{start_case(client, area)['id']}/events"
        direct = _seen_scope(api, client, path, monkeypatch)
        with by_router(api):
            routed = _seen_scope(api, client, path, monkeypatch)
    assert direct.keys() == routed.keys()
    for key in direct.keys() - {"fastapi_middleware_astack", "state"}:  # per request
        assert direct[key] == routed[key], key
    assert direct["route"].name == "fire"


def _answers(api: Api, area: str) -> list[tuple[int, list[str], Any]]:
    """What a series of fires, valid and not, is answered (per-request values masked)."""
    answers = []
    name = f"u{uuid.uuid4().hex[:12]}"
    with api.client(api.token(["caseworker"], area, name=name)) as client, \
            api.as_(["auditor"], area) as auditor, api.client("no-such-token") as stranger:
        case = start_case(client, area)["id"]
        path = f"/cases/{case}/events"
        for sender, url, kwargs in (
                (client, path, {"json": FIRE}),
                (client, path, {"json": FIRE}),  # the case has moved on: refused
                (client, path, {"json": {**FIRE, "trigger": "no_such"}}),
                (client, path, {"json": {"trigger": 7}}),
                (client, path, {"content": b"{", "headers": {"content-type": "application/json"}}),
                (client, path, {"json": FIRE, "headers": {"if-match": '"99"'}}),
                (client, path + "?stat=1", {"json": FIRE}),
                (client, "/cases/no-such-case/events", {"json": FIRE}),
                (auditor, path, {"json": FIRE}),
                (stranger, path, {"json": FIRE})):
            response = sender.post(url, **kwargs)
            headers = [name for name in response.headers if name != "x-request-id"]
            text = response.text.replace(case, "<case>").replace(name, "<name>")
            body = (_without_ids(json.loads(text), set())
                    if response.headers.get("content-type", "").endswith("json") else text)
            answers.append((response.status_code, headers, body))
    return answers


def test_fires_are_answered_as_the_router_would_answer_them(api: Api, area: str) -> None:
    direct = _answers(api, area)
    with by_router(api):
        routed = _answers(api, area)
    assert [answer[0] for answer in direct] == [200, 409, 422, 422, 422, 412, 400, 404, 403,
                                                401], direct
    assert direct == routed


def _app(*earlier: Any) -> FastAPI:
    """An app whose `/api/items/{item_id}` POST is quick, `earlier` included before it."""
    app = FastAPI()
    first = APIRouter()
    for path, methods in earlier:
        if methods == "mount":
            first.routes.append(Mount(path, app=StaticFiles(directory=".")))
            continue

        async def other() -> None:
            return None

        first.add_api_route(path, other, methods=methods)
    app.include_router(first, prefix="/api")
    second = APIRouter()

    @quick(lambda: None)
    async def item(item_id: str) -> None:
        return None

    second.add_api_route("/items/{item_id}", item, methods=["POST"])
    app.include_router(second, prefix="/api")
    return app


@pytest.mark.parametrize(("earlier", "found"), [
    ((), True),
    ((("/items/{other}", ["POST"]),), False),
    ((("/items/special", ["POST"]),), False),
    ((("/items/{other}", ["GET"]),), True),
    ((("/items/{other}/more", ["POST"]),), True),
    ((("/{rest:path}", ["POST"]),), False),
    ((("/items", "mount"),), False),
], ids=["alone", "same shape", "one literal id", "other method", "longer path",
        "path parameter", "mount"])
def test_a_quick_route_an_earlier_route_might_take_requests_from_is_left_to_the_router(
        earlier: tuple[Any, ...], found: bool) -> None:
    app = _app(*earlier)
    assert bool(quick_entries(app.router)) is found


def test_a_route_added_later_that_might_take_a_quick_routes_requests_takes_them_back(
        ) -> None:
    app = _app()
    layer = QuickRoutes(app.router)
    reached: list[str] = []

    async def call(path: str) -> None:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "root_path": "",
                 "query_string": b"", "headers": []}
        await AsyncExitStackMiddleware(layer)(scope, receive, send)
        reached.append(f"{len(layer.entries)} {sent[1]['body'].decode()}")

    asyncio.run(call("/api/items/one"))
    first = next(route for route in app.router.routes if isinstance(route, _IncludedRouter))

    async def other() -> dict[str, str]:
        return {"by": "other"}

    first.original_router.add_api_route("/items/{other}", other, methods=["POST"])
    asyncio.run(call("/api/items/one"))
    assert reached == ["1 null", '0 {"by":"other"}']
