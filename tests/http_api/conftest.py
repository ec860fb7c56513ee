"""A real server for the API tests: uvicorn on a free loopback port, in a thread, with the
app built on a temporary SQLite file (and on PostgreSQL where the suite has one), reached
with httpx. Tests share one server per backend and keep out of each other's way by using
their own community and token names."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from database_copies import PostgresTemplate, copy_sqlite, schema_url

from api.http_protocol import ProblemH11Protocol
from api.main import create_app
from engine.access.tokens import TokenStore
from engine.settings import PROJECT_ROOT, Settings

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "api" / "resident_service.yaml"
SHIPPED = PROJECT_ROOT / "workflows"
WORKFLOW = "api_resident_service"
ID_NUMBER = "350102199001011234"
PHONE = "13800138000"


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, lifespan="on", access_log=True,
                                http=ProblemH11Protocol,
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@dataclass
class Api:
    """The running app, and helpers to make tokens and clients for it."""

    url: str
    app: Any
    backend: str

    @property
    def tokens(self) -> TokenStore:
        store: TokenStore = self.app.state.tokens
        return store

    def token(self, roles: list[str], community: str, permissions: tuple[str, ...] = (),
              name: str | None = None) -> str:
        name = name or f"u{uuid.uuid4().hex[:12]}"
        _, token = self.tokens.create(name, roles, community, permissions,
                                      now=datetime.now(UTC))
        return token

    def client(self, token: str | None = None, lang: str | None = None) -> httpx.Client:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if lang is not None:
            headers["Accept-Language"] = lang
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=30)

    def as_(self, roles: list[str], community: str, permissions: tuple[str, ...] = (),
            lang: str | None = None) -> httpx.Client:
        return self.client(self.token(roles, community, permissions), lang)


@pytest.fixture(scope="session")
def api_workflows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test workflow and the first shipped one."""
    directory = tmp_path_factory.mktemp("workflows")
    for path in (SHIPPED / "social_org_incubation.yaml", FIXTURE):
        shutil.copy(path, directory / path.name)
    return directory


@pytest.fixture(scope="session")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory, api_workflows_dir: Path,
               sqlite_template: Path) -> Iterator[Api]:
    """The app served over real HTTP on a SQLite file (a copy of the migrated template)."""
    data = tmp_path_factory.mktemp("data")
    url = copy_sqlite(sqlite_template, data / "api.db")
    yield from _serve(Settings(database_url=url, HATCHERY_DATA_DIR=data,
                               HATCHERY_WORKFLOWS_DIR=api_workflows_dir), "sqlite")


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        api_workflows_dir: Path) -> Iterator[Api]:
    """The app served over real HTTP, on a SQLite file and on a PostgreSQL schema."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_api")
        return
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    schema = template.copy()
    yield from _serve(Settings(database_url=schema_url(template.base, schema),
                               HATCHERY_DATA_DIR=tmp_path_factory.mktemp("data"),
                               HATCHERY_WORKFLOWS_DIR=api_workflows_dir), "postgres")
    template.drop(schema)


def _serve(settings: Settings, backend: str) -> Iterator[Api]:
    app = create_app(settings)
    with LiveServer(app) as server:
        yield Api(server.url, app, backend)
    engine = getattr(app.state, "db", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def area() -> str:
    """A community subtree of this test's own: district/street, with two communities."""
    return f"d{uuid.uuid4().hex[:8]}/street"


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    """Every log record emitted while the test runs, at any level, from any logger."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def start_case(client: httpx.Client, community: str, **data: Any) -> dict[str, Any]:
    """Start a case of the test workflow; returns the response body."""
    body = {"workflow_id": WORKFLOW, "community": community,
            "data": {"applicant": "Lin Mei", **data}}
    response = client.post("/cases", json=body)
    assert response.status_code == 201, response.text
    return response.json()["case"]  # type: ignore[no-any-return]
