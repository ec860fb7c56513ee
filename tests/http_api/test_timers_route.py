"""Timers over HTTP: what is pending, within the caller's scope; and the service's own
scheduler firing due timers by itself while the app runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from api.main import create_app
from engine.clock import FrozenClock
from engine.settings import PROJECT_ROOT, Settings
from http_api.conftest import Api, LiveServer

SOCIAL_ORG = {"name": "上古健康服务中心", "residents_need": "居家养老"}


def start_incubation(client: httpx.Client, community: str) -> dict[str, object]:
    response = client.post("/cases", json={"workflow_id": "social_org_incubation",
                                           "community": community, "data": SOCIAL_ORG})
    assert response.status_code == 201, response.text
    case: dict[str, object] = response.json()["case"]
    return case


def test_a_new_case_lists_its_pending_deadline(api: Api, area: str) -> None:
    client = api.as_(["caseworker", "party_committee"], f"{area}/a")
    case = start_incubation(client, f"{area}/a")
    response = client.get("/timers", params={"case": case["id"]})
    assert response.status_code == 200, response.text
    timers = response.json()["data"]
    assert [(t["timer_id"], t["status"], t["action"]) for t in timers] == [
        ("reply_due", "pending", "mark_overdue")]


def test_timers_of_another_community_are_not_found(api: Api, area: str) -> None:
    owner = api.as_(["caseworker", "party_committee"], f"{area}/a")
    case = start_incubation(owner, f"{area}/a")
    outsider = api.as_(["auditor"], f"{area}/b")
    assert outsider.get("/timers", params={"case": case["id"]}).status_code == 404
    listed = outsider.get("/timers").json()["data"]
    assert all(t["case_id"] != case["id"] for t in listed)


def test_an_unknown_timer_status_is_refused_with_422(api: Api, area: str) -> None:
    client = api.as_(["auditor"], area)
    response = client.get("/timers", params={"status": "sleeping"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["status"]


def test_timers_filter_by_their_status_and_by_the_state_that_armed_them(
        api: Api, area: str) -> None:
    client = api.as_(["caseworker", "party_committee"], f"{area}/a")
    case = start_incubation(client, f"{area}/a")
    pending = client.get("/timers", params={"case": case["id"], "status": "pending"})
    assert [(t["state"], t["status"]) for t in pending.json()["data"]] == [
        (case["state"], "pending")]
    assert client.get("/timers", params={"case": case["id"], "status": "fired"}
                      ).json()["data"] == []
    armed = client.get("/timers", params={"case": case["id"], "state": case["state"]})
    assert len(armed.json()["data"]) == 1
    assert client.get("/timers", params={"case": case["id"], "state": "elsewhere"}
                      ).json()["data"] == []


def test_the_running_service_marks_a_case_overdue_by_itself(tmp_path: Path) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "social_org_incubation.yaml").write_text(
        (PROJECT_ROOT / "workflows" / "social_org_incubation.yaml").read_text("utf-8"), "utf-8")
    clock = FrozenClock(datetime(2025, 9, 26, 9, tzinfo=UTC))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'timers.db'}",
                        HATCHERY_DATA_DIR=tmp_path, HATCHERY_WORKFLOWS_DIR=workflows,
                        HATCHERY_TIMER_POLL_SECONDS=0.1)
    app = create_app(settings, clock=clock)
    with LiveServer(app) as server:
        token = app.state.tokens.create("lead", ["caseworker", "party_committee"], "jinzhou",
                                        (), now=clock.now())[1]
        client = httpx.Client(base_url=server.url + "/api/v1",
                              headers={"Authorization": f"Bearer {token}"})
        case = start_incubation(client, "jinzhou")
        # Five working days from Friday 26 September 2025 end after the National Day
        # holiday (1-8 October, with Sunday 28 September worked): on Friday 10 October.
        clock.advance(timedelta(days=14))
        deadline = time.monotonic() + 20
        seen = client.get(f"/cases/{case['id']}").json()
        while not seen["overdue"] and time.monotonic() < deadline:
            time.sleep(0.1)
            seen = client.get(f"/cases/{case['id']}").json()
        history = client.get(f"/cases/{case['id']}/history").json()
    assert seen["overdue"] is True
    assert history[-1]["actor"] == "system:timer"
    app.state.db.dispose()
