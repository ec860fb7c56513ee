"""Fixtures of the console's tests: the whole app (API and console) served by uvicorn on a
loopback port, on a SQLite file of the session's own, with a frozen clock that tests move
(idle sessions, slowed sign-ins, locks); people made in the store as an administrator
would; an httpx client that signs in as a person does (and, in the browser tests,
Chromium: see `browser.py`)."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import START
from http_api.conftest import LiveServer

from api.main import create_app
from console.browser import browser_context, page  # noqa: F401  (fixtures for the journeys)
from engine.access.users import UserStore
from engine.clock import FrozenClock
from engine.core.decision import Actor
from engine.settings import PROJECT_ROOT, Settings

SHIPPED = PROJECT_ROOT / "workflows"
COMMUNITY = "fuzhou/cangshan/jinshan/jinzhou"
PASSWORD = "Jinzhou-2026"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FORM_KEY = re.compile(r'name="key" value="([^"]+)"')
SIGNIN_TOKEN = re.compile(r'name="signin_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def console_workflows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped workflows the desk's journeys use."""
    directory = tmp_path_factory.mktemp("console-workflows")
    for name in ("social_org_incubation.yaml", "member_development.yaml",
                 "party_organization.yaml", "membership_transfer.yaml"):
        shutil.copy(SHIPPED / name, directory / name)
    return directory


@dataclass
class Console:
    """The running app, its clock, and helpers to make people and sign them in."""

    url: str
    app: Any
    clock: FrozenClock

    @property
    def users(self) -> UserStore:
        return UserStore(self.app.state.service.engine)

    def person(self, roles: tuple[str, ...] = ("caseworker", "party_committee"),
               community: str = COMMUNITY, permissions: tuple[str, ...] = (),
               display_name: str | None = None, ready: bool = True) -> str:
        """A new person; `ready` signs them in once and sets their own password, so that
        they are not asked to change the first one. Returns the sign-in name."""
        name = f"p{uuid.uuid4().hex[:10]}"
        first = "First-pass-01" if ready else PASSWORD
        self.users.create(name, roles, community, permissions, display_name=display_name,
                          password=first, now=self.clock.now())
        if ready:
            record, _ = self.users.sign_in(name, first, address=None, now=self.clock.now())
            self.users.change_password(record.id, first, PASSWORD, now=self.clock.now(),
                                       address=None)
        return name

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def signed_in(self, name: str, password: str = PASSWORD) -> httpx.Client:
        client = self.client()
        response = sign_in(client, name, password)
        assert response.status_code == 303, response.text
        return client


def sign_in(client: httpx.Client, name: str, password: str,
            next_path: str = "/") -> httpx.Response:
    """Fill and send the sign-in form as a browser does (its token and cookie)."""
    form = client.get("/signin")
    token = SIGNIN_TOKEN.search(form.text)
    assert token is not None
    return client.post("/signin", data={"name": name, "password": password,
                                        "signin_token": token.group(1), "next": next_path})


SEED = Actor("seed.worker", frozenset({"caseworker"}))
"""Who starts the records a test needs before its person signs in."""
QUEUE_TITLE = re.compile(r'class="record-link" href="/cases/[0-9a-f]+">([^<]+)<')


def start_record(console: Console, name: str, community: str = COMMUNITY) -> str:
    """A record of the incubation workflow named `name`, started by `SEED`."""
    return str(console.app.state.service.start_case(
        "social_org_incubation", {"name": name, "residents_need": "助老"}, actor=SEED,
        community=community).case.id)


def queue_titles(html: str) -> list[str]:
    """The records' titles of a queue page, in its order."""
    return QUEUE_TITLE.findall(html)


def form_tokens(html: str) -> dict[str, str]:
    """The CSRF token and the first form's idempotency key of a page."""
    csrf, key = CSRF.search(html), FORM_KEY.search(html)
    assert csrf is not None
    return {"csrf": csrf.group(1), **({"key": key.group(1)} if key else {})}


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory,
            console_workflows_dir: Path) -> Iterator[Console]:
    """The app over real HTTP on a SQLite file, its clock frozen on a Monday morning."""
    data = tmp_path_factory.mktemp("console-data")
    settings = Settings(database_url=f"sqlite:///{data / 'console.db'}",
                        HATCHERY_DATA_DIR=data, HATCHERY_WORKFLOWS_DIR=console_workflows_dir,
                        HATCHERY_RUN_TIMERS=False)
    clock = FrozenClock(START)
    app = create_app(settings, clock=clock)
    with LiveServer(app) as server:
        yield Console(server.url, app, clock)
    engine = getattr(app.state, "db", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def http(console: Console) -> Iterator[httpx.Client]:
    """A plain HTTP client of the console (no cookies kept between tests)."""
    with console.client() as client:
        yield client
