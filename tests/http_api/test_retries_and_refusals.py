"""Retries and refusals at the door, over real HTTP on both databases: every retry of a
change that succeeded gets its result, refused attempts are recorded once, in the
transaction that refused them, and a token that keeps being refused is slowed down."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx

from api.limits import RefusalLimit
from engine.store.operations import list_operations
from http_api.conftest import Api, start_case

ID_NUMBER = "350102199001011234"


def test_twenty_concurrent_retries_of_one_change_all_get_its_result(api: Api,
                                                                    area: str) -> None:
    token = api.token(["caseworker"], area)
    with api.client(token) as client:
        case = start_case(client, area)
    headers = {"Idempotency-Key": uuid.uuid4().hex, "If-Match": f'"{case["version"]}"'}
    body = {"trigger": "accept", "input": {"id_number": ID_NUMBER}}
    answers: list[httpx.Response] = []
    ready = threading.Barrier(20)

    def retry() -> None:
        with api.client(token) as client:
            ready.wait()
            answers.append(client.post(f"/cases/{case['id']}/events", json=body,
                                       headers=headers))

    threads = [threading.Thread(target=retry) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 20, [a.text for a in answers]
    assert {a.json()["event"]["seq"] for a in answers} == {2}
    assert sorted(a.json()["replayed"] for a in answers) == [False] + [True] * 19
    with api.client(token) as client:
        assert len(client.get(f"/cases/{case['id']}/history").json()) == 2
    refused, _ = list_operations(api.app.state.db, action="change_refused", limit=1000)
    assert [e for e in refused if case["id"] in (e.target or "")] == []


def test_a_refused_attempt_is_recorded_once(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        response = client.post(f"/cases/{case['id']}/events", json={"trigger": "approve"},
                               headers={"X-Request-ID": f"once-{case['id']}"})
    assert response.status_code in (403, 409)
    entries, _ = list_operations(api.app.state.db, action="change_refused", limit=1000)
    mine = [e for e in entries if e.request_id == f"once-{case['id']}"]
    assert [(e.outcome, e.detail["code"], e.community) for e in mine] == [
        ("refused", response.json()["code"], area)]


def test_a_token_refused_too_often_is_answered_429_until_its_allowance_returns(
        api: Api, area: str) -> None:
    state: Any = api.app.state
    kept = state.refusal_limit
    now = [0.0]
    state.refusal_limit = RefusalLimit(burst=3, per_minute=6, clock=lambda: now[0])
    try:
        with api.as_(["caseworker"], area) as client:
            case = start_case(client, area)
            attempt = {"trigger": "approve"}
            statuses = [client.post(f"/cases/{case['id']}/events", json=attempt).status_code
                        for _ in range(4)]
            slowed = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
            readable = client.get(f"/cases/{case['id']}")
            now[0] += 10.0  # one refusal's worth of allowance back
            allowed = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
    finally:
        state.refusal_limit = kept
    assert statuses[:3] == [statuses[0]] * 3 and statuses[0] in (403, 409)
    assert statuses[3] == 429
    assert slowed.status_code == 429
    assert slowed.headers["content-type"].startswith("application/problem+json")
    assert slowed.json()["code"] == "too_many_refusals"
    assert int(slowed.headers["retry-after"]) >= 1
    assert readable.status_code == 200
    assert allowed.status_code == 200, allowed.text
