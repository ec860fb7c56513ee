"""A case's row: read (locked for a change), written under its version (with the event
the change appends), its soonest deadline, and what verifying its chain reads of it.

The row and the parameter overrides that apply to it are read in one statement, on the
driver's cursor (`engine.store.direct`): every change starts with this read. On
PostgreSQL the version-checked update and the event it appends are one statement too
(`write_change`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.ledger import keys
from engine.store.direct import ByShape, Direct
from engine.store.repository.events import insert_event
from engine.store.repository.parameters import most_specific
from engine.store.tables import CASES as cases
from engine.store.tables import EVENTS as events
from engine.store.tables import LINKS as links
from engine.store.tables import PARAMETERS as parameters
from engine.store.tables import TIMERS as timers

__all__ = ["HEAD_COLUMNS", "case_heads", "case_rows", "case_version", "head_columns",
           "insert_case", "load_case", "load_case_and_overrides", "load_for_change", "next_due",
           "refresh_next_due", "set_next_due", "update_case", "write_change"]

_case_by_id = sa.select(cases).where(cases.c.id == sa.bindparam("case_id"))
# FOR NO KEY UPDATE: serialises writers of the case without blocking the foreign-key
# checks of rows that merely reference it (a link made from another case).
_case_by_id_locked = _case_by_id.with_for_update(key_share=True)
_cases_by_ids = sa.select(cases).where(cases.c.id.in_(sa.bindparam("ids", expanding=True)))
_update_case = sa.update(cases).where(cases.c.id == sa.bindparam("w_id"),
                                      cases.c.version == sa.bindparam("w_version"))
_direct_case = Direct(_case_by_id)
_direct_case_locked = Direct(_case_by_id_locked)
_direct_version = Direct(sa.select(cases.c.version).where(
    cases.c.id == sa.bindparam("case_id")))
_direct_update_case = ByShape(lambda keys: Direct(_update_case, keys))


def _case_with_overrides() -> sa.Select[Any]:
    """The case row, once per parameter override that applies to it (once with NULLs
    when none does): what `load_case` and `parameter_overrides` read, in one statement.
    An override applies when its community is the case's, one above it, or '' (all).
    `has_links` says whether any link touches the case (both sides indexed), so that a
    change of a case without links spares the links query (a round trip on PostgreSQL).
    `seen_version` is the case's version in the statement's snapshot: on PostgreSQL a
    locked read that waited for the row lock returns the row as its last writer left it,
    but evaluates the subqueries (`has_links`) on the snapshot from before the wait; a
    link made or removed meanwhile wrote on both its cases, so the two versions then
    differ (`load_for_change`)."""
    applies = sa.and_(
        parameters.c.workflow_id == cases.c.workflow_id,
        sa.or_(parameters.c.community == "", parameters.c.community == cases.c.community,
               sa.func.substr(cases.c.community, 1, sa.func.length(parameters.c.community) + 1)
               == parameters.c.community + "/"))
    has_links = sa.or_(
        sa.exists().where(links.c.case_id == cases.c.id),
        sa.exists().where(links.c.other_case_id == cases.c.id))
    seen = cases.alias("seen")
    seen_version = sa.select(seen.c.version).where(seen.c.id == cases.c.id).scalar_subquery()
    return (sa.select(cases, parameters.c.community.label("override_community"),
                      parameters.c.name.label("override_name"),
                      parameters.c.value.label("override_value"),
                      has_links.label("has_links"), seen_version.label("seen_version"))
            .select_from(cases.outerjoin(parameters, applies))
            .where(cases.c.id == sa.bindparam("case_id")))


_direct_case_overrides = Direct(_case_with_overrides())
_direct_case_overrides_locked = Direct(
    _case_with_overrides().with_for_update(of=cases, key_share=True))
_OVERRIDE_COLUMNS = ("override_community", "override_name", "override_value", "has_links",
                     "seen_version")


def load_case(connection: Connection, case_id: str, *, lock: bool = False
              ) -> dict[str, Any] | None:
    """The case row; with `lock`, locked for this transaction (FOR UPDATE on PostgreSQL)."""
    query = _direct_case_locked if lock else _direct_case
    return query.first(connection, {"case_id": case_id})


def load_case_and_overrides(connection: Connection, case_id: str, *, lock: bool = False
                            ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """`load_case` and `parameter_overrides` for the case's workflow and community, in
    one statement (the hot path of every change reads both); the row's `next_due` is the
    soonest pending timer's due time (None when there is none), kept by the door."""
    row, overrides, _ = load_for_change(connection, case_id, lock=lock)
    return row, overrides


def load_for_change(connection: Connection, case_id: str, *, lock: bool = False
                    ) -> tuple[dict[str, Any] | None, dict[str, Any], bool]:
    """`load_case_and_overrides`, and whether the case's links must be read: True when
    a link touches it, or when the snapshot the statement's subqueries saw is older than
    the row it locked (a change committed while it waited for the lock; see
    `_case_with_overrides`), in one statement."""
    query = _direct_case_overrides_locked if lock else _direct_case_overrides
    rows = query.rows(connection, {"case_id": case_id})
    if not rows:
        return None, {}, False
    row = rows[0]
    # No override applies (the common case): the one row the outer join gives, with NULLs.
    overrides = {} if len(rows) == 1 and row["override_name"] is None else most_specific(
        (r["override_community"], r["override_name"], r["override_value"])
        for r in rows if r["override_name"] is not None)
    has_links = bool(row["has_links"]) or row["seen_version"] != row["version"]
    for name in _OVERRIDE_COLUMNS:
        del row[name]
    return row, overrides, has_links


def case_version(connection: Connection, case_id: str) -> int | None:
    found = _direct_version.first(connection, {"case_id": case_id})
    return None if found is None else int(found["version"])


def _sealed(connection: Connection, case_id: str, values: Mapping[str, Any]
            ) -> Mapping[str, Any]:
    """`values` with the seal of the head they write, when the engine has a chain key."""
    key = keys.key_of(connection.engine)
    if key is None or "head_hash" not in values:
        return values
    return {**values, "head_seal": key.seal(case_id, values["head_hash"],
                                            values["event_count"])}


def insert_case(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(cases.insert(), dict(_sealed(connection, values["id"], values)))


def update_case(connection: Connection, case_id: str, expected_version: int,
                values: Mapping[str, Any]) -> bool:
    """`UPDATE ... WHERE id = :id AND version = :v`; False when the version moved on.
    A new head is sealed with the engine's chain key (`engine.ledger.keys`)."""
    values = _sealed(connection, case_id, values)
    keys = tuple(values)
    statement = _update_shapes.get(keys)
    if statement is None:
        statement = _update_shapes[keys] = _direct_update_case[tuple(sorted(keys))]
    return statement.write(connection, {**values, "w_id": case_id,
                                        "w_version": expected_version}) == 1


_update_shapes: dict[tuple[str, ...], Direct] = {}
"""The keys of an update as given -> its statement, without sorting them at every change
(the keys are the engine's: a change's columns, a few shapes in all)."""


def _update_and_append(shape: tuple[tuple[str, ...], tuple[str, ...]]) -> Direct:
    """`INSERT INTO events ... SELECT ... FROM (UPDATE cases ... RETURNING id)`: the event
    is appended only from the row the version-checked update matched."""
    case_keys, event_keys = shape
    updated = (sa.update(cases)
               .where(cases.c.id == sa.bindparam("w_id"),
                      cases.c.version == sa.bindparam("w_version"))
               .values({name: sa.bindparam(f"c_{name}", type_=cases.c[name].type)
                        for name in case_keys})
               .returning(cases.c.id).cte("updated"))
    appended = sa.select(*(sa.bindparam(f"e_{name}", type_=events.c[name].type)
                           for name in event_keys)).select_from(updated)
    return Direct(events.insert().from_select(list(event_keys), appended))


_direct_update_and_append = ByShape(_update_and_append)
_change_shapes: dict[tuple[tuple[str, ...], tuple[str, ...]],
                     tuple[Direct, tuple[str, ...], tuple[str, ...]]] = {}
"""(case keys, event keys) as a change gives them -> its statement and the parameter
names of those keys, in that order: a change builds its parameters by zipping, without
formatting a name per value or sorting the keys (a few microseconds of every change)."""


def _change_shape(case_keys: tuple[str, ...], event_keys: tuple[str, ...]
                  ) -> tuple[Direct, tuple[str, ...], tuple[str, ...]]:
    found = _change_shapes.get((case_keys, event_keys))
    if found is None:
        statement = _direct_update_and_append[(tuple(sorted(case_keys)),
                                               tuple(sorted(event_keys)))]
        found = _change_shapes[(case_keys, event_keys)] = (
            statement, tuple(f"c_{name}" for name in case_keys),
            tuple(f"e_{name}" for name in event_keys))
    return found


def write_change(connection: Connection, case_id: str, expected_version: int,
                 values: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """`update_case`, then `event` appended when the update matched; False (and nothing
    written) when the version moved on. On PostgreSQL in one statement, a round trip less
    per change; SQLite, in process and without UPDATE in a WITH clause, runs the two."""
    if connection.dialect.name != "postgresql":
        if not update_case(connection, case_id, expected_version, values):
            return False
        insert_event(connection, event)
        return True
    values = _sealed(connection, case_id, values)
    statement, case_names, event_names = _change_shape(tuple(values), tuple(event))
    params = dict(zip(case_names, values.values(), strict=True))
    params.update(zip(event_names, event.values(), strict=True))
    params["w_id"], params["w_version"] = case_id, expected_version
    return statement.write(connection, params) == 1


def case_rows(connection: Connection, case_ids: Sequence[str]) -> list[RowMapping]:
    if not case_ids:
        return []
    return list(connection.execute(_cases_by_ids, {"ids": list(case_ids)}).mappings())




def next_due(connection: Connection, case_ids: list[str]) -> dict[str, datetime]:
    """The soonest pending deadline of each of these cases that has one (one query for a
    queue page): the cases' `next_due` column."""
    if not case_ids:
        return {}
    query = sa.select(cases.c.id, cases.c.next_due).where(
        cases.c.id.in_(case_ids), cases.c.next_due.is_not(None))
    return {row.id: row.next_due for row in connection.execute(query)}


_soonest_pending = (sa.select(sa.func.min(timers.c.due_at))
                    .where(timers.c.case_id == cases.c.id, timers.c.status == "pending")
                    .scalar_subquery())
_refresh_next_due = (sa.update(cases).where(cases.c.id == sa.bindparam("w_id"))
                     .values(next_due=_soonest_pending).returning(cases.c.next_due))
_direct_set_next_due = Direct(sa.update(cases).where(cases.c.id == sa.bindparam("w_id")),
                               ["next_due"])


def set_next_due(connection: Connection, case_id: str, due: datetime | None) -> None:
    """Store the case's soonest pending deadline, known by the caller."""
    _direct_set_next_due.write(connection, {"w_id": case_id, "next_due": due})


def refresh_next_due(connection: Connection, case_id: str) -> datetime | None:
    """Store the case's soonest pending deadline, read from its timers; return it."""
    return connection.execute(_refresh_next_due, {"w_id": case_id}).scalar_one_or_none()


# ---------------------------------------------------------------------------------------
# What verifying a case's chain reads of its row


HEAD_COLUMNS = (cases.c.id, cases.c.head_hash, cases.c.event_count, cases.c.state,
                cases.c.workflow_id, cases.c.workflow_version, cases.c.status,
                cases.c.version, cases.c.community, cases.c.data, cases.c.head_seal)


def head_columns(connection: Connection) -> tuple[Any, ...]:
    """`HEAD_COLUMNS` this database has (an older schema, say an auditor's copy not yet
    upgraded, has no seals)."""
    present = {c["name"] for c in sa.inspect(connection).get_columns("cases")}
    return tuple(c for c in HEAD_COLUMNS if c.name in present)


def case_heads(connection: Connection, after: str | None = None,
               limit: int | None = None, columns: tuple[Any, ...] = HEAD_COLUMNS
               ) -> list[RowMapping]:
    """What verifying a case reads of its row (head, count, state and the columns its
    events account for), by id, optionally a page of them."""
    query = sa.select(*columns).order_by(cases.c.id)
    if after is not None:
        query = query.where(cases.c.id > after)
    if limit is not None:
        query = query.limit(limit)
    return list(connection.execute(query).mappings())


