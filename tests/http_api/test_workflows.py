"""Workflow definitions over HTTP: list, versions, diagrams, validation and upload."""

from __future__ import annotations

import uuid

from http_api.conftest import WORKFLOW, Api, start_case

YAML = {"Content-Type": "application/yaml"}


def definition(workflow_id: str, version: str = "1.0.0", final: str = "done") -> str:
    return (f"id: {workflow_id}\nversion: {version}\ntitle: {{zh: 上传, en: Uploaded}}\n"
            f"states:\n  open: {{initial: true, title: {{en: Open}}}}\n"
            f"  {final}: {{final: true}}\n"
            f"transitions:\n  - {{trigger: finish, from: open, to: {final}}}\n")


def test_the_list_names_each_workflow_with_its_versions(api: Api, area: str) -> None:
    with api.as_(["auditor"], area) as client:
        body = client.get("/workflows").json()
        found = {w["id"]: w for w in body["data"]}
        assert found[WORKFLOW]["versions"] == ["1.0.0"]
        assert found[WORKFLOW]["title"] == "Resident service request"
        assert body["count"] == len(body["data"])
    with api.as_(["auditor"], area, lang="zh") as client:
        found = {w["id"]: w for w in client.get("/workflows").json()["data"]}
        assert found[WORKFLOW]["title"] == "居民服务申请"


def test_a_workflow_reads_with_its_fields_states_and_transitions(api: Api, area: str) -> None:
    with api.as_(["designer"], area) as client:
        body = client.get(f"/workflows/{WORKFLOW}").json()
        assert body["version"] == "1.0.0"
        assert body["fields"]["id_number"]["sensitive"] is True
        assert [s["id"] for s in body["states"]] == ["submitted", "review", "approved",
                                                     "rejected"]
        approve = next(t for t in body["transitions"] if t["trigger"] == "approve")
        assert approve["roles"] == ["party_committee"]
        assert body["source_text"].startswith("# A small workflow")
        same = client.get(f"/workflows/{WORKFLOW}/versions/1.0.0").json()
        assert same == body


def test_validation_reports_every_problem_and_stores_nothing(api: Api, area: str) -> None:
    workflow_id = f"api_v_{uuid.uuid4().hex[:8]}"
    with api.as_(["designer"], area) as client:
        good = client.post("/workflows/validate", content=definition(workflow_id),
                           headers=YAML)
        assert good.status_code == 200
        assert good.json() == {"ok": True, "workflow_id": workflow_id, "version": "1.0.0",
                               "diagnostics": []}
        assert client.get(f"/workflows/{workflow_id}").status_code == 404
        bad = client.post("/workflows/validate",
                          content="id: Bad Id\nversion: one\nstates: {}\n", headers=YAML)
        assert bad.status_code == 200
        report = bad.json()
        assert report["ok"] is False
        assert len([d for d in report["diagnostics"] if d["severity"] == "error"]) >= 3
        for d in report["diagnostics"]:
            assert d["line"] >= 1 and d["column"] >= 1 and d["message"]
        broken = client.post("/workflows/validate", content="id: [unclosed\n", headers=YAML)
        assert broken.json()["ok"] is False
        assert client.post("/workflows/validate", content=b"\xff\xfe",
                           headers=YAML).status_code == 422


def test_an_upload_adds_a_version_and_running_cases_keep_theirs(api: Api, area: str) -> None:
    workflow_id = f"api_u_{uuid.uuid4().hex[:8]}"
    with api.as_(["designer"], area) as designer, api.as_(["caseworker"], area) as worker:
        first = designer.post("/workflows", content=definition(workflow_id), headers=YAML)
        assert first.status_code == 201, first.text
        case = worker.post("/cases", json={"workflow_id": workflow_id, "community": area})
        assert case.status_code == 201
        second = designer.post("/workflows", content=definition(workflow_id, "1.1.0", "closed"),
                               headers=YAML)
        assert second.status_code == 201
        assert second.json()["versions"] == ["1.0.0", "1.1.0"]
        assert designer.get(f"/workflows/{workflow_id}").json()["version"] == "1.1.0"
        running = worker.get(f"/cases/{case.json()['case']['id']}").json()
        assert running["workflow_version"] == "1.0.0"
        fired = worker.post(f"/cases/{running['id']}/events", json={"trigger": "finish"})
        assert fired.json()["case"]["state"] == "done"


def test_an_invalid_upload_is_refused_with_its_diagnostics(api: Api, area: str) -> None:
    workflow_id = f"api_x_{uuid.uuid4().hex[:8]}"
    with api.as_(["designer"], area) as client:
        response = client.post("/workflows", content="id: x\nversion: 1\n", headers=YAML)
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "definition_invalid"
        assert body["diagnostics"] and body["errors"]
        assert client.post("/workflows", content=definition(workflow_id),
                           headers=YAML).status_code == 201
        changed = client.post("/workflows", content=definition(workflow_id, final="ended"),
                              headers=YAML)
        assert changed.status_code == 422
        assert "already registered" in changed.json()["diagnostics"][0]["message"] or \
            "already registered" in changed.json()["detail"]


def test_the_diagram_highlights_a_cases_state(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        plain = client.get(f"/workflows/{WORKFLOW}/diagram")
        assert plain.status_code == 200
        assert plain.headers["content-type"].startswith("text/plain")
        assert plain.text.lstrip("-\n").startswith("title:") or "stateDiagram-v2" in plain.text
        case = start_case(client, area)
        marked = client.get(f"/workflows/{WORKFLOW}/diagram", params={"case": case["id"]})
        assert marked.status_code == 200
        assert marked.text != plain.text
        assert "submitted" in marked.text.split("classDef", 1)[-1] or \
            "class submitted" in marked.text
        svg = client.get(f"/workflows/{WORKFLOW}/diagram",
                         params={"format": "svg", "case": case["id"]})
        assert svg.headers["content-type"] == "image/svg+xml"
        assert svg.text.startswith("<svg")
        assert client.get("/workflows/social_org_incubation/diagram",
                          params={"case": case["id"]}).status_code == 404
        assert client.get(f"/workflows/{WORKFLOW}/diagram",
                          params={"format": "png"}).status_code == 422


def test_an_upload_is_recorded_in_the_operations_log(api: Api, area: str) -> None:
    workflow_id = f"api_u_{uuid.uuid4().hex[:8]}"
    with api.as_(["designer"], area) as designer:
        assert designer.post("/workflows", content=definition(workflow_id),
                             headers=YAML).status_code == 201
    with api.as_(["admin"], "*") as admin:
        entries = admin.get("/audit/operations",
                            params={"action": "definition_upload"}).json()["data"]
    mine = [e for e in entries if e["target"] == workflow_id]
    assert [(e["outcome"], e["detail"]["version"]) for e in mine] == [("done", "1.0.0")]


def test_validation_says_a_registered_version_with_other_content_would_be_refused(
        api: Api, area: str) -> None:
    workflow_id = f"api_c_{uuid.uuid4().hex[:8]}"
    with api.as_(["designer"], area) as client:
        assert client.post("/workflows", content=definition(workflow_id),
                           headers=YAML).status_code == 201
        other = definition(workflow_id, final="finished")
        report = client.post("/workflows/validate", content=other, headers=YAML).json()
        assert report["ok"] is False
        assert [(d["code"], d["line"]) for d in report["diagnostics"]] == [
            ("version_changed", 2)]
        upload = client.post("/workflows", content=other, headers=YAML)
        assert upload.status_code == 422
        assert "version_changed" in upload.text


def test_a_retired_workflow_leaves_the_list_and_starts_no_case_while_running_cases_go_on(
        api: Api, area: str) -> None:
    workflow_id = f"api_r_{uuid.uuid4().hex[:8]}"
    with api.as_(["designer"], area) as client:
        assert client.post("/workflows", content=definition(workflow_id),
                           headers=YAML).status_code == 201
    with api.as_(["caseworker"], area) as client:
        running = client.post("/cases", json={"workflow_id": workflow_id, "community": area,
                                              "data": {}})
        assert running.status_code == 201, running.text
    with api.as_(["caseworker"], area) as client:
        assert client.post(f"/workflows/{workflow_id}/retire").status_code == 403
    with api.as_(["designer"], area) as client:
        retired = client.post(f"/workflows/{workflow_id}/retire")
        assert retired.json() == {"workflow_id": workflow_id, "versions": ["1.0.0"]}
        listed = {w["id"] for w in client.get("/workflows").json()["data"]}
        assert workflow_id not in listed
    with api.as_(["caseworker"], area) as client:
        refused = client.post("/cases", json={"workflow_id": workflow_id, "community": area,
                                              "data": {}})
        assert refused.status_code == 404
        case_id = running.json()["case"]["id"]
        fired = client.post(f"/cases/{case_id}/events", json={"trigger": "finish"})
        assert fired.status_code in (200, 201), fired.text
    with api.as_(["auditor"], "*") as client:
        logged = client.get("/audit/operations",
                            params={"action": "definition_retire"}).json()
        assert any(o["target"] == workflow_id and o["detail"] == {"versions": ["1.0.0"]}
                   for o in logged["data"])
