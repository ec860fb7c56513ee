"""`/metrics` (Prometheus text format) and request ids (`X-Request-ID`): what an operator
watches and how a change is followed from the history to the logs."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import route_label
from engine.observability import REQUEST_ID, JsonLines
from engine.store.operations import list_operations
from http_api.conftest import WORKFLOW, Api, start_case

FIRE_ROUTE = "/api/v1/cases/{case_id}/events"


def scrape(api: Api, area: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with api.as_(["auditor"], area) as client:
        response = client.get(api.url + "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_metrics_need_an_admin_or_auditor_token(api: Api, area: str) -> None:
    assert httpx.get(api.url + "/metrics").status_code == 401
    with api.as_(["caseworker"], area) as client:
        refused = client.get(api.url + "/metrics")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    with api.as_(["admin"], area) as client:
        assert client.get(api.url + "/metrics").status_code == 200


def test_requests_fires_and_refusals_are_counted_by_route_workflow_and_reason(
        api: Api, area: str) -> None:
    before = scrape(api, area)
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        fired = client.post(f"/cases/{case['id']}/events",
                            json={"trigger": "accept", "input": {"id_number": "1" * 18}})
        assert fired.status_code == 200, fired.text
        refused = client.post(f"/cases/{case['id']}/events", json={"trigger": "accept"})
        assert refused.status_code == 409
    after = scrape(api, area)
    route = {"route": FIRE_ROUTE, "method": "POST"}
    assert value(after, "hatchery_http_requests_total", **route, status="200") - value(
        before, "hatchery_http_requests_total", **route, status="200") >= 1
    assert value(after, "hatchery_http_request_duration_seconds_count", **route) - value(
        before, "hatchery_http_request_duration_seconds_count", **route) >= 2
    assert value(after, "hatchery_fires_total", workflow=WORKFLOW, source="api") - value(
        before, "hatchery_fires_total", workflow=WORKFLOW, source="api") >= 1
    reason = {"workflow": WORKFLOW, "reason": "not_allowed_from_state"}
    assert value(after, "hatchery_refusals_total", **reason) - value(
        before, "hatchery_refusals_total", **reason) >= 1
    assert not any(case["id"] in str(labels) for _, labels in after)  # no id as a label


def test_figures_read_from_the_store_are_exposed(api: Api, area: str) -> None:
    found = scrape(api, area)
    assert value(found, "hatchery_store_up") == 1
    for name in ("hatchery_timers_due", "hatchery_timers_missed", "hatchery_cases_overdue",
                 "hatchery_db_pool_size"):
        assert (name, frozenset()) in found, name


def test_each_response_names_its_request_and_keeps_a_usable_id_sent_by_a_proxy(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        made = client.get("/workflows").headers["x-request-id"]
        kept = client.get("/workflows", headers={"X-Request-ID": "lb-7f3a.91"})
        replaced = client.get("/workflows",
                              headers={"X-Request-ID": "a b\u00e9".encode() * 30})
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert kept.headers["x-request-id"] == "lb-7f3a.91"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


def test_the_operations_log_records_the_request_an_entry_was_made_for(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        refused = client.post(f"/cases/{case['id']}/events", json={"trigger": "approve"},
                              headers={"X-Request-ID": f"req-{case['id']}"})
    assert refused.status_code in (409, 422)
    entries, _ = list_operations(api.app.state.db, action="change_refused", limit=1000)
    assert [e.request_id for e in entries if e.request_id == f"req-{case['id']}"] == [
        f"req-{case['id']}"]
    with api.as_(["auditor"], area) as auditor:
        listed = auditor.get("/audit/operations", params={"action": "change_refused",
                                                    "limit": 1000}).json()["data"]
    assert f"req-{case['id']}" in [e["request_id"] for e in listed]


def test_the_access_line_carries_route_status_actor_and_request_id(
        api: Api, area: str, log_records: list[logging.LogRecord]) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        response = client.get(f"/cases/{case['id']}", headers={"X-Request-ID": "trace-1"})
    lines = [r for r in log_records if r.name == "hatchery.request"
             and getattr(r, "case_id", None) == case["id"]]
    assert [(r.route, r.status, r.method) for r in lines] == [  # type: ignore[attr-defined]
        ("/api/v1/cases/{case_id}", 200, "GET")]
    assert response.headers["x-request-id"] == "trace-1"
    token = REQUEST_ID.set("trace-1")
    try:
        document = json.loads(JsonLines().format(lines[0]))
    finally:
        REQUEST_ID.reset(token)
    assert document["request_id"] == "trace-1" and document["status"] == 200
    assert document["actor"] and document["duration_ms"] >= 0


def test_every_fire_of_a_workflow_is_counted_the_first_and_those_after(
        api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        assert client.post(f"/cases/{case['id']}/events",
                           json={"trigger": "note"}).status_code == 200
        before = scrape(api, area)
        for _ in range(3):
            fired = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
            assert fired.status_code == 200, fired.text
        after = scrape(api, area)
    assert value(after, "hatchery_fires_total", workflow=WORKFLOW, source="api") - value(
        before, "hatchery_fires_total", workflow=WORKFLOW, source="api") == 3


@pytest.mark.parametrize(("path", "params", "label"), [
    ("/api/v1/cases/c1/events", {"case_id": "c1"}, "/api/v1/cases/{case_id}/events"),
    ("/api/v1/cases/cases/events", {"case_id": "cases"}, "/api/v1/{case_id}/{case_id}/events"),
    ("/w/7/v/7", {"workflow_id": "7", "version": 7}, "/w/{version}/v/{version}"),
    ("/w/a/v/b", {"workflow_id": "a", "version": "b"}, "/w/{workflow_id}/v/{version}"),
    ("/healthz", {}, "/healthz"),
])
def test_the_route_label_puts_each_parameters_name_back_in_its_segments(
        path: str, params: dict[str, object], label: str) -> None:
    assert route_label({"route": object(), "path": path, "path_params": params}) == label
    assert route_label({"path": path, "path_params": params}) == "unmatched"
