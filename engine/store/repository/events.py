"""Events: appended (on the driver's cursor, the hot path of every change), a case's
history read back, and the events list across cases, filtered and keyset-paginated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.access.principals import community_scope
from engine.audit.filters import InputCondition
from engine.store.direct import ByShape, Direct
from engine.store.input_match import input_match
from engine.store.pages import Keyset
from engine.store.tables import CASES as cases
from engine.store.tables import EVENTS as events

__all__ = ["EVENT_ORDER", "event_hash_at", "events_of", "events_of_cases", "input_clause",
           "insert_event", "list_events"]

EVENT_ORDER = Keyset((events.c.at, events.c.id), (datetime, int))
"""How events are listed across cases: by time, then as stored."""

_events_of = (sa.select(events).where(events.c.case_id == sa.bindparam("case_id"))
              .order_by(events.c.seq, events.c.id))
_events_of_cases = (sa.select(events)
                    .where(events.c.case_id.in_(sa.bindparam("ids", expanding=True)))
                    .order_by(events.c.case_id, events.c.seq, events.c.id))
_hash_at = (sa.select(events.c.hash)
            .where(events.c.case_id == sa.bindparam("case_id"),
                   events.c.seq == sa.bindparam("seq"))
            .order_by(events.c.id).limit(1))
_direct_insert_event = ByShape(lambda keys: Direct(events.insert().inline(), keys))


_insert_shapes: dict[tuple[str, ...], Direct] = {}
"""The keys of an event as given -> its statement, without sorting them at every change
(the keys are the engine's event columns)."""


def insert_event(connection: Connection, values: Mapping[str, Any]) -> None:
    keys = tuple(values)
    statement = _insert_shapes.get(keys)
    if statement is None:
        statement = _insert_shapes[keys] = _direct_insert_event[tuple(sorted(keys))]
    statement.write(connection, values)


def events_of(connection: Connection, case_id: str) -> list[RowMapping]:
    """A case's events in sequence order (stored id breaks a tie, as stored)."""
    return list(connection.execute(_events_of, {"case_id": case_id}).mappings())


def events_of_cases(connection: Connection, case_ids: Sequence[str]) -> list[RowMapping]:
    """Events of several cases, by case then sequence."""
    if not case_ids:
        return []
    return list(connection.execute(_events_of_cases, {"ids": list(case_ids)}).mappings())


def event_hash_at(connection: Connection, case_id: str, seq: int) -> str | None:
    return connection.execute(_hash_at, {"case_id": case_id, "seq": seq}).scalar_one_or_none()



def input_clause(condition: InputCondition) -> sa.ColumnElement[bool]:
    """A comparison on the event's recorded input that no row can make fail (SQLite and
    PostgreSQL): see `engine.store.input_match`."""
    return input_match(events.c.input, condition)


def list_events(connection: Connection, *, case_id: str | None, actor: str | None,
                workflow_id: str | None, trigger: str | None, state: str | None,
                community_prefix: str | None, since: datetime | None,
                until: datetime | None, limit: int, cursor: str | None,
                role: str | None = None, conditions: Sequence[InputCondition] = (),
                kind: str | None = None) -> tuple[list[RowMapping], str | None]:
    """A page of events, narrowed by each filter given, in (at, id) order; the rows and
    the cursor of the next page."""
    query = sa.select(events)
    if kind is not None:
        query = query.where(events.c.kind == kind)
    if role is not None:
        query = query.where(events.c.role == role)
    for condition in conditions:
        query = query.where(input_clause(condition))
    if case_id is not None:
        query = query.where(events.c.case_id == case_id)
    if actor is not None:
        query = query.where(events.c.actor == actor)
    if workflow_id is not None:
        query = query.where(events.c.workflow_id == workflow_id)
    if trigger is not None:
        query = query.where(events.c.trigger == trigger)
    if state is not None:
        query = query.where(sa.or_(events.c.from_state == state, events.c.to_state == state))
    if community_prefix:
        scoped = sa.select(cases.c.id).where(community_scope(cases.c.community,
                                                             community_prefix))
        query = query.where(events.c.case_id.in_(scoped))
    if since is not None:
        query = query.where(events.c.at >= since)
    if until is not None:
        query = query.where(events.c.at < until)
    return EVENT_ORDER.page(connection, query, limit, cursor)

