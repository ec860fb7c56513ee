"""The app's life: health and readiness, tokens from the command line, the first-token
hint, an injected service."""

from __future__ import annotations

import logging
from pathlib import Path

import fastapi.routing
import httpx
import pytest
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app as cli
from engine.access.tokens import TokenStore
from engine.clock import SystemClock
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService, build_service
from engine.settings import Settings
from engine.store.db import make_engine
from http_api.conftest import Api, LiveServer


def test_health_and_readiness(api: Api) -> None:
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api.url}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["database"] is True
    assert body["revision"] == body["head"]


def test_not_ready_while_the_schema_is_behind(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    service = CaseService(engine, WorkflowRegistry(engine), SystemClock())
    with LiveServer(create_app(Settings(), service=service)) as server:
        response = httpx.get(f"{server.url}/readyz")
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready" and response.json()["revision"] is None
    engine.dispose()


@pytest.fixture
def cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    monkeypatch.setenv("HATCHERY_WORKFLOWS_DIR", str(workflows))
    return Settings(database_url=url, HATCHERY_WORKFLOWS_DIR=workflows,
                    HATCHERY_DATA_DIR=tmp_path)


def test_the_first_start_says_how_to_get_a_token(
        cli_settings: Settings, log_records: list[logging.LogRecord]) -> None:
    with LiveServer(create_app(cli_settings)):
        pass
    said = "\n".join(r.getMessage() for r in log_records if r.levelno >= logging.WARNING)
    assert "hatchery token create --name admin --role admin" in said


def test_every_route_is_built_before_the_first_request_reaches_it(
        cli_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI builds an included route's handler lazily, on the first request that gets
    that far (half a second for this app): the app builds them all while it starts."""
    built: list[object] = []
    router = fastapi.routing._IncludedRouter
    original = router._build_effective_context

    def counted(self: fastapi.routing._IncludedRouter, route: object) -> object:
        built.append(route)
        return original(self, route)  # type: ignore[arg-type]

    monkeypatch.setattr(router, "_build_effective_context", counted)
    with LiveServer(create_app(cli_settings)) as server:
        at_start = len(built)
        for path in ("/api/v1/cases/x/events", "/api/v1/workflows", "/metrics", "/nowhere"):
            assert httpx.post(f"{server.url}{path}", json={}).status_code >= 400
    assert at_start > 0 and len(built) == at_start


def test_a_token_from_the_command_line_works_until_revoked(cli_settings: Settings) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["token", "create", "--name", "li.admin", "--role", "admin",
                                  "--role", "auditor", "--community", "fuzhou",
                                  "--permission", "pii"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("hat_") and len(token) > 40
    listed = runner.invoke(cli, ["token", "list"])
    assert "li.admin" in listed.stdout and token not in listed.stdout
    service = build_service(cli_settings)
    principal = TokenStore(service.engine).lookup(token)
    assert principal is not None
    assert principal.roles == {"admin", "auditor"} and principal.community == "fuzhou"
    assert principal.sees_pii
    with LiveServer(create_app(cli_settings, service=service)) as server:
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/api/v1/cases", headers=headers).status_code == 200
        revoked = runner.invoke(cli, ["token", "revoke", "li.admin"])
        assert revoked.exit_code == 0
        assert httpx.get(f"{server.url}/api/v1/cases", headers=headers).status_code == 401
    assert runner.invoke(cli, ["token", "revoke", "li.admin"]).exit_code == 1
    assert "li.admin" not in runner.invoke(cli, ["token", "list"]).stdout
    assert "li.admin" in runner.invoke(cli, ["token", "list", "--all"]).stdout
    service.engine.dispose()


def test_the_command_line_refuses_a_malformed_token(cli_settings: Settings) -> None:
    runner = CliRunner()
    for args in (["--name", "x", "--role", "Not A Role", "--community", "fuzhou"],
                 ["--name", "x", "--role", "admin", "--community", "a//b"],
                 ["--name", "system:timer", "--role", "admin", "--community", "fuzhou"],
                 ["--name", "x", "--role", "admin", "--community", "fuzhou",
                  "--permission", "everything"]):
        result = runner.invoke(cli, ["token", "create", *args])
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.stderr
