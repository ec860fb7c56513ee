"""Schemathesis against the running app's own /openapi.json: whatever it sends, no 5xx,
and every response (status, content type, headers, body) matches the schema.

The schema is taken from `create_app(...).openapi()`, which is what /openapi.json serves
(a test below checks the live one is identical): schemathesis 4.32's lazy loader
(`schemathesis.pytest.from_fixture`) does not work with pytest 9, and parametrizing needs
the schema when the module is collected. Requests go over real HTTP to the live server.
The number of examples is bounded so that the run stays within about a minute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from database_copies import copy_sqlite
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from engine.settings import Settings
from http_api.conftest import WORKFLOW, Api, _serve, start_case

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 15


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
           api_workflows_dir: Path) -> Iterator[dict[str, Any]]:
    """A SQLite app of this module's own (the schema is the same on every store) with some
    cases in it, an all-seeing token, and its schema. Its own: with an admin token the
    fuzz retires workflows, which would take them from every later test of a shared app."""
    data = tmp_path_factory.mktemp("openapi-fuzz")
    served = _serve(Settings(database_url=copy_sqlite(sqlite_template, data / "api.db"),
                             HATCHERY_DATA_DIR=data,
                             HATCHERY_WORKFLOWS_DIR=api_workflows_dir), "sqlite")
    api: Api = next(served)
    token = api.token(["admin"], "*", ("pii",))
    with api.client(token) as client:
        for community in ("fuzz/a", "fuzz/b"):
            case = start_case(client, community, phone="13800138000")
            client.post(f"/cases/{case['id']}/events", json={"trigger": "note"})
        client.post("/cases", json={"workflow_id": WORKFLOW, "community": "fuzz/a",
                                    "data": {"applicant": "Other"}})
    yield {"url": api.url, "token": token}
    next(served, None)


OPENAPI = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_api_or_its_schema(case: Any, fuzzed: dict[str, Any]) -> None:
    case.call_and_validate(base_url=fuzzed["url"], checks=CHECKS,
                           headers={"Authorization": f"Bearer {fuzzed['token']}"})


def test_every_operation_is_documented(fuzzed: dict[str, Any]) -> None:
    import httpx

    spec = httpx.get(f"{fuzzed['url']}/openapi.json", timeout=120).json()
    assert spec == OPENAPI
    paths = spec["paths"]
    for path in ("/api/v1/workflows", "/api/v1/workflows/{workflow_id}",
                 "/api/v1/workflows/{workflow_id}/versions/{version}",
                 "/api/v1/workflows/{workflow_id}/diagram", "/api/v1/workflows/validate",
                 "/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/actions",
                 "/api/v1/cases/{case_id}/events", "/api/v1/cases/{case_id}/checklist/{item}",
                 "/api/v1/cases/{case_id}/links", "/api/v1/cases/{case_id}/suspend",
                 "/api/v1/cases/{case_id}/resume", "/api/v1/cases/{case_id}/history",
                 "/api/v1/events", "/healthz", "/readyz"):
        assert path in paths, path
        for operation in paths[path].values():
            assert operation["summary"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


