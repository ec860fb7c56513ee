"""How many worker-thread hops a request costs: each is a queue put, a thread woken and a
call back into the event loop, dearer than most of the work sent to the thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest

from http_api.conftest import Api, start_case


def test_a_fire_takes_two_thread_hops_the_token_and_the_change(
        api: Api, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hops: list[str] = []
    original = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await original(func, *args, **kwargs)

    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
        response = client.post(f"/cases/{case['id']}/events",
                               json={"trigger": "accept", "input": {"id_number": "1" * 18}})
        monkeypatch.undo()
    assert response.status_code == 200, response.text
    assert len(hops) == 2, hops
