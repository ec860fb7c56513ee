"""The responsible person (责任人) over the API: claimed by a caseworker, handed over by
the community's party committee, listed as "mine" and "unassigned", with a follow-up day;
each change in the case's history; a name that is nobody in the community refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from engine.access.users import UserStore
from http_api.conftest import Api, start_case


def _person(api: Api, community: str, roles: tuple[str, ...] = ("caseworker",)) -> str:
    name = f"p{uuid.uuid4().hex[:10]}"
    UserStore(api.app.state.service.engine).create(
        name, roles, community, (), password="First-pass-01", now=datetime.now(UTC))
    return name


def test_a_caseworker_claims_a_case_and_lists_it_as_theirs(api: Api, area: str) -> None:
    me = _person(api, area)
    with api.client(api.token(["caseworker"], area, name=me)) as client:
        case = start_case(client, area)
        claimed = client.post(f"/cases/{case['id']}/assignment", json={"assignee": me})
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["case"]["assignee"] == me
        mine = client.get("/cases", params={"assignee": me}).json()["data"]
        assert [c["id"] for c in mine] == [case["id"]]
        history = client.get(f"/cases/{case['id']}/history").json()
        assert history[-1]["kind"] == "assignment"
        assert case["id"] not in [c["id"] for c in client.get(
            "/cases", params={"unassigned": True}).json()["data"]]


def test_the_party_committee_hands_a_case_over(api: Api, area: str) -> None:
    leaving, taking = _person(api, area), _person(api, area)
    with api.client(api.token(["caseworker"], area, name=leaving)) as client:
        case = start_case(client, area)
        client.post(f"/cases/{case['id']}/assignment", json={"assignee": leaving})
    with api.client(api.token(["party_committee"], area, name="lead")) as lead:
        handed = lead.post(f"/cases/{case['id']}/assignment",
                           json={"assignee": taking, "comment": "调岗"})
        assert handed.status_code == 200, handed.text
        assert handed.json()["case"]["assignee"] == taking


def test_taking_a_colleagues_case_is_forbidden(api: Api, area: str) -> None:
    owner, other = _person(api, area), _person(api, area)
    with api.client(api.token(["caseworker"], area, name=owner)) as client:
        case = start_case(client, area)
        client.post(f"/cases/{case['id']}/assignment", json={"assignee": owner})
    with api.client(api.token(["caseworker"], area, name=other)) as client:
        refused = client.post(f"/cases/{case['id']}/assignment", json={"assignee": other})
        assert refused.status_code == 403
        assert refused.json()["code"] == "assignment_not_allowed"


def test_an_assignee_who_is_nobody_here_is_refused(api: Api, area: str) -> None:
    elsewhere = _person(api, f"{area}-elsewhere")
    with api.as_(["party_committee"], area) as client:
        case = start_case(client, area)
        refused = client.post(f"/cases/{case['id']}/assignment", json={"assignee": elsewhere})
        assert refused.status_code == 422


def test_the_follow_up_day_filters_the_list(api: Api, area: str) -> None:
    me = _person(api, area)
    with api.client(api.token(["caseworker"], area, name=me)) as client:
        case = start_case(client, area)
        client.post(f"/cases/{case['id']}/assignment", json={"assignee": me})
        set_ = client.post(f"/cases/{case['id']}/follow-up", json={"on": "2026-03-09"})
        assert set_.status_code == 200 and set_.json()["case"]["follow_up_on"] == "2026-03-09"
        due = client.get("/cases", params={"follow_up_by": "2026-03-09"}).json()["data"]
        assert [c["id"] for c in due] == [case["id"]]
        assert client.get("/cases", params={"follow_up_by": "2026-03-08"}).json()["data"] == []
