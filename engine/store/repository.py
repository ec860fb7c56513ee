"""Queries: the SQL the service needs, on a connection the caller's transaction owns.

Nothing here commits, rolls back or opens a transaction: `engine.service.door` owns each one.
Statements are SQLAlchemy Core on the SQLModel tables (no ORM session and identity map on
the hot path of a fire). Rows come back as plain mappings.
"""

from __future__ import annotations

import base64
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.access.principals import community_scope
from engine.audit.filters import InputCondition
from engine.core.decision import TimerPlan
from engine.language import untrusted
from engine.ledger import keys
from engine.store import queue_orders, tables, work_queue
from engine.store.input_match import input_match

cases = tables.Case.__table__  # type: ignore[attr-defined]
events = tables.Event.__table__  # type: ignore[attr-defined]
ticks = tables.ChecklistTick.__table__  # type: ignore[attr-defined]
links = tables.CaseLink.__table__  # type: ignore[attr-defined]
timers = tables.Timer.__table__  # type: ignore[attr-defined]
idempotency = tables.IdempotencyRecord.__table__  # type: ignore[attr-defined]
parameters = tables.CommunityParameter.__table__  # type: ignore[attr-defined]

Row = RowMapping
LIVE_TIMERS = ("pending", "paused")


class CursorError(ValueError):
    """A pagination cursor that this code did not produce."""


# ---------------------------------------------------------------------------------------
# Statements of the hot path, built once (building a statement costs more than running it)

_ids: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_case_by_id = sa.select(cases).where(cases.c.id == sa.bindparam("case_id"))
# FOR NO KEY UPDATE: serialises writers of the case without blocking the foreign-key
# checks of rows that merely reference it (a link made from another case).
_case_by_id_locked = _case_by_id.with_for_update(key_share=True)
_version_of = sa.select(cases.c.version).where(cases.c.id == sa.bindparam("case_id"))
_cases_by_ids = sa.select(cases).where(cases.c.id.in_(_ids))
_update_case = sa.update(cases).where(cases.c.id == sa.bindparam("w_id"),
                                      cases.c.version == sa.bindparam("w_version"))
_events_of = (sa.select(events).where(events.c.case_id == sa.bindparam("case_id"))
              .order_by(events.c.seq, events.c.id))
_events_of_cases = (sa.select(events).where(events.c.case_id.in_(_ids))
                    .order_by(events.c.case_id, events.c.seq, events.c.id))
_hash_at = (sa.select(events.c.hash)
            .where(events.c.case_id == sa.bindparam("case_id"),
                   events.c.seq == sa.bindparam("seq"))
            .order_by(events.c.id).limit(1))
_ticks_of = sa.select(ticks).where(ticks.c.case_id.in_(_ids)).order_by(ticks.c.id)
_delete_tick = sa.delete(ticks).where(ticks.c.id == sa.bindparam("tick_id"))


def _links_statement() -> sa.Select[Any]:
    other = cases.alias("other")
    outgoing = (
        sa.select(links.c.case_id.label("case_id"), links.c.other_case_id.label("other_case_id"),
                  links.c.relation, sa.literal("outgoing").label("direction"),
                  other.c.workflow_id, other.c.workflow_version, other.c.state,
                  other.c.community, links.c.id)
        .join(other, other.c.id == links.c.other_case_id)
        .where(links.c.case_id.in_(_ids)))
    incoming = (
        sa.select(links.c.other_case_id.label("case_id"), links.c.case_id.label("other_case_id"),
                  links.c.relation, sa.literal("incoming").label("direction"),
                  other.c.workflow_id, other.c.workflow_version, other.c.state,
                  other.c.community, links.c.id)
        .join(other, other.c.id == links.c.case_id)
        .where(links.c.other_case_id.in_(_ids)))
    union = sa.union_all(outgoing, incoming).subquery()
    return sa.select(union).order_by(union.c.case_id, union.c.id)


_links_of = _links_statement()
_find_link = sa.select(links).where(sa.or_(
    sa.and_(links.c.case_id == sa.bindparam("a"), links.c.other_case_id == sa.bindparam("b")),
    sa.and_(links.c.case_id == sa.bindparam("b"), links.c.other_case_id == sa.bindparam("a"))))
_delete_link = sa.delete(links).where(links.c.id == sa.bindparam("link_id"))
_timers_with_status = sa.select(timers).where(timers.c.case_id == sa.bindparam("case_id"),
                                              timers.c.status == sa.bindparam("w_status"))
_update_timer = sa.update(timers).where(timers.c.id == sa.bindparam("w_id"))


# ---------------------------------------------------------------------------------------
# The hot path on the driver's cursor
#
# A fire runs half a dozen small statements. SQLAlchemy's execution machinery (execution
# context, parameter and result processing set-up, events) costs several times what
# SQLite itself spends on each of them, so the statements of the hot path are compiled
# once per dialect and run on the DBAPI cursor of the caller's connection, inside the
# caller's transaction. Values still go through SQLAlchemy's own type processors (the
# same JSON, UTC-datetime and boolean conversions as a Core execute), and driver errors
# are wrapped exactly as SQLAlchemy wraps them (`sqlalchemy.exc.IntegrityError`, ...), so
# callers cannot tell the difference except by the clock.


class _Prepared:
    """One statement compiled for one dialect, with its value conversions."""

    __slots__ = ("_dialect", "_types", "columns", "defaults", "error", "order", "processors",
                 "results", "sql")

    def __init__(self, statement: Any, dialect: Any, keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a direct statement cannot have expanding parameters")
        self.sql: str = compiled.string
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positional else None)
        # Values written into the statement (`.values(status="cancelled")`) are defaults.
        self.defaults: dict[str, Any] = {name: bind.effective_value
                                         for name, bind in compiled.binds.items()
                                         if not bind.required}
        self.processors: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor
        selected = getattr(statement, "selected_columns", None)
        columns = list(selected) if selected is not None and statement.is_select else []
        self.columns: tuple[str, ...] = tuple(c.key for c in columns)
        self._types = [c.type.dialect_impl(dialect) for c in columns]
        self._dialect = dialect
        # Some conversions depend on the type the driver reports (PostgreSQL numerics):
        # made on the first result, from its cursor description.
        self.results: tuple[Any, ...] | None = None
        self.error: type[Exception] = dialect.loaded_dbapi.Error

    def converters(self, description: Sequence[Any]) -> tuple[Any, ...]:
        if self.results is None:
            self.results = tuple(kind.result_processor(self._dialect, entry[1])
                                 for kind, entry in zip(self._types, description,
                                                        strict=True))
        return self.results


class _Direct:
    """A hot-path statement: compiled once per dialect, executed on the DBAPI cursor."""

    def __init__(self, statement: Any, keys: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._keys = list(keys) if keys is not None else None
        self._prepared: weakref.WeakKeyDictionary[Any, _Prepared] = (
            weakref.WeakKeyDictionary())

    def _for(self, dialect: Any) -> _Prepared:
        found = self._prepared.get(dialect)
        if found is None:  # two threads may both compile: the same result either way
            found = self._prepared[dialect] = _Prepared(self._statement, dialect, self._keys)
        return found

    def _run(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, _Prepared]:
        prepared = self._for(connection.dialect)
        values = {**prepared.defaults, **params} if prepared.defaults else dict(params)
        for name, processor in prepared.processors.items():
            value = values.get(name)
            if value is not None or name in values:
                values[name] = processor(value)
        args: Any = values if prepared.order is None else tuple(
            [values[name] for name in prepared.order])
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(prepared.sql, args)
        except prepared.error as error:
            cursor.close()
            raise sa.exc.DBAPIError.instance(prepared.sql, args, error, prepared.error,
                                             dialect=connection.dialect) from error
        return cursor, prepared

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The selected rows as dicts, values converted as a Core execute would."""
        cursor, prepared = self._run(connection, params)
        try:
            fetched = cursor.fetchall()
            results = prepared.converters(cursor.description)
        except prepared.error as error:
            raise sa.exc.DBAPIError.instance(prepared.sql, None, error, prepared.error,
                                             dialect=connection.dialect) from error
        finally:
            cursor.close()
        columns = prepared.columns
        out = []
        for raw in fetched:
            out.append({name: value if convert is None else convert(value)
                        for name, value, convert in zip(columns, raw, results, strict=True)})
        return out

    def first(self, connection: Connection, params: Mapping[str, Any]
              ) -> dict[str, Any] | None:
        found = self.rows(connection, params)
        return found[0] if found else None

    def write(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it matched."""
        cursor, _ = self._run(connection, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


class _ByShape:
    """Direct statements made on demand for each shape (value keys, list length)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._made: dict[Any, _Direct] = {}

    def __getitem__(self, shape: Any) -> _Direct:
        found = self._made.get(shape)
        if found is None:
            found = self._made[shape] = self._make(shape)
        return found


def _listed(name: str, count: int) -> list[sa.BindParameter[Any]]:
    """`count` plain bind parameters `name0, name1, ...` (an IN list of fixed length)."""
    return [sa.bindparam(f"{name}{i}") for i in range(count)]


def _numbered(name: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{name}{i}": value for i, value in enumerate(values)}


_direct_case = _Direct(_case_by_id)
_direct_case_locked = _Direct(_case_by_id_locked)
_direct_version = _Direct(_version_of)
_direct_update_case = _ByShape(lambda keys: _Direct(_update_case, keys))
_direct_insert_event = _ByShape(lambda keys: _Direct(events.insert().inline(), keys))
_direct_ticks = _ByShape(lambda n: _Direct(
    sa.select(ticks).where(ticks.c.case_id == sa.bindparam("case_id"),
                           ticks.c.entry_seq.in_(_listed("seq", n))).order_by(ticks.c.id)))
_direct_overrides = _ByShape(lambda n: _Direct(
    sa.select(parameters.c.community, parameters.c.name, parameters.c.value).where(
        parameters.c.workflow_id == sa.bindparam("workflow_id"),
        parameters.c.community.in_(_listed("prefix", n)))))
_direct_cancel_base = (sa.update(timers)
                       .where(timers.c.case_id == sa.bindparam("w_case_id"),
                              timers.c.status.in_([sa.bindparam(f"live{i}", status)
                                                   for i, status in enumerate(LIVE_TIMERS)]))
                       .values(status="cancelled"))
_direct_cancel_timers = _Direct(_direct_cancel_base)
_direct_cancel_state_timers = _ByShape(lambda n: _Direct(_direct_cancel_base.where(
    timers.c.state.in_(_listed("state", n)))))
_direct_idempotency = _Direct(sa.select(idempotency).where(
    idempotency.c.key == sa.bindparam("key")))
_direct_insert_idempotency = _ByShape(lambda keys: _Direct(
    idempotency.insert().inline(), keys))


def _links_of_one() -> sa.Select[Any]:
    other = cases.alias("other")
    outgoing = (
        sa.select(links.c.case_id.label("case_id"), links.c.other_case_id.label("other_case_id"),
                  links.c.relation, sa.literal_column("'outgoing'", sa.String).label("direction"),
                  other.c.workflow_id, other.c.workflow_version, other.c.state,
                  other.c.community, links.c.id)
        .join(other, other.c.id == links.c.other_case_id)
        .where(links.c.case_id == sa.bindparam("case_id")))
    incoming = (
        sa.select(links.c.other_case_id.label("case_id"), links.c.case_id.label("other_case_id"),
                  links.c.relation, sa.literal_column("'incoming'", sa.String).label("direction"),
                  other.c.workflow_id, other.c.workflow_version, other.c.state,
                  other.c.community, links.c.id)
        .join(other, other.c.id == links.c.case_id)
        .where(links.c.other_case_id == sa.bindparam("case_id")))
    union = sa.union_all(outgoing, incoming).subquery()
    return sa.select(union).order_by(union.c.id)


_direct_links_of_one = _Direct(_links_of_one())


def _case_with_overrides() -> sa.Select[Any]:
    """The case row, once per parameter override that applies to it (once with NULLs
    when none does): what `load_case` and `parameter_overrides` read, in one statement.
    An override applies when its community is the case's, one above it, or '' (all).
    `has_links` says whether any link touches the case (both sides indexed), so that a
    change of a case without links spares the links query (a round trip on PostgreSQL)."""
    applies = sa.and_(
        parameters.c.workflow_id == cases.c.workflow_id,
        sa.or_(parameters.c.community == "", parameters.c.community == cases.c.community,
               sa.func.substr(cases.c.community, 1, sa.func.length(parameters.c.community) + 1)
               == parameters.c.community + "/"))
    has_links = sa.or_(
        sa.exists().where(links.c.case_id == cases.c.id),
        sa.exists().where(links.c.other_case_id == cases.c.id))
    return (sa.select(cases, parameters.c.community.label("override_community"),
                      parameters.c.name.label("override_name"),
                      parameters.c.value.label("override_value"),
                      has_links.label("has_links"))
            .select_from(cases.outerjoin(parameters, applies))
            .where(cases.c.id == sa.bindparam("case_id")))


_direct_case_overrides = _Direct(_case_with_overrides())
_direct_case_overrides_locked = _Direct(
    _case_with_overrides().with_for_update(of=cases, key_share=True))
_OVERRIDE_COLUMNS = ("override_community", "override_name", "override_value", "has_links")


# ---------------------------------------------------------------------------------------
# Cases


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
    """`load_case_and_overrides`, and whether any link touches the case, in one
    statement."""
    query = _direct_case_overrides_locked if lock else _direct_case_overrides
    rows = query.rows(connection, {"case_id": case_id})
    if not rows:
        return None, {}, False
    found = [r for r in rows if r["override_name"] is not None]
    overrides: dict[str, Any] = {}
    for override in sorted(found, key=lambda r: len(r["override_community"])):
        overrides[override["override_name"]] = override["override_value"]
    row = rows[0]
    has_links = bool(row["has_links"])
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
    statement = _direct_update_case[tuple(sorted(values))]
    return statement.write(connection, {**values, "w_id": case_id,
                                        "w_version": expected_version}) == 1


def case_rows(connection: Connection, case_ids: Sequence[str]) -> list[Row]:
    if not case_ids:
        return []
    return list(connection.execute(_cases_by_ids, {"ids": list(case_ids)}).mappings())


# ---------------------------------------------------------------------------------------
# Events


def insert_event(connection: Connection, values: Mapping[str, Any]) -> None:
    _direct_insert_event[tuple(sorted(values))].write(connection, values)


def events_of(connection: Connection, case_id: str) -> list[Row]:
    """A case's events in sequence order (stored id breaks a tie, as stored)."""
    return list(connection.execute(_events_of, {"case_id": case_id}).mappings())


def events_of_cases(connection: Connection, case_ids: Sequence[str]) -> list[Row]:
    """Events of several cases, by case then sequence."""
    if not case_ids:
        return []
    return list(connection.execute(_events_of_cases, {"ids": list(case_ids)}).mappings())


def event_hash_at(connection: Connection, case_id: str, seq: int) -> str | None:
    return connection.execute(_hash_at, {"case_id": case_id, "seq": seq}).scalar_one_or_none()


# ---------------------------------------------------------------------------------------
# Checklist ticks


def ticks_of(connection: Connection, case_ids: Sequence[str]) -> list[Row]:
    """Ticks of the cases (all entries; callers keep those of the current entries)."""
    if not case_ids:
        return []
    return list(connection.execute(_ticks_of, {"ids": list(case_ids)}).mappings())


def current_ticks(connection: Connection, case_id: str,
                  entries: Mapping[str, int]) -> list[dict[str, Any]]:
    """Ticks made during the current entry into each of the case's active states."""
    if not entries:
        return []
    seqs = sorted(set(entries.values()))
    rows = _direct_ticks[len(seqs)].rows(connection, {"case_id": case_id,
                                                      **_numbered("seq", seqs)})
    return [r for r in rows if entries.get(r["state"]) == r["entry_seq"]]


def insert_tick(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(ticks.insert(), dict(values))


def delete_tick(connection: Connection, tick_id: int) -> None:
    connection.execute(_delete_tick, {"tick_id": tick_id})


# ---------------------------------------------------------------------------------------
# Links


def links_of(connection: Connection, case_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every link touching the cases, seen from each side, with the other case's state.

    Columns: `case_id` (one of `case_ids`), `other_case_id`, `relation`, `direction`
    (`outgoing` when the link was made from `case_id`), `workflow_id`, `state`, `community`
    (of the other case).
    """
    if not case_ids:
        return []
    if len(case_ids) == 1:
        return _direct_links_of_one.rows(connection, {"case_id": case_ids[0]})
    return [dict(r) for r in connection.execute(_links_of, {"ids": list(case_ids)}).mappings()]


def find_link(connection: Connection, case_id: str, other_case_id: str) -> Row | None:
    """The link between the two cases, made from either side."""
    return connection.execute(_find_link, {"a": case_id, "b": other_case_id}
                              ).mappings().first()


def insert_link(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(links.insert(), dict(values))


def delete_link(connection: Connection, link_id: int) -> None:
    connection.execute(_delete_link, {"link_id": link_id})


# ---------------------------------------------------------------------------------------
# Timers


def arm_timers(connection: Connection, case_id: str, plans: Iterable[TimerPlan],
               now: datetime) -> None:
    rows = [{"case_id": case_id, "state": p.state, "timer_id": p.timer_id,
             "due_at": p.due_at, "action": p.action, "trigger": p.trigger,
             "repeat": p.repeat, "status": "pending", "created_at": now} for p in plans]
    if rows:
        connection.execute(timers.insert(), rows)


def cancel_timers(connection: Connection, case_id: str,
                  states: Iterable[str] | None = None) -> None:
    """Cancel the live timers of the case (only those owned by `states`, when given)."""
    if states is None:
        _direct_cancel_timers.write(connection, {"w_case_id": case_id})
        return
    owned = list(dict.fromkeys(states))
    if owned:
        _direct_cancel_state_timers[len(owned)].write(
            connection, {"w_case_id": case_id, **_numbered("state", owned)})


def pause_timers(connection: Connection, case_id: str, now: datetime) -> None:
    """Pending timers stop, remembering how long they still had to run."""
    rows = connection.execute(_timers_with_status,
                              {"case_id": case_id, "w_status": "pending"}).mappings().all()
    for row in rows:
        remaining = max((row["due_at"] - now).total_seconds(), 0.0)
        connection.execute(_update_timer, {"w_id": row["id"], "status": "paused",
                                           "remaining_seconds": remaining})


def resume_timers(connection: Connection, case_id: str, now: datetime) -> None:
    """Paused timers run again for the time they had left."""
    rows = connection.execute(_timers_with_status,
                              {"case_id": case_id, "w_status": "paused"}).mappings().all()
    for row in rows:
        due = now + timedelta(seconds=row["remaining_seconds"] or 0.0)
        connection.execute(_update_timer, {"w_id": row["id"], "status": "pending",
                                           "remaining_seconds": None, "due_at": due})


def timers_of(connection: Connection, case_id: str) -> list[Row]:
    return list(connection.execute(
        sa.select(timers).where(timers.c.case_id == case_id).order_by(timers.c.id)
    ).mappings())


# ---------------------------------------------------------------------------------------
# Idempotency


def find_idempotency(connection: Connection, key: str) -> dict[str, Any] | None:
    return _direct_idempotency.first(connection, {"key": key})


def insert_idempotency(connection: Connection, values: Mapping[str, Any]) -> None:
    _direct_insert_idempotency[tuple(sorted(values))].write(connection, values)


# ---------------------------------------------------------------------------------------
# Community parameters


def community_prefixes(community: str) -> list[str]:
    """'a/b/c' -> ['', 'a', 'a/b', 'a/b/c']: least specific first."""
    parts = [p for p in community.split("/") if p]
    return [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]


def parameter_overrides(connection: Connection, workflow_id: str,
                        community: str) -> dict[str, Any]:
    """Overrides for a case of `workflow_id` in `community`; the most specific wins."""
    prefixes = community_prefixes(community)
    rows = _direct_overrides[len(prefixes)].rows(
        connection, {"workflow_id": workflow_id, **_numbered("prefix", prefixes)})
    values: dict[str, Any] = {}
    for row in sorted(rows, key=lambda r: len(r["community"])):
        values[row["name"]] = row["value"]
    return values


def set_parameter(connection: Connection, community: str, workflow_id: str, name: str,
                  value: Any, now: datetime) -> None:
    """Insert or replace one override."""
    where = (parameters.c.community == community, parameters.c.workflow_id == workflow_id,
             parameters.c.name == name)
    updated = connection.execute(
        sa.update(parameters).where(*where).values(value=value, updated_at=now))
    if updated.rowcount == 0:
        connection.execute(sa.insert(parameters).values(
            community=community, workflow_id=workflow_id, name=name, value=value,
            updated_at=now))


# ---------------------------------------------------------------------------------------
# Lists with keyset pagination


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """Decode a cursor whose values have the types `kinds` (datetime, float, int, str)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values, flaws = untrusted.loads(raw)
        if flaws or not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        out: list[Any] = []
        for value, kind in zip(values, kinds, strict=True):
            if kind is datetime:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None or untrusted.utc_instant(parsed) is None:
                    raise ValueError("naive time or out of range")
                out.append(parsed)
            elif kind is float:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError("not a number")
                out.append(float(value))
            elif not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError("wrong type")
            else:
                out.append(value)
        return out
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as error:
        raise CursorError(str(error)) from error


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_cases(connection: Connection, *, workflow_id: str | None, state: str | None,
               community_prefix: str | None, overdue: bool | None, text: str | None,
               order: Literal["priority", "updated", "follow_up", "deadline"], limit: int,
               cursor: str | None, status: str | None = None,
               hidden_titles: Sequence[tuple[str, str]] = (),
               assignee: str | None = None, unassigned: bool = False,
               follow_up_by: date | None = None, escalated: bool | None = None
               ) -> tuple[list[Row], str | None]:
    query = sa.select(cases)
    if escalated is not None:
        flagged = _escalations_in_state().exists()
        query = query.where(flagged if escalated else sa.not_(flagged))
    if assignee is not None:
        query = query.where(cases.c.assignee == assignee)
    if unassigned:
        query = query.where(cases.c.assignee.is_(None))
    if follow_up_by is not None:  # a follow-up due: like a deadline, on or before the day
        query = query.where(cases.c.follow_up_on <= follow_up_by)
    if workflow_id is not None:
        query = query.where(cases.c.workflow_id == workflow_id)
    if state is not None:
        query = query.where(cases.c.state == state)
    if status is not None:
        query = query.where(cases.c.status == status)
    scope = community_scope(cases.c.community, community_prefix) if community_prefix else None
    if scope is not None:
        query = query.where(scope)
    if overdue is not None:
        query = query.where(cases.c.overdue == overdue)
    if text:
        pattern = f"%{_like_escape(text)}%"
        # SQLite's LIKE already ignores ASCII case (as its lower() does): plain LIKE is
        # the same match, evaluated on the index of the scope without a call per row.
        title = (cases.c.title.like(pattern, escape="\\")
                 if connection.dialect.name == "sqlite"
                 else cases.c.title.ilike(pattern, escape="\\"))
        if hidden_titles:  # titles the reader sees masked are not searched
            title = sa.and_(title, sa.tuple_(cases.c.workflow_id, cases.c.workflow_version)
                            .not_in(list(hidden_titles)))
        query = query.where(sa.or_(title, cases.c.id == text))
    if order != "updated":
        # A broad queue is walked in queue order; a narrow one is read and sorted.
        walk = not (text or assignee is not None or follow_up_by is not None) and (
            scope is None or work_queue.broad(connection, scope))
        return queue_orders.page(connection, order, query, limit, cursor, walk)
    keys = (cases.c.updated_at, cases.c.id)
    if cursor is not None:
        u, i = decode_cursor(cursor, (datetime, str))
        query = query.where(sa.or_(
            cases.c.updated_at < u,
            sa.and_(cases.c.updated_at == u, cases.c.id < i)))
    query = query.order_by(cases.c.updated_at.desc(), cases.c.id.desc())
    return _page(list(connection.execute(query.limit(limit + 1)).mappings()), limit, keys)


def _page(rows: list[Row], limit: int, keys: tuple[Any, ...]) -> tuple[list[Row], str | None]:
    """A page of `limit` rows (of `limit + 1` read) and the cursor after its last."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor([rows[limit - 1][k.name] for k in keys])


def _event_page(connection: Connection, query: sa.Select[Any], *,
                community_prefix: str | None, since: datetime | None,
                until: datetime | None, limit: int,
                cursor: str | None) -> tuple[list[Row], str | None]:
    """One page of `query` narrowed to a community and a time range, in (at, id) order,
    keyset-paginated; returns the rows and the cursor of the next page."""
    if community_prefix:
        scoped = sa.select(cases.c.id).where(community_scope(cases.c.community,
                                                             community_prefix))
        query = query.where(events.c.case_id.in_(scoped))
    if since is not None:
        query = query.where(events.c.at >= since)
    if until is not None:
        query = query.where(events.c.at < until)
    if cursor is not None:
        a, i = decode_cursor(cursor, (datetime, int))
        query = query.where(sa.or_(events.c.at > a,
                                   sa.and_(events.c.at == a, events.c.id > i)))
    query = query.order_by(events.c.at, events.c.id).limit(limit + 1)
    rows = list(connection.execute(query).mappings())
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = encode_cursor([rows[-1]["at"], rows[-1]["id"]])
    return rows, following


def input_clause(condition: InputCondition) -> sa.ColumnElement[bool]:
    """A comparison on the event's recorded input that no row can make fail (SQLite and
    PostgreSQL): see `engine.store.input_match`."""
    return input_match(events.c.input, condition)


def list_events(connection: Connection, *, case_id: str | None, actor: str | None,
                workflow_id: str | None, trigger: str | None, state: str | None,
                community_prefix: str | None, since: datetime | None,
                until: datetime | None, limit: int, cursor: str | None,
                role: str | None = None, conditions: Sequence[InputCondition] = (),
                kind: str | None = None) -> tuple[list[Row], str | None]:
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
    return _event_page(connection, query, community_prefix=community_prefix, since=since,
                       until=until, limit=limit, cursor=cursor)


# ---------------------------------------------------------------------------------------
# Audit


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
               ) -> list[Row]:
    """What verifying a case reads of its row (head, count, state and the columns its
    events account for), by id, optionally a page of them."""
    query = sa.select(*columns).order_by(cases.c.id)
    if after is not None:
        query = query.where(cases.c.id > after)
    if limit is not None:
        query = query.limit(limit)
    return list(connection.execute(query).mappings())


# ---------------------------------------------------------------------------------------
# Timers: firing and listing (claims are made in `engine.timers.worker`)

_timer_by_id = sa.select(timers).where(timers.c.id == sa.bindparam("timer_row"))
_finish_timer = (sa.update(timers).where(timers.c.id == sa.bindparam("w_id"))
                 .values(status="fired", fired_at=sa.bindparam("w_at"),
                         outcome=sa.bindparam("w_outcome"), claimed_until=None))


_direct_due_timers = _Direct(
    sa.select(timers).where(timers.c.case_id == sa.bindparam("case_id"),
                            timers.c.status == sa.bindparam("w_status"),
                            timers.c.due_at <= sa.bindparam("now"))
    .order_by(timers.c.due_at, timers.c.id))


def due_timers(connection: Connection, case_id: str, now: datetime) -> list[dict[str, Any]]:
    """The case's pending timers due at `now`, oldest first (claimed or not)."""
    return _direct_due_timers.rows(connection, {"case_id": case_id, "w_status": "pending",
                                                "now": now})


def timer_row(connection: Connection, timer_row_id: int) -> Row | None:
    """One timer row by its id."""
    return connection.execute(_timer_by_id, {"timer_row": timer_row_id}).mappings().first()


def finish_timer(connection: Connection, timer_row_id: int, *, outcome: str,
                 now: datetime) -> None:
    """The timer has done its work: status `fired`, when, and what came of it (JSON)."""
    connection.execute(_finish_timer, {"w_id": timer_row_id, "w_at": now,
                                       "w_outcome": outcome})


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
_direct_set_next_due = _Direct(sa.update(cases).where(cases.c.id == sa.bindparam("w_id")),
                               ["next_due"])


def set_next_due(connection: Connection, case_id: str, due: datetime | None) -> None:
    """Store the case's soonest pending deadline, known by the caller."""
    _direct_set_next_due.write(connection, {"w_id": case_id, "next_due": due})


def refresh_next_due(connection: Connection, case_id: str) -> datetime | None:
    """Store the case's soonest pending deadline, read from its timers; return it."""
    return connection.execute(_refresh_next_due, {"w_id": case_id}).scalar_one_or_none()


def _escalations_in_state() -> sa.Select[Any]:
    """The escalation events of a case (correlated with `cases`) since it entered its
    current state: what makes a case escalated, for the flag, the badge and the filter.

    Since: at or after `entered_at`, and followed by no event that moved the case (an
    escalation timer fired ahead of a transition in the same change shares its time).
    """
    later = events.alias("moved")
    moved = sa.exists().where(later.c.case_id == events.c.case_id,
                              later.c.seq > events.c.seq,
                              later.c.kind.in_(("transition", "migration")),
                              later.c.from_state != later.c.to_state)
    return (sa.select(events.c.at)
            .where(events.c.case_id == cases.c.id, events.c.kind == "escalation",
                   events.c.at >= cases.c.entered_at, sa.not_(moved)))


def escalated(connection: Connection, case_ids: list[str]) -> dict[str, datetime]:
    """Those of these cases escalated since they entered their state, each with the time
    of its latest escalation (one query for a page of cases)."""
    if not case_ids:
        return {}
    latest = _escalations_in_state().with_only_columns(sa.func.max(events.c.at))
    query = (sa.select(cases.c.id, latest.scalar_subquery().label("at"))
             .where(cases.c.id.in_(case_ids)))
    return {row.id: row.at for row in connection.execute(query) if row.at is not None}


TIMER_GROUPS = (("pending", "paused"), ("fired", "cancelled"))
"""How timers are listed: the live ones (still to fall due) first, then those done with."""


def list_timers(connection: Connection, *, case_id: str | None, due_before: datetime | None,
                status: str | None, community_prefix: str | None, now: datetime,
                limit: int, cursor: str | None, state: str | None = None
                ) -> tuple[list[Row], str | None]:
    """Timers still to fall due first, then fired and cancelled ones, each group soonest
    due first; keyset-paginated on (group, due_at, id), one indexed range per group.

    `status` is a stored status, or `claimed`: pending with a lease still running at `now`
    (a worker is firing it); `pending` then means pending and not claimed. `state` is the
    state that armed the timer.
    """
    query = sa.select(timers)
    if case_id is not None:
        query = query.where(timers.c.case_id == case_id)
    if state is not None:
        query = query.where(timers.c.state == state)
    if due_before is not None:
        query = query.where(timers.c.due_at < due_before)
    leased = sa.and_(timers.c.claimed_until.is_not(None), timers.c.claimed_until >= now)
    if status == "claimed":
        query = query.where(timers.c.status == "pending", leased)
    elif status == "pending":
        query = query.where(timers.c.status == "pending", sa.not_(leased))
    elif status is not None:
        query = query.where(timers.c.status == status)
    if community_prefix:
        scoped = sa.select(cases.c.id).where(community_scope(cases.c.community,
                                                             community_prefix))
        query = query.where(timers.c.case_id.in_(scoped))
    first, after = 0, None
    if cursor is not None:
        first, d, i = decode_cursor(cursor, (int, datetime, int))
        if not 0 <= first < len(TIMER_GROUPS):
            raise CursorError("no such group")
        after = sa.or_(timers.c.due_at > d, sa.and_(timers.c.due_at == d, timers.c.id > i))
    found: list[tuple[int, Row]] = []
    for group in range(first, len(TIMER_GROUPS)):
        page = query.where(timers.c.status.in_(TIMER_GROUPS[group]))
        if after is not None and group == first:
            page = page.where(after)
        page = page.order_by(timers.c.due_at, timers.c.id).limit(limit + 1 - len(found))
        found.extend((group, row) for row in connection.execute(page).mappings())
        if len(found) > limit:
            break
    following = None
    if len(found) > limit:
        found = found[:limit]
        group, last = found[-1]
        following = encode_cursor([group, last["due_at"], last["id"]])
    return [row for _, row in found], following


# ---------------------------------------------------------------------------------------
# Definition versions


def cancel_timer_rows(connection: Connection, timer_ids: Sequence[int]) -> None:
    """Cancel these timers (a migration drops those its new version no longer defines)."""
    for timer_id in timer_ids:
        connection.execute(_update_timer, {"w_id": timer_id, "status": "cancelled"})
