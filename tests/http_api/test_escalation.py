"""Escalation over HTTP: the case's flag (with when), the queue filter, and the events of
that kind; each escalation made through the service as a timer or a person makes it."""

from __future__ import annotations

from typing import Any

from engine.core.snapshot import Actor
from http_api.conftest import Api, start_case

LEAD = Actor("lead", frozenset({"party_committee"}))


def escalate(api: Api, case_id: str) -> Any:
    """Escalate as a person with a role of the workflow would (a timer does the same)."""
    return api.app.state.service.escalate(case_id, actor=LEAD, reason="no reply in 10 days")


def test_an_escalated_case_is_flagged_with_when_until_it_leaves_its_stage(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        assert client.get(f"/cases/{case['id']}").json()["escalated"] is False
        event = escalate(api, case["id"]).event
        seen = client.get(f"/cases/{case['id']}").json()
        assert seen["escalated"] is True
        assert seen["escalated_at"].replace("Z", "+00:00") == event.at.isoformat()
        noted = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
        assert noted.json()["case"]["escalated"] is True  # still in its stage
        accepted = client.post(f"/cases/{case['id']}/events", json={
            "trigger": "accept", "input": {"id_number": "1" * 18}})
        assert accepted.json()["case"]["escalated"] is False
        assert client.get(f"/cases/{case['id']}").json()["escalated_at"] is None


def test_the_queue_filters_escalated_cases(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        flagged = start_case(client, area, applicant="Flagged")["id"]
        other = start_case(client, area, applicant="Other")["id"]
        escalate(api, flagged)
        listed = client.get("/cases", params={"community": area, "escalated": "true"}).json()
        assert [(c["id"], c["escalated"]) for c in listed["data"]] == [(flagged, True)]
        rest = client.get("/cases", params={"community": area, "escalated": "false"}).json()
        assert [c["id"] for c in rest["data"]] == [other]


def test_escalations_are_listed_by_event_kind(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
        escalate(api, case["id"])
        found = client.get("/events", params={"kind": "escalation", "community": area})
        assert found.status_code == 200, found.text
        assert [(e["case_id"], e["kind"], e["actor"]) for e in found.json()["data"]] == [
            (case["id"], "escalation", "lead")]


def test_an_unknown_event_kind_is_refused_listing_the_kinds(api: Api, area: str) -> None:
    with api.as_(["auditor"], area, lang="zh") as client:
        response = client.get("/events", params={"kind": "escalated"})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["in"], error["code"]) == ("kind", "query",
                                                           "unknown_event_kind")
    assert "escalation（督办提醒）" in error["message"]
    assert "“escalated”不是事件类型" in error["message"]
