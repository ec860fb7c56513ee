"""What one fire costs the database, counted (not timed): the statements a plain fire sends
and the connections it takes, on SQLite and PostgreSQL. A change that adds a round trip or
stops reusing the warm connection fails here instead of showing up as a slower bench."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMUNITY
from pq_trace import round_trip_messages

from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService
from engine.store import repository
from engine.store.db import write_connection

PING = """
id: cost_ping
version: 1.0.0
title: {en: Ping}
roles: [caseworker]
fields:
  name: {type: string, required: true}
  count: {type: integer, default: 0}
states:
  ping: {initial: true}
  pong: {}
transitions:
  - {trigger: ping, from: ping, to: pong, roles: [caseworker],
     input: {by: {type: integer, required: true}}, effects: {count: data.count + input.by}}
  - {trigger: pong, from: pong, to: ping, roles: [caseworker],
     input: {by: {type: integer, required: true}}, effects: {count: data.count + input.by}}
"""


@pytest.fixture
def pinging(engine: sa.Engine, clock: FrozenClock) -> tuple[CaseService, str]:
    """A service with the ping workflow and one case of it, fired a few times (warm: a
    statement is prepared on the server at its first run)."""
    registry = WorkflowRegistry(engine, clock)
    registry.register_text(PING, "cost_ping.yaml")
    service = CaseService(engine, registry, clock)
    case_id = service.start_case("cost_ping", {"name": "甲"}, actor=CASEWORKER,
                                 community=COMMUNITY).case.id
    for trigger in ("ping", "pong") * 4:
        service.fire(case_id, trigger, input={"by": 1}, actor=CASEWORKER)
    return service, case_id


@contextmanager
def checkouts(engine: sa.Engine) -> Iterator[list[int]]:
    """The identity of each driver connection handed out of the pool meanwhile."""
    seen: list[int] = []

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        seen.append(id(dbapi_connection))

    sa.event.listen(engine, "checkout", checkout)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "checkout", checkout)


def test_sequential_changes_reuse_the_same_pooled_connection(
        pinging: tuple[CaseService, str], engine: sa.Engine) -> None:
    service, case_id = pinging
    with engine.connect(), engine.connect():
        pass  # two connections rest in the pool now
    with checkouts(engine) as seen:
        for trigger in ("ping", "pong", "ping", "pong"):
            service.fire(case_id, trigger, input={"by": 1}, actor=CASEWORKER)
    # The most recently returned connection is handed out again (its SQLite page cache
    # and its PostgreSQL backend stay warm), instead of the pool's connections in turn.
    assert len(seen) == 4 and len(set(seen)) == 1


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """What the driver sends to the database meanwhile: on SQLite each statement run, on
    PostgreSQL each message that waits for the server's answer (a simple query, or the
    sync ending an extended-protocol exchange: one round trip each)."""
    sent: list[str] = []
    traced: list[Any] = []
    trace = tempfile.NamedTemporaryFile("w+", suffix=".trace")  # noqa: SIM115

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        traced.append(dbapi_connection)
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(sent.append)
        else:
            dbapi_connection.pgconn.trace(trace.fileno())

    sa.event.listen(engine, "checkout", checkout)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "checkout", checkout)
        for dbapi_connection in traced:
            if engine.dialect.name == "sqlite":
                dbapi_connection.set_trace_callback(None)
            else:
                dbapi_connection.pgconn.untrace()
        sent.extend(round_trip_messages(trace))
        trace.close()


def test_a_plain_fire_takes_three_round_trips_on_postgres_and_five_statements_on_sqlite(
        pinging: tuple[CaseService, str], engine: sa.Engine) -> None:
    service, case_id = pinging
    with statements(engine) as sent:
        service.fire(case_id, "ping", input={"by": 1}, actor=CASEWORKER)
    # begin, the locked read of the case, the version-checked update and the event it
    # appends (one statement on PostgreSQL: `repository.write_change`), commit; on
    # PostgreSQL the begin goes in one flush with the locked read (`engine.store.wire`)
    assert len(sent) == (5 if engine.dialect.name == "sqlite" else 3), sent


def test_a_change_written_under_a_stale_version_appends_no_event(
        pinging: tuple[CaseService, str], engine: sa.Engine) -> None:
    service, case_id = pinging
    case = service.get_case(case_id)
    event = {"case_id": case_id, "seq": case.event_count + 1, "workflow_id": "cost_ping",
             "workflow_version": "1.0.0", "kind": "transition", "trigger": "ping",
             "from_state": "ping", "to_state": "pong", "actor": CASEWORKER.id,
             "role": "caseworker", "input": {}, "changes": {}, "comment": None,
             "at": service.clock.now(), "prev_hash": case.head_hash, "hash": "f" * 64,
             "body": "{}"}
    with write_connection(engine) as connection:
        written = repository.write_change(connection, case_id, case.version - 1,
                                          {"state": "pong"}, event)
    assert written is False
    assert service.get_case(case_id) == case
    assert len(service.history(case_id)) == case.event_count
