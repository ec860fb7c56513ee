"""A condition on an event's recorded input as SQL that cannot fail on any row.

`input ->> 'x'` cast to a number fails on PostgreSQL as soon as one scanned row recorded
`x` as text (the whole query fails, and nothing says which row); SQLite compares across
types without failing but by its own type order. So each comparison reads the value only
where the JSON holds the kind the condition compares (`jsonb_typeof` on PostgreSQL,
`json_type` on SQLite) and NULL elsewhere, which matches nothing: a number condition never
matches text, a text condition never a number, true never "true".
"""

from __future__ import annotations

import operator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.audit.filters import InputCondition

_OPERATORS = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
              "<": operator.lt, "<=": operator.le}


class _InputValue(FunctionElement[Any]):
    """`column`'s member `key` when it holds the JSON kind of the subclass, else NULL."""

    inherit_cache = True
    pg_kind = ""
    pg_cast = ""
    sqlite_kinds = ""


class _InputNumber(_InputValue):
    type = sa.Float()
    inherit_cache = True
    pg_kind, pg_cast, sqlite_kinds = "number", "::double precision", "'integer', 'real'"


class _InputBoolean(_InputValue):
    type = sa.Boolean()
    inherit_cache = True
    pg_kind, pg_cast, sqlite_kinds = "boolean", "::boolean", "'true', 'false'"


class _InputText(_InputValue):
    type = sa.String()
    inherit_cache = True
    pg_kind, pg_cast, sqlite_kinds = "string", "", "'text'"


def _parts(element: _InputValue, compiler: SQLCompiler, **kw: Any) -> tuple[str, str, str]:
    column, key, path = list(element.clauses)
    return (compiler.process(column, **kw), compiler.process(key, **kw),
            compiler.process(path, **kw))


@compiles(_InputValue, "postgresql")
def _postgresql(element: _InputValue, compiler: SQLCompiler, **kw: Any) -> str:
    column, key, _ = _parts(element, compiler, **kw)
    return (f"CASE WHEN jsonb_typeof(({column})::jsonb -> {key}) = '{element.pg_kind}' "
            f"THEN (({column})::jsonb ->> {key}){element.pg_cast} END")


@compiles(_InputValue)
def _sqlite(element: _InputValue, compiler: SQLCompiler, **kw: Any) -> str:
    column, _, path = _parts(element, compiler, **kw)
    return (f"CASE WHEN json_type({column}, {path}) IN ({element.sqlite_kinds}) "
            f"THEN json_extract({column}, {path}) END")


def input_value(column: Any, field: str, value: object) -> sa.ColumnElement[Any]:
    """The member `field` of the JSON `column`, of the kind of `value`, or NULL."""
    kind: type[_InputValue]
    if isinstance(value, bool):
        kind = _InputBoolean
    elif isinstance(value, int | float):
        kind = _InputNumber
    else:
        kind = _InputText
    return kind(column, sa.literal(field, sa.String()),
                sa.literal(f'$."{field}"', sa.String()))


def input_match(column: Any, condition: InputCondition) -> sa.ColumnElement[bool]:
    """`condition` on the JSON `column` (an event's input), typed by its value."""
    compare = _OPERATORS[condition.op]
    found: sa.ColumnElement[bool] = compare(
        input_value(column, condition.field, condition.value), condition.value)
    return found
