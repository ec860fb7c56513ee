"""Fixtures shared by the whole suite: a frozen clock, and a real database per test.

`db_url` runs a test twice: on a SQLite file of its own, and on PostgreSQL in a schema of
its own (created for the test, dropped after it; the schema is chosen through the URL's
`options=-csearch_path=...`, so other processes given the URL land in it too). Both are
already migrated: copies of a database the real migration chain built once per session
(tests/database_copies.py). `empty_db_url` gives the migration tests an empty one.

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
from database_copies import PostgresTemplate, copy_sqlite, migrated_sqlite_file, schema_url
from sqlalchemy.engine import make_url

from engine.clock import FrozenClock
from engine.core.decision import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService
from engine.settings import PROJECT_ROOT
from engine.store.db import make_engine

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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session by the real chain; tests get copies."""
    return migrated_sqlite_file(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[PostgresTemplate]:
    """The real chain's statements, recorded once per session; each test replays them."""
    template = PostgresTemplate.record(postgres_server)
    yield template
    template.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on: every test asking for a database runs on both."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, already at the newest migration: a copy of the
    session's migrated SQLite file, or a PostgreSQL schema filled from the session's
    template (see tests/database_copies.py)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        yield copy_sqlite(template, tmp_path / "hatchery.db")
        return
    postgres: PostgresTemplate = request.getfixturevalue("postgres_template")
    schema = postgres.copy()
    yield schema_url(postgres.base, schema)
    postgres.drop(schema)


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest,
                 tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own (no schema at all), for the migration tests:
    a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hatchery.db'}"
        return
    base = request.getfixturevalue("postgres_server")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield schema_url(base, schema)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's default data folder is its own: a chain key, a session secret or a
    SQLite file one test makes never reaches another (nor the project's data/)."""
    monkeypatch.setenv("HATCHERY_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on `db_url` (already at the newest migration)."""
    made = make_engine(db_url)
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
