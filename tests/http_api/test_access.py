"""Who may do what: the role x endpoint matrix, and isolation between communities."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from http_api.conftest import WORKFLOW, Api, start_case

ROLES = ["admin", "designer", "caseworker", "auditor", "party_committee"]
READ = dict.fromkeys(ROLES, 200)
DEFINE = {"admin": 200, "designer": 200, "caseworker": 403, "auditor": 403,
          "party_committee": 403}
HANDLE = {"admin": 200, "designer": 403, "caseworker": 200, "auditor": 403,
          "party_committee": 200}

# What each role gets from each endpoint. `note` may be fired by any caseworker (the
# transition names no roles); `approve` only by the workflow role party_committee (and
# admin). Ticks, suspensions and links need a role the workflow handles cases with.
EXPECTED: dict[str, dict[str, int]] = {
    "GET /workflows": READ,
    "GET /workflows/{id}": READ,
    "GET /workflows/{id}/diagram": READ,
    "POST /workflows/validate": DEFINE,
    "POST /workflows": {**DEFINE, "admin": 201, "designer": 201},
    "POST /cases": {**HANDLE, "admin": 201, "caseworker": 201, "party_committee": 201},
    "GET /cases": READ,
    "GET /cases/{id}": READ,
    "GET /cases/{id}/actions": READ,
    "GET /cases/{id}/history": READ,
    "GET /events": READ,
    "POST /cases/{id}/events note": {**HANDLE, "party_committee": 403},
    "PUT /cases/{id}/checklist/documents": HANDLE,
    "DELETE /cases/{id}/checklist/documents": HANDLE,
    "POST /cases/{id}/events approve": {**HANDLE, "caseworker": 403},
    "POST /cases/{id}/links": HANDLE,
    "POST /cases/{id}/suspend": HANDLE,
    "POST /cases/{id}/resume": HANDLE,
}


def upload_text(workflow_id: str) -> str:
    return (f"id: {workflow_id}\nversion: 1.0.0\ntitle: {{en: Uploaded}}\n"
            "states:\n  open: {initial: true}\n  done: {final: true}\n"
            "transitions:\n  - {trigger: finish, from: open, to: done}\n")


def walk(api: Api, client: httpx.Client, admin: httpx.Client, area: str) -> dict[str, int]:
    """Call every endpoint once as `client`; cases are prepared by `admin` for each step."""
    got: dict[str, int] = {}
    fresh = start_case(admin, area)["id"]
    in_review = start_case(admin, area)["id"]
    admin.post(f"/cases/{in_review}/events",
               json={"trigger": "accept", "input": {"id_number": "3" * 18}})
    ticked = start_case(admin, area)["id"]
    admin.post(f"/cases/{ticked}/events",
               json={"trigger": "accept", "input": {"id_number": "4" * 18}})
    admin.put(f"/cases/{ticked}/checklist/documents", json={"evidence": "filed"})
    untick = start_case(admin, area)["id"]
    admin.post(f"/cases/{untick}/events",
               json={"trigger": "accept", "input": {"id_number": "5" * 18}})
    admin.put(f"/cases/{untick}/checklist/documents", json={"evidence": "filed"})
    suspended = start_case(admin, area)["id"]
    admin.post(f"/cases/{suspended}/suspend", json={"reason": "paused"})
    other = start_case(admin, area)["id"]
    calls: list[tuple[str, str, str, dict[str, Any]]] = [
        ("GET /workflows", "GET", "/workflows", {}),
        ("GET /workflows/{id}", "GET", f"/workflows/{WORKFLOW}", {}),
        ("GET /workflows/{id}/diagram", "GET", f"/workflows/{WORKFLOW}/diagram",
         {"params": {"case": fresh}}),
        ("POST /workflows/validate", "POST", "/workflows/validate",
         {"content": upload_text("api_check"), "headers": {"Content-Type": "application/yaml"}}),
        ("POST /workflows", "POST", "/workflows",
         {"content": upload_text(f"api_up_{uuid.uuid4().hex[:10]}"),
          "headers": {"Content-Type": "application/yaml"}}),
        ("POST /cases", "POST", "/cases", {"json": {"workflow_id": WORKFLOW, "community": area,
                                                    "data": {"applicant": "Matrix"}}}),
        ("GET /cases", "GET", "/cases", {}),
        ("GET /cases/{id}", "GET", f"/cases/{fresh}", {}),
        ("GET /cases/{id}/actions", "GET", f"/cases/{fresh}/actions", {}),
        ("GET /cases/{id}/history", "GET", f"/cases/{fresh}/history", {}),
        ("GET /events", "GET", "/events", {"params": {"case": fresh}}),
        ("POST /cases/{id}/events note", "POST", f"/cases/{fresh}/events",
         {"json": {"trigger": "note"}}),
        ("PUT /cases/{id}/checklist/documents", "PUT", f"/cases/{in_review}/checklist/documents",
         {"json": {"evidence": "copies filed"}}),
        ("DELETE /cases/{id}/checklist/documents", "DELETE",
         f"/cases/{untick}/checklist/documents", {"params": {"reason": "wrong copy"}}),
        ("POST /cases/{id}/events approve", "POST", f"/cases/{ticked}/events",
         {"json": {"trigger": "approve"}}),
        ("POST /cases/{id}/links", "POST", f"/cases/{fresh}/links",
         {"json": {"case_id": other, "relation": "related"}}),
        ("POST /cases/{id}/suspend", "POST", f"/cases/{fresh}/suspend",
         {"json": {"reason": "on hold"}}),
        ("POST /cases/{id}/resume", "POST", f"/cases/{suspended}/resume", {"json": {}}),
    ]
    for label, method, path, kwargs in calls:
        response = client.request(method, path, **kwargs)
        got[label] = response.status_code
        if response.status_code == 403:
            problem = response.json()
            assert problem["code"] == "role_missing", (label, problem)
            assert problem["required_roles"], (label, problem)
    return got


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_its_part(api: Api, area: str, role: str) -> None:
    admin = api.as_(["admin"], area)
    client = api.as_([role], area)
    got = walk(api, client, admin, area)
    expected = {label: statuses[role] for label, statuses in EXPECTED.items()}
    assert got == expected


def test_every_endpoint_needs_a_valid_token(api: Api, area: str) -> None:
    admin = api.as_(["admin"], area)
    case = start_case(admin, area)["id"]
    anonymous = api.client()
    for method, path in [("GET", "/workflows"), ("GET", f"/workflows/{WORKFLOW}"),
                         ("POST", "/workflows/validate"), ("POST", "/workflows"),
                         ("POST", "/cases"), ("GET", "/cases"), ("GET", f"/cases/{case}"),
                         ("GET", f"/cases/{case}/actions"), ("POST", f"/cases/{case}/events"),
                         ("GET", f"/cases/{case}/history"), ("GET", "/events"),
                         ("PUT", f"/cases/{case}/checklist/documents"),
                         ("POST", f"/cases/{case}/suspend")]:
        response = anonymous.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_caller_is_checked_before_the_body(api: Api, area: str) -> None:
    """401 for no token, then 403 for a role that may not change cases, before any 422
    for the body or the headers."""
    case = start_case(api.as_(["admin"], area), area)["id"]
    body, headers = {"trigger": 5, "unknown": True}, {"If-Match": "x" * 200}
    path = f"/cases/{case}/events"
    response = api.client().post(path, json=body, headers=headers)
    assert response.status_code == 401
    response = api.as_(["auditor"], area).post(path, json=body, headers=headers)
    assert response.status_code == 403 and response.json()["code"] == "role_missing"
    response = api.as_(["caseworker"], area).post(path, json=body, headers=headers)
    assert response.status_code == 422


# -- communities --------------------------------------------------------------------------


@pytest.fixture
def two_communities(api: Api, area: str) -> dict[str, Any]:
    """Cases in two sibling communities of one street, and a token for each level."""
    north, south = f"{area}/north", f"{area}/south"
    clients = {name: api.as_(["caseworker"], scope)
               for name, scope in (("north", north), ("south", south), ("street", area))}
    return {
        "north": north, "south": south, "clients": clients,
        "north_case": start_case(clients["north"], north)["id"],
        "south_case": start_case(clients["south"], south)["id"],
    }


def test_a_case_of_another_community_does_not_exist_for_the_caller(
        two_communities: dict[str, Any]) -> None:
    south = two_communities["clients"]["south"]
    case = two_communities["north_case"]
    for method, path, kwargs in [
        ("GET", f"/cases/{case}", {}),
        ("GET", f"/cases/{case}/actions", {}),
        ("GET", f"/cases/{case}/history", {}),
        ("GET", "/events", {"params": {"case": case}}),
        ("GET", f"/workflows/{WORKFLOW}/diagram", {"params": {"case": case}}),
        ("POST", f"/cases/{case}/events", {"json": {"trigger": "note"}}),
        ("PUT", f"/cases/{case}/checklist/documents", {"json": {"evidence": "x"}}),
        ("POST", f"/cases/{case}/suspend", {"json": {"reason": "x"}}),
        ("POST", f"/cases/{case}/resume", {}),
        ("POST", f"/cases/{two_communities['south_case']}/links",
         {"json": {"case_id": case}}),
    ]:
        response = south.request(method, path, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        # Exactly what a case that does not exist gets: nothing tells them apart.
        assert response.json()["detail"] == f"case '{case}' was not found"


def test_each_token_lists_only_the_cases_in_its_scope(two_communities: dict[str, Any]) -> None:
    clients = two_communities["clients"]
    north_case, south_case = two_communities["north_case"], two_communities["south_case"]

    def listed(name: str, **params: Any) -> set[str]:
        return {c["id"] for c in clients[name].get("/cases", params=params).json()["data"]}

    def events(name: str) -> set[str]:
        return {e["case_id"] for e in clients[name].get("/events").json()["data"]}

    assert listed("north") == events("north") == {north_case}
    assert listed("south") == events("south") == {south_case}
    assert listed("street") == events("street") == {north_case, south_case}
    assert listed("street", community=two_communities["north"]) == {north_case}
    # A filter wider than the scope is narrowed to it.
    assert listed("north", community=two_communities["north"].split("/")[0]) == {north_case}


def test_asking_for_another_community_is_forbidden(two_communities: dict[str, Any]) -> None:
    north = two_communities["clients"]["north"]
    south_area = two_communities["south"]
    for path in ("/cases", "/events"):
        response = north.get(path, params={"community": south_area})
        assert response.status_code == 403
        assert response.json()["code"] == "community_out_of_scope"
    response = north.post("/cases", json={"workflow_id": WORKFLOW, "community": south_area,
                                          "data": {"applicant": "Elsewhere"}})
    assert response.status_code == 403
    assert response.json()["code"] == "community_out_of_scope"
    assert two_communities["north"] in response.json()["detail"]


def test_a_street_token_acts_on_its_communities(two_communities: dict[str, Any]) -> None:
    street = two_communities["clients"]["street"]
    response = street.post(f"/cases/{two_communities['north_case']}/events",
                           json={"trigger": "note"})
    assert response.status_code == 200
    created = street.post("/cases", json={"workflow_id": WORKFLOW,
                                          "community": two_communities["south"],
                                          "data": {"applicant": "From the street"}})
    assert created.status_code == 201
