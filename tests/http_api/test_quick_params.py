"""The quick path reads an operation's path and header parameters itself (`api.quick`):
what it answers for each is what FastAPI's whole way answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api import quick
from http_api.conftest import Api, start_case

FIRE = {"trigger": "accept", "input": {"id_number": "1" * 18}}


async def _never(self: object, request: object) -> None:
    return None


def _both_ways(api: Api, area: str, monkeypatch: pytest.MonkeyPatch,
               ask: Callable[[httpx.Client, dict[str, Any]], httpx.Response]
               ) -> list[tuple[int, dict[str, Any]]]:
    """The answer to `ask` on a fresh case by the quick path, then by FastAPI's way."""
    answers = []
    with api.as_(["caseworker"], area) as client:
        for whole_way in (False, True):
            case = start_case(client, area)
            if whole_way:
                monkeypatch.setattr(quick._Plan, "values", _never)
            response = ask(client, case)
            body = response.json()
            body.pop("instance", None)
            answers.append((response.status_code, body))
    return answers


def test_a_case_id_over_its_length_limit_is_refused_as_fastapi_refuses_it(
        api: Api, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _both_ways(api, area, monkeypatch, lambda client, case: client.post(
        f"/cases/{'c' * 201}/events", json=FIRE))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422
    assert answers[0][1]["errors"][0]["field"] == "case_id"


def test_a_stale_if_match_header_is_refused_as_fastapi_refuses_it(
        api: Api, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _both_ways(api, area, monkeypatch, lambda client, case: client.post(
        f"/cases/{case['id']}/events", json=FIRE,
        headers={"If-Match": f'"{case["version"] + 5}"'}))
    assert answers[0] == answers[1]
    assert answers[0][0] == 412


def test_an_idempotency_key_header_reaches_the_change_on_the_quick_path(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        headers = {"Idempotency-Key": "quick-params-1"}
        first = client.post(f"/cases/{case['id']}/events", json=FIRE, headers=headers)
        again = client.post(f"/cases/{case['id']}/events", json=FIRE, headers=headers)
    assert first.status_code == 200, first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["case"]["version"] == first.json()["case"]["version"]
