"""A real server for the console's tests: the whole app (API and console) served by uvicorn
on a loopback port, on a SQLite file of the session's own, reached with httpx (and, in the
browser tests, with Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_api.conftest import LiveServer

from api.main import create_app
from engine.settings import PROJECT_ROOT, Settings

SHIPPED = PROJECT_ROOT / "workflows"


@pytest.fixture(scope="session")
def console_workflows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped workflows the desk's journeys use."""
    directory = tmp_path_factory.mktemp("console-workflows")
    for name in ("social_org_incubation.yaml", "member_development.yaml"):
        shutil.copy(SHIPPED / name, directory / name)
    return directory


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory,
                   console_workflows_dir: Path) -> Iterator[LiveServer]:
    """The app over real HTTP on a SQLite file, timers off (tests move no clock here)."""
    data = tmp_path_factory.mktemp("console-data")
    settings = Settings(database_url=f"sqlite:///{data / 'console.db'}",
                        HATCHERY_DATA_DIR=data, HATCHERY_WORKFLOWS_DIR=console_workflows_dir,
                        HATCHERY_RUN_TIMERS=False)
    app = create_app(settings)
    with LiveServer(app) as server:
        yield server
    engine = getattr(app.state, "db", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def http(console_server: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client of the console (no cookies kept between tests)."""
    with httpx.Client(base_url=console_server.url, timeout=30) as client:
        yield client
