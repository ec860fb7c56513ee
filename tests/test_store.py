"""The store: engine settings, clear errors for a database that cannot be used, stored
time, and the registry of workflow definitions (every version kept, compiled once)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY, SHIPPED_WORKFLOWS, START, STORE_FIXTURES

from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry, version_key
from engine.errors import DefinitionError, StoreUnavailable
from engine.service import CaseService, build_service
from engine.settings import Settings
from engine.store.db import make_engine, read_connection, write_connection
from engine.store.migrating import upgrade
from engine.store.tables import UTCDateTime

LOOP = """\
id: store_versions
version: {version}
title: {{en: Versions}}
fields:
  note: {{type: string}}
states:
  open: {{initial: true}}
  done: {{final: true, outcome: done{suffix}}}
transitions:
  - {{trigger: finish, from: open, to: done}}
"""


def definition(version: str, suffix: str = "") -> str:
    return LOOP.format(version=version, suffix=suffix)


# -- engine and connections --------------------------------------------------------------


def test_sqlite_connections_are_durable_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'h.db'}")
    with engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "foreign_keys",
                                "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                       "busy_timeout": 10000}
    assert (tmp_path / "deep" / "dir" / "h.db").exists()
    engine.dispose()


def test_a_foreign_key_violation_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), write_connection(engine) as connection:
        connection.execute(sa.text(
            "INSERT INTO case_links (case_id, other_case_id, relation, created_at) "
            "VALUES ('a', 'b', 'related', :t)"), {"t": START.replace(tzinfo=None)})


@pytest.mark.parametrize("url", ["not a url", "mysql://user@localhost/db", "sqlite://",
                                 "sqlite:///:memory:"])
def test_an_unusable_database_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        make_engine(url)
    assert "DATABASE_URL" in str(caught.value) or "in-memory" in str(caught.value)


def test_a_corrupt_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 500)
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(StoreUnavailable) as caught:
        upgrade(engine)
    assert "corrupt" in str(caught.value) and str(path) in str(caught.value)
    engine.dispose()


def test_a_locked_sqlite_database_is_a_clear_error(tmp_path: Path,
                                                   clock: FrozenClock) -> None:
    path = tmp_path / "locked.db"
    workflows = shutil.copytree(STORE_FIXTURES, tmp_path / "workflows")
    service = build_service(Settings(database_url=f"sqlite:///{path}",
                                     HATCHERY_WORKFLOWS_DIR=workflows), clock)
    case = service.start_case("store_incubation", {"name": "x", "residents_need": "y"},
                              actor=COMMITTEE, community=COMMUNITY).case
    impatient = CaseService(make_engine(f"sqlite:///{path}", busy_timeout=0.2),
                            service.registry, clock)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            impatient.fire(case.id, "decline", actor=COMMITTEE)
        assert "locked" in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert impatient.fire(case.id, "decline", actor=COMMITTEE).case.status == "closed"
    impatient.engine.dispose()
    service.engine.dispose()


def test_an_unreachable_postgres_is_a_clear_error() -> None:
    engine = make_engine("postgresql+psycopg://nobody:secret@127.0.0.1:9/none")
    with pytest.raises(StoreUnavailable) as caught:
        upgrade(engine)
    message = str(caught.value)
    assert "cannot reach the database" in message and "secret" not in message
    engine.dispose()


def test_times_are_stored_in_utc_and_read_back_aware(engine: sa.Engine) -> None:
    table = sa.Table("t_times", sa.MetaData(), sa.Column("at", UTCDateTime()))
    table.create(engine)
    fuzhou = timezone(timedelta(hours=8))
    written = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=fuzhou)
    with write_connection(engine) as connection:
        connection.execute(table.insert().values(at=written))
    with read_connection(engine) as connection:
        read = connection.execute(sa.select(table.c.at)).scalar_one()
    assert read == written and read.tzinfo == UTC
    with pytest.raises(sa.exc.StatementError), write_connection(engine) as connection:
        connection.execute(table.insert().values(at=datetime(2026, 3, 2)))


# -- workflow definitions ----------------------------------------------------------------


def stored_versions(engine: sa.Engine, workflow_id: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(  # type: ignore[misc]
            "SELECT version, content_hash FROM workflow_definitions WHERE id = :w "
            "ORDER BY loaded_at, version"), {"w": workflow_id})]


def test_syncing_unchanged_files_registers_nothing_new(engine: sa.Engine,
                                                       clock: FrozenClock,
                                                       tmp_path: Path) -> None:
    shipped = shutil.copytree(SHIPPED_WORKFLOWS, tmp_path / "workflows")
    registry = WorkflowRegistry(engine, clock)
    added = registry.sync_directory(shipped)
    assert {p.stem for p in shipped.glob("*.yaml")} <= {d.id for d in added}
    before = stored_versions(engine, "social_org_incubation")
    assert registry.sync_directory(shipped) == []
    assert WorkflowRegistry(engine, clock).sync_directory(shipped) == []
    assert stored_versions(engine, "social_org_incubation") == before
    stored = registry.definition("social_org_incubation", before[0][0])
    assert stored.source_text == (shipped / "social_org_incubation.yaml").read_text(
        encoding="utf-8")


def test_every_version_is_kept_and_the_latest_is_the_highest(
        engine: sa.Engine, clock: FrozenClock) -> None:
    registry = WorkflowRegistry(engine, clock)
    for version in ("1.9.0", "1.10.0", "1.10.0-rc.1"):
        registry.register_text(definition(version), f"v{version}.yaml")
    assert [d.version for d in registry.versions("store_versions")] == [
        "1.9.0", "1.10.0-rc.1", "1.10.0"]
    assert registry.latest_version("store_versions") == "1.10.0"
    assert registry.get("store_versions").version == "1.10.0"
    assert registry.get("store_versions", "1.9.0").version == "1.9.0"
    assert version_key("2.0.0") > version_key("1.10.0")


def test_changing_a_registered_version_is_refused_and_stores_nothing(
        engine: sa.Engine, clock: FrozenClock) -> None:
    registry = WorkflowRegistry(engine, clock)
    registry.register_text(definition("1.0.0"), "v1.yaml")
    before = stored_versions(engine, "store_versions")
    with pytest.raises(DefinitionError) as caught:
        registry.register_text(definition("1.0.0", suffix="_changed"), "v1.yaml")
    assert "raise its version" in str(caught.value)
    assert stored_versions(engine, "store_versions") == before


def test_an_invalid_file_is_reported_and_the_good_ones_are_registered(
        engine: sa.Engine, clock: FrozenClock, tmp_path: Path) -> None:
    (tmp_path / "a_good.yaml").write_text(definition("1.0.0"), encoding="utf-8")
    (tmp_path / "b_bad.yaml").write_text("id: [unclosed", encoding="utf-8")
    registry = WorkflowRegistry(engine, clock)
    added = registry.sync_directory(tmp_path)
    assert [d.version for d in added] == ["1.0.0"]
    assert [v for v, _ in stored_versions(engine, "store_versions")] == ["1.0.0"]
    [rejected] = registry.rejected.values()
    assert rejected.path.endswith("b_bad.yaml")
    assert [(d.line, d.severity) for d in rejected.diagnostics] == [(1, "error")]


def test_a_case_stays_on_the_version_it_started_with(
        engine: sa.Engine, clock: FrozenClock) -> None:
    registry = WorkflowRegistry(engine, clock)
    registry.register_text(definition("1.0.0"), "v1.yaml")
    service = CaseService(engine, registry, clock)
    old = service.start_case("store_versions", {}, actor=CASEWORKER, community=COMMUNITY).case
    registry.register_text(definition("1.1.0", suffix="_again"), "v1.yaml")
    new = service.start_case("store_versions", {}, actor=CASEWORKER, community=COMMUNITY).case
    pinned = service.start_case("store_versions", {}, actor=CASEWORKER, community=COMMUNITY,
                                version="1.0.0").case
    assert (old.workflow_version, new.workflow_version, pinned.workflow_version) == (
        "1.0.0", "1.1.0", "1.0.0")
    assert service.fire(old.id, "finish", actor=CASEWORKER).case.outcome == "done"
    assert service.fire(new.id, "finish", actor=CASEWORKER).case.outcome == "done_again"


def test_a_workflow_is_compiled_once_and_shared(engine: sa.Engine, clock: FrozenClock) -> None:
    registry = WorkflowRegistry(engine, clock)
    registry.register_text(definition("1.0.0"), "v1.yaml")
    assert registry.get("store_versions") is registry.get("store_versions", "1.0.0")
    elsewhere = WorkflowRegistry(engine, clock)  # another process: compiles the stored text
    compiled = elsewhere.get("store_versions", "1.0.0")
    assert compiled is elsewhere.get("store_versions")
    assert compiled.content_hash == registry.get("store_versions").content_hash
