"""Alembic migrations: an empty database upgrades to the models' schema; a database written
by the first release upgrades in place with its cases and events intact."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import COMMITTEE, START, STORE_FIXTURES

from engine.clock import FrozenClock
from engine.core.compiler import content_hash
from engine.definitions.registry import WorkflowRegistry
from engine.ledger.chain import GENESIS, canonical_json, event_hash
from engine.service import CaseService, verify_store
from engine.store.db import make_engine
from engine.store.migrating import current_revision, downgrade, head_revision, upgrade
from engine.store.partitions import include_object
from engine.store.tables import metadata

FIRST = "0001_initial"
SOURCE = (STORE_FIXTURES / "store_incubation.yaml").read_text(encoding="utf-8")


@pytest.fixture
def bare(empty_db_url: str) -> Iterator[sa.Engine]:
    """An engine on an empty database (no migration run)."""
    made = make_engine(empty_db_url)
    yield made
    made.dispose()


def test_an_empty_database_upgrades_to_exactly_the_models(bare: sa.Engine) -> None:
    assert current_revision(bare) is None
    upgrade(bare)
    assert current_revision(bare) == head_revision() == "0009_cases_queue_indexes"
    with bare.connect() as connection:
        # The events' month partitions (PostgreSQL) are not models: see
        # engine.store.partitions.include_object.
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_object})
        assert compare_metadata(context, metadata) == []


def test_upgrading_twice_or_from_two_threads_at_once_is_harmless(empty_db_url: str) -> None:
    engines = [make_engine(empty_db_url) for _ in range(2)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(engine: sa.Engine) -> None:
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    upgrade(engines[0])
    assert current_revision(engines[1]) == head_revision()
    for engine in engines:
        engine.dispose()


def _write_first_release_case(engine: sa.Engine) -> tuple[str, str]:
    """A definition, a case and its two events as the first release stored them."""
    case_id = "c0ffee0000000001"
    start_body = {
        "case_id": case_id, "seq": 1, "kind": "start", "workflow_id": "store_incubation",
        "workflow_version": "1.0.0", "trigger": None, "from_state": None,
        "to_state": "selection", "actor": COMMITTEE.id, "role": "party_committee",
        "input": {"name": "Old org", "residents_need": "care"},
        "changes": {"name": "Old org", "residents_need": "care"}, "comment": None,
        "at": START,
    }
    select_body = {**start_body, "seq": 2, "kind": "transition", "trigger": "select",
                   "from_state": "selection", "to_state": "confirmation",
                   "input": {"not_on_abnormal_lists": True}, "changes": {},
                   "at": START + timedelta(hours=1)}
    first = event_hash(GENESIS, start_body)
    second = event_hash(first, select_body)
    data = {"name": "Old org", "residents_need": "care", "has_party_organization": False,
            "party_member_count": 0, "evaluations": 0}
    definitions = sa.table("workflow_definitions", *(sa.column(c) for c in (
        "id", "version", "content_hash", "source_text", "source_path", "loaded_at")))
    cases = sa.table("cases", *(sa.column(c) for c in (
        "id", "workflow_id", "workflow_version", "state", "status", "outcome", "data",
        "version", "community", "title", "priority", "overdue", "entered_at",
        "state_entries", "head_hash", "event_count", "created_at", "updated_at")))
    with engine.begin() as connection:
        connection.execute(definitions.insert().values(
            id="store_incubation", version="1.0.0", content_hash=content_hash(SOURCE),
            source_text=SOURCE, source_path="tests/fixtures/store/store_incubation.yaml",
            loaded_at=START))
        connection.execute(cases.insert().values(
            id=case_id, workflow_id="store_incubation", workflow_version="1.0.0",
            state="confirmation", status="active", outcome=None,
            data=canonical_json(data).decode(),
            version=2, community="fuzhou/cangshan/jinshan/jinzhou", title="Old org",
            priority=0.0, overdue=False, entered_at=START + timedelta(hours=1),
            state_entries='{"confirmation": 2}', head_hash=second, event_count=2,
            created_at=START, updated_at=START + timedelta(hours=1)))
        for body, prev, digest in ((start_body, GENESIS, first), (select_body, first, second)):
            values: dict[str, Any] = {
                k: body[k] for k in ("case_id", "seq", "kind", "workflow_id",
                                     "workflow_version", "trigger", "from_state",
                                     "to_state", "actor", "role", "comment")}
            values.update(input=canonical_json(body["input"]).decode(),
                          changes=canonical_json(body["changes"]).decode(),
                          at=body["at"], prev_hash=prev, hash=digest,
                          body=canonical_json(body).decode())
            connection.execute(sa.text(
                "INSERT INTO events (case_id, seq, kind, workflow_id, workflow_version, "
                "trigger, from_state, to_state, actor, role, input, changes, comment, at, "
                "prev_hash, hash, body) VALUES (:case_id, :seq, :kind, :workflow_id, "
                ":workflow_version, :trigger, :from_state, :to_state, :actor, :role, :input, "
                ":changes, :comment, :at, :prev_hash, :hash, :body)"), values)
    return case_id, second


def _stored(engine: sa.Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as connection:
        cases = [tuple(r) for r in connection.execute(sa.text(
            "SELECT id, state, version, head_hash, event_count, data FROM cases"))]
        events = [tuple(r) for r in connection.execute(sa.text(
            "SELECT case_id, seq, hash, prev_hash, body FROM events ORDER BY id"))]
    return cases, events


def test_an_upgrade_from_the_first_migration_keeps_cases_and_events_intact(
        bare: sa.Engine, clock: FrozenClock) -> None:
    upgrade(bare, FIRST)
    assert current_revision(bare) == FIRST
    assert "community_parameters" not in sa.inspect(bare).get_table_names()
    case_id, head = _write_first_release_case(bare)
    before = _stored(bare)
    assert verify_store(bare) == []

    upgrade(bare)

    assert current_revision(bare) == head_revision()
    assert "community_parameters" in sa.inspect(bare).get_table_names()
    assert _stored(bare) == before
    assert verify_store(bare) == []
    # The upgraded store keeps working: the chain continues from the old head.
    clock.set(START + timedelta(days=1))
    service = CaseService(bare, WorkflowRegistry(bare, clock), clock)
    case = service.get_case(case_id)
    assert (case.state, case.version, case.head_hash) == ("confirmation", 2, head)
    signed = service.fire(case_id, "sign_agreement", actor=COMMITTEE, expected_version=2,
                          input={"services": "visits", "activity_sessions": 2,
                                 "expected_effect": "better", "agreement_date": "2026-03-03"})
    assert (signed.event.seq, signed.event.prev_hash) == (3, head)
    assert verify_store(bare) == []


def test_the_history_stays_append_only_across_upgrades(bare: sa.Engine) -> None:
    upgrade(bare, FIRST)
    case_id, _ = _write_first_release_case(bare)
    upgrade(bare)
    with pytest.raises(sa.exc.DatabaseError), bare.begin() as connection:
        connection.execute(sa.text("DELETE FROM events WHERE case_id = :c"), {"c": case_id})


def test_a_downgrade_to_the_first_migration_keeps_the_history(
        bare: sa.Engine, tmp_path: Path) -> None:
    upgrade(bare, FIRST)
    _write_first_release_case(bare)
    upgrade(bare)
    before = _stored(bare)
    downgrade(bare, FIRST)
    assert current_revision(bare) == FIRST
    assert "community_parameters" not in sa.inspect(bare).get_table_names()
    assert _stored(bare) == before
