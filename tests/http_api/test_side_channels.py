"""Nothing a reader may not see leaks by a side way: links to cases outside the reader's
scope, searches and filters over personal data the reader sees masked."""

from __future__ import annotations

import uuid

from http_api.conftest import Api, start_case


def test_a_link_to_a_case_outside_the_readers_scope_is_not_shown(api: Api, area: str) -> None:
    here, there = f"{area}/here", f"{area}/there"
    with api.as_(["admin"], area) as admin:
        mine = start_case(admin, here)
        other = start_case(admin, there)
        linked = admin.post(f"/cases/{mine['id']}/links", json={"case_id": other["id"]})
        assert linked.status_code == 200, linked.text
        assert [link["case_id"] for link in linked.json()["case"]["links"]] == [other["id"]]
        assert [link["case_id"] for link in admin.get(f"/cases/{mine['id']}").json()["links"]
                ] == [other["id"]]
    with api.as_(["auditor"], here) as reader:
        seen = reader.get(f"/cases/{mine['id']}").json()
        assert seen["links"] == []
        listed = reader.get("/cases").json()["data"]
        assert [c["links"] for c in listed] == [[]]


def _registry_form(workflow_id: str, version: str, sensitive: bool) -> str:
    mark = "true" if sensitive else "false"
    return (f"id: {workflow_id}\nversion: {version}\ntitle: {{zh: 登记, en: Register}}\n"
            f"title_field: id_number\n"
            f"fields:\n  id_number: {{type: string, sensitive: {mark}}}\n"
            f"states:\n  open: {{initial: true}}\n  done: {{final: true}}\n"
            f"transitions:\n  - {{trigger: finish, from: open, to: done}}\n")


def _registered(api: Api, area: str, workflow_id: str, versions: dict[str, bool]) -> str:
    """Upload the versions; start a case on the first; its id."""
    with api.as_(["designer"], area) as designer:
        for version, sensitive in versions.items():
            uploaded = designer.post("/workflows", content=_registry_form(
                workflow_id, version, sensitive), headers={"Content-Type": "application/yaml"})
            assert uploaded.status_code == 201, uploaded.text
    with api.as_(["caseworker"], area) as worker:
        started = worker.post("/cases", json={"workflow_id": workflow_id, "community": area,
                                              "version": next(iter(versions)),
                                              "data": {"id_number": ID}})
        assert started.status_code == 201, started.text
        return str(started.json()["case"]["id"])


ID = "350102199001011234"


def test_a_masked_title_is_not_searched_for_a_reader_without_pii(api: Api, area: str) -> None:
    workflow_id = f"register_{uuid.uuid4().hex[:8]}"
    case_id = _registered(api, area, workflow_id, {"1.0.0": True})
    with api.as_(["auditor"], area) as reader:
        for probe in ("3501", ID[:17], ID):
            assert reader.get("/cases", params={"text": probe}).json()["data"] == [], probe
        assert [c["id"] for c in reader.get("/cases", params={"text": case_id}).json()[
            "data"]] == [case_id]
    with api.as_(["auditor"], area, ("pii",)) as trusted:
        assert [c["id"] for c in trusted.get("/cases", params={"text": "3501"}).json()[
            "data"]] == [case_id]


def test_a_later_version_dropping_sensitive_opens_neither_search_nor_conditions(
        api: Api, area: str) -> None:
    workflow_id = f"register_{uuid.uuid4().hex[:8]}"
    _registered(api, area, workflow_id, {"1.0.0": True, "1.1.0": False})
    with api.as_(["auditor"], area) as reader:
        assert reader.get("/cases", params={"text": "3501"}).json()["data"] == []
        probe = reader.get("/events", params={"workflow": workflow_id,
                                              "input": f"id_number={ID}"})
        assert probe.status_code == 422, probe.text
        assert probe.json()["errors"][0]["code"] == "sensitive_condition"
