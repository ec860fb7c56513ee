"""No client input produces a 5xx: values nothing could store, hash or compare (NaN,
Infinity, numbers beyond 64 bits, NUL, lone surrogates, times beyond the years 1800-2999 or
overflowing in UTC, crafted cursors, odd headers) are refused with a 4xx problem that
names where the value is, on both databases, and the history stays intact."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from http_api.conftest import WORKFLOW, Api, start_case
from http_api.test_errors import problem

FAR_TIMES = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
             "1799-12-31T00:00:00Z", "3000-01-01T00:00:00Z")


def raw_post(client: httpx.Client, path: str, body: dict, hostile: str) -> httpx.Response:  # type: ignore[type-arg]
    """POST `body` as JSON with each `"@"` replaced by `hostile` as it is: JSON that
    `json.dumps` would never write (NaN, 1e309, a lone surrogate's escape)."""
    text = json.dumps(body).replace('"@"', hostile).replace("@", hostile.strip('"'))
    return client.post(path, content=text.encode("utf-8"),
                       headers={"Content-Type": "application/json"})


def fields(body: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e["field"], e["code"]) for e in body["errors"]]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309",
                                    "123456789012345678901234567890"])
def test_non_finite_and_huge_numbers_are_refused_where_they_stand(api: Api, area: str,
                                                                  number: str) -> None:
    with api.as_(["caseworker"], area) as client:
        sent = {"workflow_id": WORKFLOW, "community": area,
                "data": {"applicant": "Lin", "notes": "@"}}
        body = problem(raw_post(client, "/cases", sent, number), 422, "validation_failed")
        assert fields(body)[0][0] == "data.notes"
        assert fields(body)[0][1] in ("not_finite", "integer_too_large")


@pytest.mark.parametrize("bad", ["\\u0000", "a\\u0000b", "\\ud800", "x\\udfffy"])
def test_nul_and_lone_surrogates_are_refused_in_data_input_comments_and_communities(
        api: Api, area: str, bad: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        sent: list[tuple[str, dict]] = [  # type: ignore[type-arg]
            ("/cases", {"workflow_id": WORKFLOW, "community": area,
                        "data": {"applicant": "@"}}),
            (f"/cases/{case['id']}/events", {"trigger": "accept",
                                              "input": {"id_number": "@"}}),
            (f"/cases/{case['id']}/events", {"trigger": "note", "comment": "@"}),
            ("/cases", {"workflow_id": WORKFLOW, "community": f"{area}/@",
                        "data": {"applicant": "Lin"}}),
            (f"/cases/{case['id']}/links", {"case_id": "@"}),
            ("/cases", {"workflow_id": WORKFLOW, "community": area, "data": {"@": 1}}),
        ]
        for path, sent_body in sent:
            response = raw_post(client, path, sent_body, f'"{bad}"')
            body = problem(response, 422, "validation_failed")
            assert fields(body)[0][1] in ("nul_character", "lone_surrogate"), sent_body
        history = client.get(f"/cases/{case['id']}/history").json()
        assert [e["kind"] for e in history] == ["start"]


def test_a_nul_in_a_query_or_a_path_is_refused_and_cannot_poison_later_queries(
        api: Api, area: str) -> None:
    with api.as_(["auditor"], area) as auditor:
        body = problem(auditor.get("/events", params={"actor": "a\x00b"}), 422,
                       "validation_failed")
        assert fields(body) == [("actor", "nul_character")]
        body = problem(auditor.get("/events", params={"workflow": WORKFLOW,
                                                      "input": "id_number=\x00"}),
                       422, "validation_failed")
        assert fields(body) == [("input", "nul_character")]
        problem(auditor.get("/cases/abc%00def"), 422, "validation_failed")
        problem(auditor.get("/cases", params={"text": "\x00"}), 422, "validation_failed")
        assert auditor.get("/events", params={"workflow": WORKFLOW}).status_code == 200


@pytest.mark.parametrize("moment", FAR_TIMES)
def test_times_far_away_or_overflowing_in_utc_are_refused_in_queries(api: Api, area: str,
                                                                     moment: str) -> None:
    with api.as_(["auditor"], area) as auditor:
        for path, name in (("/events", "since"), ("/events", "until"),
                           ("/timers", "due_before"), ("/audit/export", "since"),
                           ("/audit/operations", "until"), ("/stats/stages", "from")):
            params = {name: moment}
            if path == "/stats/stages":
                params["workflow"] = WORKFLOW
            body = problem(auditor.get(path, params=params), 422, "validation_failed")
            assert [e["field"] for e in body["errors"]] == [name], path
        case = start_case(api.as_(["caseworker"], area), area)
        body = problem(auditor.get(f"/cases/{case['id']}/state-at", params={"time": moment}),
                       422, "validation_failed")
        assert [e["field"] for e in body["errors"]] == ["time"]


def _cursor(values: list[object]) -> str:
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("values", [
    [2**70, "x"], [-(2**64), 1], ["0001-01-01T00:00:00+01:00", "c"],
    ["9999-12-31T23:59:59-01:00", "c"], [1e308 * 10, "c"], ["\x00", "\x00"],
    [[[[[[]]]]], {}], "not a list",
])
def test_crafted_cursors_are_refused_not_followed(api: Api, area: str,
                                                  values: list[object]) -> None:
    cursor = _cursor(values) if not isinstance(values, str) else values
    with api.as_(["auditor"], area) as auditor:
        for path in ("/cases", "/events", "/timers"):
            params = {"cursor": cursor, "order": "updated"} if path == "/cases" else {
                "cursor": cursor}
            response = auditor.get(path, params=params)
            assert 400 <= response.status_code < 500, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        for order in ("priority", "updated"):
            assert auditor.get("/cases", params={"cursor": _cursor([2**70, 2**70, "x"]),
                                                 "order": order}).status_code == 422
        problem(auditor.get("/audit/operations", params={"cursor": "9" * 20}), 422,
                "validation_failed")


def test_if_match_with_digits_that_are_not_ascii_is_refused(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, area)
        for value in ('"²"', '"٣"', "１", '"1²"'):
            response = client.post(f"/cases/{case['id']}/events", json={"trigger": "note"},
                                   headers={"If-Match": value.encode("utf-8")})
            assert 400 <= response.status_code < 500, value
            assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("community", ["a/../b", "..", "a/.", "a/b\x00"])
def test_community_paths_refuse_dot_segments_and_nul(api: Api, area: str,
                                                     community: str) -> None:
    with api.as_(["admin"], "*") as client:
        response = client.post("/cases", json={"workflow_id": WORKFLOW,
                                               "community": community,
                                               "data": {"applicant": "Lin"}})
        assert response.status_code == 422, response.text
        response = client.get("/cases", params={"community": community})
        assert response.status_code == 422, response.text


def test_uploading_a_workflow_without_a_token_is_401_whatever_the_body(api: Api) -> None:
    for body in (b"\xff\xfe not utf-8", b"id: x\n"):
        response = httpx.post(f"{api.url}/api/v1/workflows", content=body,
                              headers={"Content-Type": "application/yaml"})
        problem(response, 401, "unauthenticated")
        response = httpx.post(f"{api.url}/api/v1/workflows/validate", content=body)
        problem(response, 401, "unauthenticated")


def test_an_export_checks_its_parameters_before_streaming_and_is_logged_once_done(
        api: Api, area: str) -> None:
    case = start_case(api.as_(["caseworker"], area), area)
    with api.as_(["auditor"], area) as auditor:
        for params in ({"since": FAR_TIMES[0]}, {"until": FAR_TIMES[1]},
                       {"actor": "x\x00"}, {"community": f"{area}/.."}):
            response = auditor.get("/audit/export", params={"format": "jsonl", **params})
            assert response.status_code == 422, (params, response.text)
        exported = auditor.get("/audit/export", params={"format": "jsonl", "case": case["id"]})
        assert exported.status_code == 200
        entries = auditor.get("/audit/operations", params={"action": "export"}).json()["data"]
        assert len(entries) == 1
        assert entries[0]["detail"]["complete"] is True
        # no trailer row unless asked for (trailer=true)
        assert entries[0]["detail"]["rows"] == len(exported.text.splitlines())
