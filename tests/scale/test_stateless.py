"""Stateless API processes: two real `hatchery serve` processes on one PostgreSQL schema,
and whatever one of them is told, the other acts on at once, because everything a request
needs is read from the database (definitions, versions, retirements, tokens, idempotency
records, timers), never kept only in a process's memory.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from database_copies import PostgresTemplate, schema_url

from engine.access.tokens import TokenStore
from engine.settings import PROJECT_ROOT
from engine.store.db import make_engine
from scale.servers import ApiProcess, api_processes, client, make_token

pytestmark = pytest.mark.postgres

YAML = {"Content-Type": "application/yaml"}
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "api" / "resident_service.yaml"


def definition(workflow_id: str, version: str = "1.0.0", final: str = "done") -> str:
    return (f"id: {workflow_id}\nversion: {version}\ntitle: {{zh: 上传, en: Uploaded}}\n"
            f"states:\n  open: {{initial: true, title: {{zh: 开放, en: Open}}}}\n"
            f"  {final}: {{final: true, title: {{zh: 结束, en: Done}}}}\n"
            f"transitions:\n  - {{trigger: finish, from: open, to: {final}}}\n")


@pytest.fixture(scope="module")
def shared(postgres_template: PostgresTemplate, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, ApiProcess, ApiProcess]]:
    """Two processes A and B on one PostgreSQL schema of this module's own."""
    schema = postgres_template.copy()
    url = schema_url(postgres_template.base, schema)
    folder = tmp_path_factory.mktemp("stateless")
    workflows = folder / "workflows"
    workflows.mkdir()
    shutil.copy(FIXTURE, workflows / FIXTURE.name)
    with api_processes(2, url, workflows, folder) as (first, second):
        yield url, first, second
    postgres_template.drop(schema)


@pytest.fixture
def area() -> str:
    return f"d{uuid.uuid4().hex[:8]}/street/community"


def test_a_definition_uploaded_through_one_process_starts_cases_through_another_at_once(
        shared: tuple[str, ApiProcess, ApiProcess], area: str) -> None:
    url, a, b = shared
    workflow_id = f"uploaded_{uuid.uuid4().hex[:8]}"
    with client(a.url, make_token(url, ["designer"], area)) as designer, \
            client(b.url, make_token(url, ["caseworker"], area)) as worker:
        assert designer.post("/workflows", content=definition(workflow_id),
                             headers=YAML).status_code == 201
        started = worker.post("/cases", json={"workflow_id": workflow_id, "community": area,
                                              "data": {}})
        assert started.status_code == 201, started.text
        case = started.json()["case"]
        assert case["workflow_version"] == "1.0.0"
        fired = worker.post(f"/cases/{case['id']}/events", json={"trigger": "finish"})
        assert fired.status_code == 200, fired.text
        assert fired.json()["case"]["state"] == "done"


def test_a_new_version_uploaded_through_one_process_is_the_one_the_other_starts_next(
        shared: tuple[str, ApiProcess, ApiProcess], area: str) -> None:
    url, a, b = shared
    workflow_id = f"versioned_{uuid.uuid4().hex[:8]}"
    with client(a.url, make_token(url, ["designer"], area)) as designer, \
            client(b.url, make_token(url, ["caseworker"], area)) as worker:
        designer.post("/workflows", content=definition(workflow_id), headers=YAML)
        body = {"workflow_id": workflow_id, "community": area, "data": {}}
        # B compiles and keeps 1.0.0 for the case it starts...
        first = worker.post("/cases", json=body).json()["case"]
        assert designer.post("/workflows", content=definition(workflow_id, "1.1.0", "closed"),
                             headers=YAML).status_code == 201
        # ...and still starts the next one on 1.1.0, uploaded through A.
        second = worker.post("/cases", json=body).json()["case"]
        assert (first["workflow_version"], second["workflow_version"]) == ("1.0.0", "1.1.0")
        # The case on 1.0.0 keeps its own rules.
        fired = worker.post(f"/cases/{first['id']}/events", json={"trigger": "finish"})
        assert fired.json()["case"]["state"] == "done"


def test_a_version_retired_through_one_process_starts_no_case_through_another(
        shared: tuple[str, ApiProcess, ApiProcess], area: str) -> None:
    url, a, b = shared
    workflow_id = f"retired_{uuid.uuid4().hex[:8]}"
    with client(a.url, make_token(url, ["designer"], area)) as designer, \
            client(b.url, make_token(url, ["caseworker"], area)) as worker:
        designer.post("/workflows", content=definition(workflow_id), headers=YAML)
        body = {"workflow_id": workflow_id, "community": area, "data": {}}
        assert worker.post("/cases", json=body).status_code == 201
        retired = designer.post(f"/workflows/{workflow_id}/retire", json={})
        assert retired.status_code == 200, retired.text
        assert worker.post("/cases", json=body).status_code == 404


def test_a_retry_sent_to_the_other_process_returns_the_first_result_and_writes_nothing(
        shared: tuple[str, ApiProcess, ApiProcess], area: str) -> None:
    url, a, b = shared
    token = make_token(url, ["caseworker"], area)
    key = {"Idempotency-Key": f"start-{uuid.uuid4().hex}"}
    body = {"workflow_id": "api_resident_service", "community": area,
            "data": {"applicant": "林梅"}}
    with client(a.url, token) as on_a, client(b.url, token) as on_b:
        first = on_a.post("/cases", json=body, headers=key)
        again = on_b.post("/cases", json=body, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["case"]["id"] == first.json()["case"]["id"]
        case_id = first.json()["case"]["id"]
        note = {"Idempotency-Key": f"note-{uuid.uuid4().hex}"}
        noted = on_b.post(f"/cases/{case_id}/events", json={"trigger": "note"}, headers=note)
        replayed = on_a.post(f"/cases/{case_id}/events", json={"trigger": "note"},
                             headers=note)
        assert replayed.json() == {**noted.json(), "replayed": True}
        assert replayed.headers.get("Idempotent-Replayed") == "true"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM cases WHERE community = "
                                              ":c"), {"c": area}).scalar_one() == 1
            assert connection.execute(sa.text("SELECT count(*) FROM events WHERE case_id = "
                                              ":id"), {"id": case_id}).scalar_one() == 2
    finally:
        engine.dispose()


def test_a_token_revoked_in_the_database_is_refused_by_every_process_at_once(
        shared: tuple[str, ApiProcess, ApiProcess], area: str) -> None:
    url, a, b = shared
    name = f"revoked_{uuid.uuid4().hex[:8]}"
    token = make_token(url, ["auditor"], area, name=name)
    with client(a.url, token) as on_a, client(b.url, token) as on_b:
        assert on_a.get("/cases").status_code == on_b.get("/cases").status_code == 200
        engine = make_engine(url)
        try:  # as `hatchery token revoke` does
            assert TokenStore(engine).revoke(name, now=datetime.now(UTC)) == 1
        finally:
            engine.dispose()
        assert on_a.get("/cases").status_code == on_b.get("/cases").status_code == 401
