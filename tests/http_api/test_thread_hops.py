"""How many worker-thread hops a request costs: each is a queue put, a thread woken and a
call back into the event loop, dearer than most of the work sent to the thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest

from api import hop, quick
from http_api.conftest import Api, start_case


def test_a_fire_takes_one_thread_hop_for_the_token_and_the_change_together(
        api: Api, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hops: list[str] = []

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            hops.append(getattr(func, "__qualname__", repr(func)))
            return await original(func, *args, **kwargs)
        return counted

    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting(anyio.to_thread.run_sync))
        monkeypatch.setattr(hop, "run", counting(hop.run))
        response = client.post(f"/cases/{case['id']}/events",
                               json={"trigger": "accept", "input": {"id_number": "1" * 18}})
        monkeypatch.undo()
    assert response.status_code == 200, response.text
    assert len(hops) == 1, hops


def _without_ids(value: Any, ids: set[str]) -> Any:
    """`value` with every string proper to this one fire (the case's id, times, hashes)
    replaced."""
    if isinstance(value, dict):
        return {k: _without_ids(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_ids(v, ids) for v in value]
    if isinstance(value, str) and (value in ids or value[:2] == "20" or len(value) == 64):
        return "<varies>"
    return value


def test_a_fire_the_quick_path_answers_is_the_answer_fastapi_gives(
        api: Api, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(self: object, request: object) -> None:
        return None

    body = {"trigger": "accept", "input": {"id_number": "1" * 18}}
    answers = []
    with api.as_(["caseworker"], area) as client:
        for whole_way in (False, True):
            case = start_case(client, area)
            if whole_way:
                monkeypatch.setattr(quick._Plan, "values", never)
            response = client.post(f"/cases/{case['id']}/events", json=body)
            answers.append((response.status_code, list(response.headers.keys()),
                            response.headers["etag"], response.headers["content-type"],
                            _without_ids(response.json(), {case["id"]})))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
