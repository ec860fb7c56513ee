"""`hatchery copy --to URL` (engine.store.copy): moving a store between SQLite and
PostgreSQL keeps cases, events and timers with their chains intact, proves it, and the
service carries on on the copy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY, STORE_FIXTURES
from database_copies import schema_url
from typer.testing import CliRunner

from cli.main import app
from engine.audit.verify import checkpoint, verify
from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService
from engine.store.copy import CopyRefused, copy_store
from engine.store.db import make_engine
from engine.store.tables import metadata

INCUBATION = "store_incubation"
AGREEMENT = {"services": "上门健康监测", "activity_sessions": 12, "expected_effect": "满意度90%",
             "agreement_date": "2026-03-02"}


@pytest.fixture
def other_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database on the other backend: PostgreSQL for a SQLite store, and back."""
    if db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'moved.db'}"
        return
    base = request.getfixturevalue("postgres_server")
    schema = f"moved_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield schema_url(base, schema)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def populated(service: CaseService) -> list[str]:
    """Cases at several stages, one with its incubation timer armed."""
    cases = []
    for name in ("乐探", "青禾", "上古"):
        case_id = service.start_case(INCUBATION, {"name": name, "residents_need": "养老"},
                                     actor=COMMITTEE, community=COMMUNITY).case.id
        cases.append(case_id)
    service.fire(cases[0], "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    service.fire(cases[0], "sign_agreement", input=AGREEMENT, actor=COMMITTEE)
    service.fire(cases[1], "decline", actor=COMMITTEE)
    return cases


def test_a_store_moves_to_the_other_database_with_its_chains_and_timers(
        engine: sa.Engine, populated: list[str], other_url: str, clock: FrozenClock) -> None:
    target = make_engine(other_url)
    try:
        copied = copy_store(engine, target, verify=verify)
        # Then everything is there, verified, with the same digest over all case heads
        assert copied.cases == 3 and copied.rows["timers"] >= 1
        assert verify(target) == []
        assert checkpoint(target).digest == checkpoint(engine).digest == \
            copied.checkpoint_digest
        with engine.connect() as old, target.connect() as new:
            timers = metadata.tables["timers"]
            query = sa.select(timers.c.case_id, timers.c.timer_id, timers.c.status,
                              timers.c.due_at).order_by(timers.c.id)
            assert list(new.execute(query)) == list(old.execute(query))
        # and the service carries on there: chains continue, new rows get new ids
        moved = CaseService(target, WorkflowRegistry(target, clock), clock)
        moved.registry.sync_directory(STORE_FIXTURES)
        before = moved.get_case(populated[2])
        fired = moved.fire(populated[2], "select", input={"not_on_abnormal_lists": True},
                           actor=COMMITTEE)
        assert fired.event.prev_hash == before.head_hash
        moved.start_case(INCUBATION, {"name": "新来的", "residents_need": "托育"},
                         actor=COMMITTEE, community=COMMUNITY)
        assert verify(target) == []
    finally:
        target.dispose()


def test_a_copy_into_a_database_that_is_not_empty_is_refused(
        engine: sa.Engine, populated: list[str], db_url: str) -> None:
    with pytest.raises(CopyRefused, match="not empty"):
        copy_store(engine, engine, verify=verify)


def test_the_command_says_what_it_copied_and_that_it_verified(
        populated: list[str], db_url: str, other_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["copy", "--to", other_url])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("copied 3 case(s)")
    assert "every chain verifies" in result.stdout
    again = CliRunner().invoke(app, ["copy", "--to", other_url])
    assert again.exit_code == 1 and again.stderr.startswith("refused: ")
