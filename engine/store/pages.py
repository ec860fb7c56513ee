"""Keyset pagination, the one way every listing pages: a page continues strictly after the
last row of the previous one in an order by columns that identify a row, so a page costs
the same wherever it is in the list and rows written meanwhile neither repeat nor vanish.

The cursor a client gets back is opaque (base64 of the JSON of the last row's keys) and
checked when it comes back: a cursor this code did not produce is a `CursorError`, never a
query on values of the wrong type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.language import untrusted

__all__ = ["CursorError", "Keyset", "cut", "decode_cursor", "encode_cursor"]


class CursorError(ValueError):
    """A pagination cursor that this code did not produce."""


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
        return [_typed(value, kind) for value, kind in zip(values, kinds, strict=True)]
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as error:
        raise CursorError(str(error)) from error


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or untrusted.utc_instant(parsed) is None:
            raise ValueError("naive time or out of range")
        return parsed
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a number")
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError("wrong type")
    return value


def cut(rows: list[RowMapping], limit: int, keys_of: Callable[[RowMapping], Sequence[Any]]
        ) -> tuple[list[RowMapping], str | None]:
    """A page of `limit` rows (of up to `limit + 1` read) and the cursor after its last
    row (None when no row follows)."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(keys_of(rows[limit - 1]))


@dataclass(frozen=True)
class Keyset:
    """A listing's order: columns that together identify a row, all ascending or all
    descending, with the types their values have in a cursor."""

    columns: tuple[sa.Column[Any], ...]
    kinds: tuple[type, ...]
    descending: bool = False

    def after(self, values: Sequence[Any]) -> sa.ColumnElement[bool]:
        """Rows strictly after the row whose keys are `values`, in this order:
        `a > x OR (a = x AND (b > y OR ...))` (row values compare alike on neither
        database's indexes)."""
        pairs = list(zip(self.columns, values, strict=True))
        column, value = pairs[-1]
        found = self._beyond(column, value)
        for column, value in reversed(pairs[:-1]):
            found = sa.or_(self._beyond(column, value), sa.and_(column == value, found))
        return found

    def _beyond(self, column: sa.Column[Any], value: Any) -> sa.ColumnElement[bool]:
        beyond: sa.ColumnElement[bool] = column < value if self.descending else column > value
        return beyond

    def order(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.order_by(*(c.desc() if self.descending else c for c in self.columns))

    def keys_of(self, row: Mapping[Any, Any]) -> list[Any]:
        return [row[c.key] for c in self.columns]

    def read(self, connection: Connection, query: sa.Select[Any], count: int,
             after: Sequence[Any] | None) -> list[RowMapping]:
        """Up to `count` rows of `query` in this order, after the keys `after`."""
        if after is not None:
            query = query.where(self.after(after))
        return list(connection.execute(self.order(query).limit(count)).mappings())

    def page(self, connection: Connection, query: sa.Select[Any], limit: int,
             cursor: str | None) -> tuple[list[RowMapping], str | None]:
        """A page of `query` after `cursor` (from the start without one) and the cursor of
        the next page."""
        after = decode_cursor(cursor, self.kinds) if cursor is not None else None
        return cut(self.read(connection, query, limit + 1, after), limit, self.keys_of)
