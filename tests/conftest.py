"""Fixtures shared by the whole suite: a frozen clock, and a real database per test.

`db_url` runs a test twice: on a SQLite file of its own, and on PostgreSQL in a schema of
its own (created for the test, dropped after it; the schema is chosen through the URL's
`options=-csearch_path=...`, so other processes given the URL land in it too).

PostgreSQL: when `CI` is set or `HATCHERY_TEST_POSTGRES_URL` names a server, those tests
run and fail if the server does not answer; elsewhere they are skipped with that reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine.clock import FrozenClock
from engine.core.decision import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.service.door import CaseService
from engine.settings import PROJECT_ROOT
from engine.store.db import make_engine, upgrade

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
"""Monday 2 March 2026, 09:00 in Fuzhou: a working day."""
CI_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_SKIP = "PostgreSQL tests run when CI or HATCHERY_TEST_POSTGRES_URL is set"
SHIPPED_WORKFLOWS = PROJECT_ROOT / "workflows"
STORE_FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "store"

COMMITTEE = Actor("li.committee", frozenset({"party_committee"}))
CASEWORKER = Actor("wang.caseworker", frozenset({"caseworker"}))
AUDITOR = Actor("zhao.auditor", frozenset({"auditor"}))
COMMUNITY = "fuzhou/cangshan/jinshan/jinzhou"


def postgres_base_url() -> str | None:
    """The PostgreSQL server the suite must use, or None when it is not asked to."""
    url = os.environ.get("HATCHERY_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI"):
        return CI_POSTGRES_URL
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The base URL of a PostgreSQL server that answers (else skip, or fail under CI)."""
    url = postgres_base_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP)
    probe = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        pytest.fail(f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} "
                    f"does not answer, but the PostgreSQL tests must run: {error}")
    finally:
        probe.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hatchery.db'}"
        return
    base = request.getfixturevalue("postgres_server")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on `db_url` with the schema upgraded to the newest migration."""
    made = make_engine(db_url)
    upgrade(made)
    yield made
    made.dispose()


@pytest.fixture
def registry(engine: sa.Engine, clock: FrozenClock) -> WorkflowRegistry:
    """The store test workflows (`tests/fixtures/store/`), registered."""
    found = WorkflowRegistry(engine, clock)
    found.sync_directory(STORE_FIXTURES)
    return found


@pytest.fixture
def service(engine: sa.Engine, registry: WorkflowRegistry, clock: FrozenClock) -> CaseService:
    return CaseService(engine, registry, clock)


STORE_TABLES = ("workflow_definitions", "cases", "events", "checklist_ticks", "case_links",
                "timers", "idempotency_records", "community_parameters")


def store_snapshot(engine: sa.Engine) -> dict[str, object]:
    """Everything a change could touch: row counts, and every case's row as stored."""
    with engine.connect() as connection:
        counts: dict[str, object] = {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in STORE_TABLES}
        counts["cases_rows"] = [tuple(row) for row in connection.execute(sa.text(
            "SELECT id, state, status, version, event_count, head_hash FROM cases "
            "ORDER BY id"))]
        counts["timer_rows"] = [tuple(row) for row in connection.execute(sa.text(
            "SELECT id, status, due_at FROM timers ORDER BY id"))]
    return counts
