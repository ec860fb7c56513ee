"""The hot path on the driver's cursor.

A fire runs half a dozen small statements. SQLAlchemy's execution machinery (execution
context, parameter and result processing set-up, events) costs several times what
SQLite itself spends on each of them, so the statements of the hot path are compiled
once per dialect and run on the DBAPI cursor of the caller's connection, inside the
caller's transaction. Values still go through SQLAlchemy's own type processors (the
same JSON, UTC-datetime and boolean conversions as a Core execute), and driver errors
are wrapped exactly as SQLAlchemy wraps them (`sqlalchemy.exc.IntegrityError`, ...), so
callers cannot tell the difference except by the clock (tests/test_direct.py,
tests/test_fire_path.py).

Kept because it is measured to pay: the bench's fire loop, with this executor on and off
(plain Core execute) in alternating blocks of one process, fired 1.04-1.13x as fast on
SQLite and 1.2-1.9x on PostgreSQL with it (2-core machine under load, 2026-11-30). The
interface is `Direct(statement).rows / first / first_alone / write` and `ByShape`; what it
reads of SQLAlchemy's compiled statement (`binds`, `positiontup`) stays inside `_Prepared`.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from engine.store.tables.json_text import json_text, json_value

__all__ = ["ByShape", "Direct", "listed", "numbered"]


class _Prepared:
    """One statement compiled for one dialect, with its value conversions."""

    __slots__ = ("_dialect", "_types", "binding", "columns", "converting", "defaults", "error",
                 "formats", "order", "pick", "processors", "results", "sql", "wire")

    def __init__(self, statement: Any, dialect: Any, keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=_positional(dialect), column_keys=keys)
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
            kind = bind.type.dialect_impl(dialect)
            processor = kind.bind_processor(dialect)
            if processor is not None:
                self.processors[name] = json_text(kind, dialect, processor)
        # A positional statement's arguments: picked in order in one C call, then the few
        # that have a conversion converted in place (position, conversion).
        self.binding: tuple[tuple[int, Any], ...] | None = None if self.order is None else \
            tuple((index, self.processors[name]) for index, name in enumerate(self.order)
                  if name in self.processors)
        self.pick: Any = _picker(self.order or ())
        selected = getattr(statement, "selected_columns", None)
        columns = list(selected) if selected is not None and statement.is_select else []
        self.columns: tuple[str, ...] = tuple(c.key for c in columns)
        self._types = [c.type.dialect_impl(dialect) for c in columns]
        self._dialect = dialect
        # Some conversions depend on the type the driver reports (PostgreSQL numerics):
        # made on the first result, from its cursor description.
        self.results: tuple[Any, ...] | None = None
        self.converting: tuple[tuple[str, int, Any], ...] = ()
        self.error: type[Exception] = dialect.loaded_dbapi.Error
        # On psycopg, run through libpq (`engine.store.wire`): the SQL as bytes, and the
        # format psycopg's cursor asks of each parameter's dumper (`%s`: automatic).
        self.wire: bytes | None = None
        self.formats: tuple[Any, ...] = ()
        if _on_libpq(dialect):
            global _WIRE  # imported once, when first needed: psycopg is optional
            from engine.store import wire

            _WIRE = wire
            self.wire = self.sql.encode()
            self.formats = (wire.AUTO,) * len(self.order or ())

    def arguments(self, params: Mapping[str, Any]) -> Any:
        """The statement's arguments from `params` (and its defaults), converted as a
        Core execute converts them."""
        values = {**self.defaults, **params} if self.defaults else params
        args: Any
        if self.binding is not None:
            args = self.pick(values)
            if self.binding:
                args = list(args)
                for index, convert in self.binding:
                    args[index] = convert(args[index])
            return args
        args = dict(values)
        for name, processor in self.processors.items():
            if name in args:
                args[name] = processor(args[name])
        return args

    def converters(self, kinds: Sequence[Any]) -> tuple[tuple[str, int, Any], ...]:
        """The columns whose values are converted: name, position, conversion; `kinds`
        are the types the driver reports of the columns (a cursor description's second
        entries)."""
        if self.results is None:
            dialect = self._dialect
            results = tuple(json_value(kind, dialect, code,
                                       kind.result_processor(dialect, code))
                            for kind, code in zip(self._types, kinds, strict=True))
            self.converting = tuple((name, index, convert) for index, (name, convert)
                                    in enumerate(zip(self.columns, results, strict=True))
                                    if convert is not None)
            self.results = results
        return self.converting


_POSITIONAL: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_WIRE: Any = None
"""`engine.store.wire`, once a statement for psycopg has been compiled."""


def _on_libpq(dialect: Any) -> bool:
    """Whether direct statements of `dialect` run through libpq (`engine.store.wire`)."""
    return getattr(dialect, "driver", None) == "psycopg"


def _positional(dialect: Any) -> Any:
    """The dialect to compile a direct statement with: on psycopg, libpq's numbered
    placeholders (`$1`) instead of psycopg's named ones (`%(name)s`), so that the
    arguments are picked in order in one C call and go to libpq as they come; the same
    SQL otherwise. A copy of the dialect used only to compile: values are converted with
    the dialect's own types."""
    if not _on_libpq(dialect):
        return dialect
    twin = _POSITIONAL.get(dialect)
    if twin is None:
        twin = copy.copy(dialect)
        twin.paramstyle, twin.positional = "numeric_dollar", True
        _POSITIONAL[dialect] = twin
    return twin


def _picker(order: Sequence[str]) -> Any:
    """A function of the values giving the tuple of those named in `order`, in order."""
    if not order:
        return lambda _: ()
    if len(order) == 1:  # itemgetter of one name gives the value itself
        only = order[0]
        return lambda values: (values[only],)
    return itemgetter(*order)


class Direct:
    """A hot-path statement: compiled once per dialect, executed on the DBAPI cursor (on
    psycopg, on libpq: `engine.store.wire`)."""

    def __init__(self, statement: Any, keys: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._keys = list(keys) if keys is not None else None
        self._prepared: weakref.WeakKeyDictionary[Any, _Prepared] = (
            weakref.WeakKeyDictionary())
        self._last: tuple[weakref.ref[Any], _Prepared] | None = None

    def _for(self, dialect: Any) -> _Prepared:
        last = self._last  # one engine per process, as a rule: its dialect's, at once
        if last is not None and last[0]() is dialect:
            return last[1]
        found = self._prepared.get(dialect)
        if found is None:  # two threads may both compile: the same result either way
            found = self._prepared[dialect] = _Prepared(self._statement, dialect, self._keys)
        self._last = (weakref.ref(dialect), found)
        return found

    def _execute(self, pooled: Any, dialect: Any, params: Mapping[str, Any],
                 begin: bool = True) -> tuple[Any, _Prepared]:
        """Run the statement on `pooled`'s driver connection: the cursor it ran on, or on
        psycopg (`prepared.wire`) libpq's result with the connection's wire session.
        With `begin`, psycopg's transaction is opened as its cursor would open it."""
        prepared = self._for(dialect)
        args = prepared.arguments(params)
        if prepared.wire is not None:
            driver = pooled.dbapi_connection
            if driver is None:
                raise sa.exc.ResourceClosedError("the connection is closed")
            try:
                state = _WIRE.session(pooled, driver)
                return (state, _WIRE.run(state, prepared, prepared.wire, args,
                                         prepared.formats, begin)), prepared
            except prepared.error as error:
                raise sa.exc.DBAPIError.instance(prepared.sql, args, error, prepared.error,
                                                 dialect=dialect) from error
        driver = pooled.dbapi_connection
        if driver is None:
            raise sa.exc.ResourceClosedError("the connection is closed")
        cursor = driver.cursor()
        try:
            cursor.execute(prepared.sql, args)
        except prepared.error as error:
            cursor.close()
            raise sa.exc.DBAPIError.instance(prepared.sql, args, error, prepared.error,
                                             dialect=dialect) from error
        return cursor, prepared

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The selected rows as dicts, values converted as a Core execute would."""
        ran, prepared = self._execute(connection.connection, connection.dialect, params)
        return _fetched(ran, prepared, connection.dialect)

    def first(self, connection: Connection, params: Mapping[str, Any]
              ) -> dict[str, Any] | None:
        found = self.rows(connection, params)
        return found[0] if found else None

    def first_alone(self, engine: sa.Engine, params: Mapping[str, Any]
                    ) -> dict[str, Any] | None:
        """`first`, run as a statement of its own on a connection of `engine`'s pool.

        No transaction around it: on PostgreSQL the statement is sent alone on a
        connection outside a transaction (the server commits it by itself), one round trip
        where a transaction takes three (BEGIN, the statement, ROLLBACK); SQLite's driver
        here never opens one itself. The connection is checked out and returned without a
        `Connection` around it, whose set-up and reset on return cost more than the
        statement. Failures are SQLAlchemy's errors, as from `first` (a connection that
        cannot be made too)."""
        dialect = engine.dialect
        try:
            pooled = engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:  # what `engine.connect()` raises
            raise sa.exc.DBAPIError.instance(None, None, error, dialect.loaded_dbapi.Error,
                                             dialect=dialect) from error
        try:
            ran, prepared = self._execute(pooled, dialect, params, begin=False)
            found = _fetched(ran, prepared, dialect)
        finally:
            pooled.close()
        return found[0] if found else None

    def write(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it matched."""
        ran, prepared = self._execute(connection.connection, connection.dialect, params)
        if prepared.wire is not None:
            count = ran[1].command_tuples
            return -1 if count is None else int(count)
        try:
            return int(ran.rowcount)
        finally:
            ran.close()


def _fetched(ran: Any, prepared: _Prepared, dialect: Any) -> list[dict[str, Any]]:
    """The rows of the statement `ran` (a cursor; a wire session and result) as dicts,
    values converted."""
    try:
        if prepared.wire is not None:
            fetched, kinds = _WIRE.load(*ran)
            converting = prepared.converters(kinds)
        else:
            try:
                fetched = ran.fetchall()
                converting = prepared.converting if prepared.results is not None \
                    else prepared.converters([entry[1] for entry in ran.description])
            finally:
                ran.close()
    except prepared.error as error:
        raise sa.exc.DBAPIError.instance(prepared.sql, None, error, prepared.error,
                                         dialect=dialect) from error
    columns = prepared.columns
    out = []
    for raw in fetched:
        row = dict(zip(columns, raw, strict=True))
        for name, index, convert in converting:
            row[name] = convert(raw[index])
        out.append(row)
    return out


class ByShape:
    """Direct statements made on demand for each shape (value keys, list length)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._made: dict[Any, Direct] = {}

    def __getitem__(self, shape: Any) -> Direct:
        found = self._made.get(shape)
        if found is None:
            found = self._made[shape] = self._make(shape)
        return found


def listed(name: str, count: int) -> list[sa.BindParameter[Any]]:
    """`count` plain bind parameters `name0, name1, ...` (an IN list of fixed length)."""
    return [sa.bindparam(f"{name}{i}") for i in range(count)]


def numbered(name: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{name}{i}": value for i, value in enumerate(values)}
