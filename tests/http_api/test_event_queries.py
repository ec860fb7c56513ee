"""Events by what their input recorded and by the role used, over HTTP; a malformed
condition is 422 naming the parameter, and personal data cannot be probed without pii."""

from __future__ import annotations

from http_api.conftest import ID_NUMBER, Api, start_case


def accepted(api: Api, community: str) -> str:
    client = api.as_(["caseworker"], community)
    case = start_case(client, community)
    fired = client.post(f"/cases/{case['id']}/events",
                        json={"trigger": "accept", "input": {"id_number": ID_NUMBER}})
    assert fired.status_code == 200, fired.text
    return str(case["id"])


def test_events_are_found_by_role(api: Api, area: str) -> None:
    case_id = accepted(api, f"{area}/a")
    reader = api.as_(["auditor"], area)
    found = reader.get("/events", params={"case": case_id, "role": "caseworker"}).json()
    assert [e["kind"] for e in found["data"]] == ["start", "transition"]
    assert {e["role"] for e in found["data"]} == {"caseworker"}
    assert reader.get("/events", params={"case": case_id, "role": "admin"}).json()["data"] == []


def test_a_malformed_input_condition_is_422_naming_the_parameter(api: Api, area: str) -> None:
    response = api.as_(["auditor"], area).get("/events", params={
        "input": "id_number", "workflow": "api_resident_service"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "input"


def test_personal_data_cannot_be_probed_without_pii(api: Api, area: str) -> None:
    case_id = accepted(api, f"{area}/a")
    probe = {"case": case_id, "input": f"id_number={ID_NUMBER}"}
    refused = api.as_(["auditor"], area).get("/events", params=probe)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "sensitive_condition"
    allowed = api.as_(["auditor"], area, ("pii",)).get("/events", params=probe)
    assert [e["trigger"] for e in allowed.json()["data"]] == ["accept"]


def test_a_refused_change_is_recorded_in_the_operations_log(api: Api, area: str) -> None:
    community = f"{area}/a"
    client = api.as_(["caseworker"], community)
    case = start_case(client, community)
    refused = client.post(f"/cases/{case['id']}/events", json={"trigger": "approve"})
    assert refused.status_code == 409
    admin = api.as_(["admin"], area)
    entries = admin.get("/audit/operations", params={"action": "change_refused"}).json()
    mine = [e for e in entries["data"] if e["target"].endswith(f"/cases/{case['id']}/events")]
    assert [(e["outcome"], e["detail"]["code"]) for e in mine] == [
        ("refused", "not_allowed_from_state")]


def test_an_input_condition_alone_is_refused_as_it_would_scan_every_event(
        api: Api, area: str) -> None:
    response = api.as_(["auditor"], area).get("/events", params={"input": "notes>1"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "condition_needs_narrowing"
