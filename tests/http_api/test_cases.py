"""Cases over HTTP: start, read with ETag, list, actions, fire, checklist, suspend/resume,
history; the concurrency race; idempotent retries."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx

from http_api.conftest import WORKFLOW, Api, start_case


def test_a_case_starts_and_reads_back_with_its_version_as_etag(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        response = client.post("/cases", json={"workflow_id": WORKFLOW, "community": area,
                                               "data": {"applicant": "Lin Mei"}})
        assert response.status_code == 201
        created = response.json()
        case = created["case"]
        assert response.headers["location"] == f"/api/v1/cases/{case['id']}"
        assert created["event"]["kind"] == "start" and created["replayed"] is False
        assert case["state"] == "submitted" and case["state_title"] == "Submitted"
        read = client.get(f"/cases/{case['id']}")
        assert read.status_code == 200
        assert read.headers["etag"] == f'"{case["version"]}"'
        assert read.json()["data"]["applicant"] == "Lin Mei"


def test_a_case_defaults_to_the_tokens_community(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        response = client.post("/cases", json={"workflow_id": WORKFLOW,
                                               "data": {"applicant": "Lin Mei"}})
        assert response.status_code == 201
        assert response.json()["case"]["community"] == area


def test_firing_moves_the_case_and_returns_the_event(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        response = client.post(f"/cases/{case['id']}/events",
                               json={"trigger": "accept", "input": {"id_number": "1" * 18},
                                     "comment": "documents brought in person"},
                               headers={"If-Match": f'"{case["version"]}"'})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["case"]["state"] == "review"
        assert body["case"]["version"] == case["version"] + 1
        assert response.headers["etag"] == f'"{case["version"] + 1}"'
        assert body["event"]["trigger"] == "accept"
        assert body["event"]["comment"] == "documents brought in person"
        history = client.get(f"/cases/{case['id']}/history").json()
        assert [e["kind"] for e in history] == ["start", "transition"]
        assert history[1]["prev_hash"] == history[0]["hash"]


def test_actions_say_what_is_allowed_why_not_and_the_input_form(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        response = client.get(f"/cases/{case['id']}/actions")
        assert response.status_code == 200
        body = response.json()
        assert (body["state"], body["state_title"], body["status"]) == (
            "submitted", "Submitted", "active")
        actions = {a["trigger"]: a for a in body["actions"]}
        assert set(actions) == {"note", "accept"}  # approve, reject: from review only
        assert actions["accept"]["allowed"] is True
        assert actions["accept"]["to_title"] == "Review"
        schema = actions["accept"]["input_schema"]
        assert schema["required"] == ["id_number"]
        assert schema["properties"]["id_number"] == {
            "type": "string", "minLength": 18, "maxLength": 18, "title": "ID number",
            "x-sensitive": True}
    with api.as_(["caseworker"], area, lang="zh") as client:
        actions = {a["trigger"]: a for a in client.get(f"/cases/{case['id']}/actions")
                   .json()["actions"]}
        assert (actions["accept"]["title"], actions["accept"]["to_title"]) == ("受理", "审核")


def test_actions_near_but_refused_say_why_in_the_callers_language(api: Api,
                                                                  area: str) -> None:
    caseworker = api.as_(["caseworker"], area, lang="zh")
    case = start_case(caseworker, area)
    caseworker.post(f"/cases/{case['id']}/events",
                    json={"trigger": "accept", "input": {"id_number": "3" * 18}})
    mine = {a["trigger"]: a for a in caseworker.get(f"/cases/{case['id']}/actions")
            .json()["actions"]}
    assert {t: a["refusal"]["code"] for t, a in mine.items()} == {
        "approve": "role_missing", "reject": "role_missing"}
    assert "party_committee" in mine["approve"]["refusal"]["message"]
    committee = api.as_(["party_committee"], area, lang="zh")
    theirs = {a["trigger"]: a for a in committee.get(f"/cases/{case['id']}/actions")
              .json()["actions"]}
    assert theirs["reject"]["allowed"] is True  # the checklist is waived
    assert theirs["approve"]["refusal"]["code"] == "checklist_incomplete"
    assert "材料齐全" in theirs["approve"]["refusal"]["message"]
    caseworker.post(f"/cases/{case['id']}/suspend", json={"reason": "away"})
    suspended = committee.get(f"/cases/{case['id']}/actions").json()
    assert suspended["status"] == "suspended"
    assert {a["refusal"]["code"] for a in suspended["actions"]} == {"case_suspended"}


def test_actions_leave_out_automatic_transitions(api: Api, area: str) -> None:
    workflow_id = f"api_auto_{uuid.uuid4().hex[:8]}"
    source = (f"id: {workflow_id}\nversion: 1.0.0\ntitle: {{zh: 自动, en: Automatic}}\n"
              "fields:\n  ready: {type: boolean, default: false}\n"
              "states:\n  open: {initial: true}\n  done: {final: true}\n"
              "transitions:\n"
              "  - {trigger: get_ready, from: open, to: open, effects: {ready: 'true'}}\n"
              "  - {trigger: finish, from: open, to: done, automatic: true, guard: data.ready}\n")
    with api.as_(["designer"], area) as designer:
        uploaded = designer.post("/workflows", content=source,
                                 headers={"Content-Type": "application/yaml"})
        assert uploaded.status_code == 201, uploaded.text
    with api.as_(["caseworker"], area) as client:
        started = client.post("/cases", json={"workflow_id": workflow_id, "community": area})
        case = started.json()["case"]
        actions = client.get(f"/cases/{case['id']}/actions").json()["actions"]
    assert [a["trigger"] for a in actions] == ["get_ready"]


def test_a_checklist_must_be_ticked_before_the_stage_is_left(api: Api, area: str) -> None:
    caseworker = api.as_(["caseworker"], area)
    committee = api.as_(["party_committee"], area)
    case = start_case(caseworker, area)
    caseworker.post(f"/cases/{case['id']}/events",
                    json={"trigger": "accept", "input": {"id_number": "2" * 18}})
    refused = committee.post(f"/cases/{case['id']}/events", json={"trigger": "approve"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "checklist_incomplete"
    assert refused.json()["missing"] == ["documents"]
    ticked = caseworker.put(f"/cases/{case['id']}/checklist/documents",
                            json={"evidence": "copies filed"})
    assert ticked.status_code == 200, ticked.text
    approved = committee.post(f"/cases/{case['id']}/events", json={"trigger": "approve"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["case"]["status"] == "closed"
    assert approved.json()["case"]["outcome"] == "approved"


def test_a_suspended_case_refuses_triggers_until_resumed(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        suspended = client.post(f"/cases/{case['id']}/suspend", json={"reason": "relocating"})
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["case"]["status"] == "suspended"
        refused = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
        assert refused.status_code == 409 and refused.json()["code"] == "case_suspended"
        resumed = client.post(f"/cases/{case['id']}/resume", json={"comment": "back"})
        assert resumed.status_code == 200 and resumed.json()["case"]["status"] == "active"
        assert client.post(f"/cases/{case['id']}/events",
                           json={"trigger": "note"}).status_code == 200


def test_cases_are_listed_by_priority_with_cursor_pages(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        plain = [start_case(client, area, applicant=f"Plain {i}")["id"] for i in range(3)]
        urgent = start_case(client, area, applicant="Urgent one", urgent=True)["id"]
        first = client.get("/cases", params={"community": area, "limit": 2})
        assert first.status_code == 200
        page = first.json()
        assert page["data"][0]["id"] == urgent
        assert page["next_cursor"]
        second = client.get("/cases", params={"community": area, "limit": 2,
                                              "cursor": page["next_cursor"]}).json()
        seen = [c["id"] for c in page["data"] + second["data"]]
        assert sorted(seen) == sorted([*plain, urgent])
        assert second["next_cursor"] is None


def test_cases_are_found_by_words_of_their_title(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        wanted = start_case(client, area, applicant="Chen Jinshan volunteers")["id"]
        start_case(client, area, applicant="Someone else")
        found = client.get("/cases", params={"text": "Jinshan", "community": area}).json()
        assert [c["id"] for c in found["data"]] == [wanted]


def test_events_are_listed_by_case_actor_and_trigger(api: Api, area: str) -> None:
    name = f"worker{uuid.uuid4().hex[:6]}"
    token = api.token(["caseworker"], area, name=name)
    with api.client(token) as client:
        case = start_case(client, area)
        client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
        by_actor = client.get("/events", params={"actor": name}).json()["data"]
        assert {e["trigger"] for e in by_actor} == {None, "note"}
        by_trigger = client.get("/events", params={"trigger": "note", "community": area})
        assert [e["case_id"] for e in by_trigger.json()["data"]] == [case["id"]]
        by_case = client.get("/events", params={"case": case["id"]}).json()["data"]
        assert [e["seq"] for e in by_case] == [1, 2]


def test_the_race_has_one_winner_and_the_loser_retries_on_fresh_state(api: Api,
                                                                       area: str) -> None:
    first, second = api.as_(["caseworker"], area), api.as_(["caseworker"], area)
    case = start_case(first, area)
    read_1 = first.get(f"/cases/{case['id']}").headers["etag"]
    read_2 = second.get(f"/cases/{case['id']}").headers["etag"]
    assert read_1 == read_2
    won = first.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                     headers={"If-Match": read_1})
    assert won.status_code == 200
    lost = second.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                       headers={"If-Match": read_2})
    assert lost.status_code == 412
    assert lost.json()["code"] == "precondition_failed"
    assert lost.json()["current_version"] == won.json()["case"]["version"]
    fresh = second.get(f"/cases/{case['id']}").headers["etag"]
    retried = second.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                          headers={"If-Match": fresh})
    assert retried.status_code == 200
    assert retried.json()["case"]["data"]["notes"] == 2


def test_concurrent_fires_of_one_version_write_exactly_one_event(api: Api, area: str) -> None:
    """Clients that all read version v fire at once: one wins; each loser is told (409 from
    the service's conditional update, or 412 if the winner committed before it was checked),
    reads again and succeeds; no fire is lost or doubled."""
    token = api.token(["caseworker"], area)
    with api.client(token) as client:
        case = start_case(client, area)
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[int] = []
    lock = threading.Lock()

    def fire() -> None:
        with api.client(token) as client:
            version = client.get(f"/cases/{case['id']}").headers["etag"]
            barrier.wait()
            response = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                                   headers={"If-Match": version})
            with lock:
                outcomes.append(response.status_code)
            while response.status_code in (409, 412):
                assert response.json()["current_version"] >= 2
                version = client.get(f"/cases/{case['id']}").headers["etag"]
                response = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                                       headers={"If-Match": version})
            assert response.status_code == 200, response.text

    threads = [threading.Thread(target=fire) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count(200) == 1, outcomes
    assert all(status in (409, 412) for status in outcomes if status != 200)
    with api.client(token) as client:
        final = client.get(f"/cases/{case['id']}").json()
        history = client.get(f"/cases/{case['id']}/history").json()
    assert final["data"]["notes"] == workers
    assert len(history) == workers + 1


def test_a_retried_start_with_the_same_key_returns_the_first_case(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        body = {"workflow_id": WORKFLOW, "community": area, "data": {"applicant": "Once"}}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = client.post("/cases", json=body, headers=key)
        again = client.post("/cases", json=body, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json()["case"]["id"] == first.json()["case"]["id"]
        assert again.json()["replayed"] is True
        assert again.headers["idempotent-replayed"] == "true"
        listed = client.get("/cases", params={"community": area}).json()["data"]
        assert len(listed) == 1


def test_a_retried_fire_with_the_same_key_writes_nothing_new(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        headers = {"Idempotency-Key": uuid.uuid4().hex, "If-Match": f'"{case["version"]}"'}
        first = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                            headers=headers)
        again = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                            headers=headers)
        assert first.status_code == again.status_code == 200, again.text
        assert again.json()["replayed"] is True
        assert again.json()["event"]["seq"] == first.json()["event"]["seq"]
        assert len(client.get(f"/cases/{case['id']}/history").json()) == 2
        fresh = client.get(f"/cases/{case['id']}").json()
        assert fresh["version"] == first.json()["case"]["version"]


def test_idempotency_keys_belong_to_their_token(api: Api, area: str) -> None:
    key = {"Idempotency-Key": "same-key-" + uuid.uuid4().hex}
    body: dict[str, Any] = {"workflow_id": WORKFLOW, "community": area,
                            "data": {"applicant": "Twice"}}
    with api.as_(["caseworker"], area) as one, api.as_(["caseworker"], area) as other:
        first = one.post("/cases", json=body, headers=key).json()
        second = other.post("/cases", json=body, headers=key).json()
    assert first["case"]["id"] != second["case"]["id"]
    assert second["replayed"] is False


def _ids(response: httpx.Response) -> list[str]:
    return [c["id"] for c in response.json()["data"]]


def test_cases_are_linked_and_unlinked(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        one, other = start_case(client, area)["id"], start_case(client, area)["id"]
        linked = client.post(f"/cases/{one}/links",
                             json={"case_id": other, "relation": "member_of"})
        assert linked.status_code == 200, linked.text
        assert linked.json()["event"]["kind"] == "link"
        assert [(x["case_id"], x["relation"]) for x in client.get(f"/cases/{one}")
                .json()["links"]] == [(other, "member_of")]
        again = client.post(f"/cases/{one}/links", json={"case_id": other})
        assert again.status_code == 409 and again.json()["code"] == "already_linked"
        itself = client.post(f"/cases/{one}/links", json={"case_id": one})
        assert itself.status_code == 422 and itself.json()["code"] == "link_self"
        removed = client.delete(f"/cases/{one}/links/{other}")
        assert removed.status_code == 200, removed.text
        assert client.get(f"/cases/{one}").json()["links"] == []
        assert client.delete(f"/cases/{one}/links/{other}").status_code == 409


def test_a_key_reused_for_another_request_is_refused(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body: dict[str, Any] = {"workflow_id": WORKFLOW, "community": area,
                                "data": {"applicant": "First"}}
        assert client.post("/cases", json=body, headers=key).status_code == 201
        body["data"]["applicant"] = "Second"
        refused = client.post("/cases", json=body, headers=key)
        assert refused.status_code == 422
        assert refused.json()["code"] == "idempotency_key_reused"


def test_a_condition_not_met_is_titled_as_such_not_as_invalid_input(api: Api, area: str) -> None:
    """`begin_final_evaluation` takes no input: its refusal is not an input problem."""
    with api.as_(["party_committee"], area, lang="zh") as client:
        started = client.post("/cases", json={
            "workflow_id": "social_org_incubation", "community": area,
            "data": {"name": "乐探机器人工作室", "residents_need": "青少年课后科技教育"}})
        assert started.status_code == 201, started.text
        case_id = started.json()["case"]["id"]
        fired = client.post(f"/cases/{case_id}/events", json={
            "trigger": "select", "input": {"not_on_abnormal_lists": True}})
        assert fired.status_code == 200, fired.text
        today = fired.json()["case"]["data"]["selected_on"]
        signed = client.post(f"/cases/{case_id}/events", json={
            "trigger": "sign_agreement", "input": {
                "services": "青少年机器人编程", "activity_sessions": 4,
                "expected_effect": "参与青少年不少于60人", "agreement_date": today,
                "venue": "社区青少年活动室", "startup_funds_yuan": 10000,
                "instructor": "陈红", "resources_due": today}})
        assert signed.status_code == 200, signed.text
        refused = client.post(f"/cases/{case_id}/events",
                              json={"trigger": "begin_final_evaluation"})
        assert refused.status_code == 422
        body = refused.json()
        assert (body["code"], body["title"], body["detail"]) == (
            "guard_false", "不满足条件", "终期评估前至少要完成一次阶段评估。")


def test_enumerated_values_are_read_by_their_titles_in_the_callers_language(
        api: Api, area: str) -> None:
    """People read titles, never codes (issue 13, 7): a case's enumerated values come with
    their titles in the language asked for, beside the codes a program reads."""
    with api.as_(["party_committee"], area, lang="zh") as client:
        started = client.post("/cases", json={
            "workflow_id": "social_org_incubation", "community": area,
            "data": {"name": "熠家心理工作室", "residents_need": "心理疏导"}})
        assert started.status_code == 201, started.text
        case_id = started.json()["case"]["id"]
        fired = client.post(f"/cases/{case_id}/events", json={
            "trigger": "select", "input": {"not_on_abnormal_lists": True}})
        today = fired.json()["case"]["data"]["selected_on"]
        for trigger, given in (
                ("sign_agreement", {
                    "services": "心理咨询", "activity_sessions": 4, "expected_effect": "服务百人",
                    "agreement_date": today, "venue": "社区心理服务室",
                    "startup_funds_yuan": 5000, "instructor": "陈红", "resources_due": today}),
                ("record_evaluation", {"evaluated_on": today, "result": "fair",
                                       "services_as_agreed": True,
                                       "effect_achieved": "partly_achieved"})):
            done = client.post(f"/cases/{case_id}/events",
                               json={"trigger": trigger, "input": given})
            assert done.status_code == 200, done.text
        zh = client.get(f"/cases/{case_id}").json()
    with api.as_(["party_committee"], area, lang="en") as client:
        en = client.get(f"/cases/{case_id}").json()
    assert (zh["data"]["last_evaluation"], zh["data"]["effect_achieved"]) == (
        "fair", "partly_achieved")
    assert zh["value_titles"] == {"last_evaluation": "一般", "effect_achieved": "部分达成",
                                  "party_building_rung": "无党员"}
    assert en["value_titles"] == {"last_evaluation": "Fair",
                                  "effect_achieved": "Partly achieved",
                                  "party_building_rung": "No party members"}
