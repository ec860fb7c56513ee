"""The column types every table uses: aware UTC datetimes (`UTCDateTime`), JSON (JSONB on
PostgreSQL), 64-bit ids, and community paths in byte order (for prefix range scans)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, processors

from engine.ledger.hashing import utc_text

__all__ = ["BigId", "Community", "JSONDoc", "JSONType", "UTCDateTime", "utc"]


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive datetimes are refused, never guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store the naive datetime {value.isoformat()}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """SQLAlchemy's conversion (`process_bind_param`, then the dialect's), as one
        function when the dialect writes SQLite's default text: every change writes two
        or three of these columns, and `datetime.replace(tzinfo=None)` costs more than
        the formatting."""
        if getattr(self.impl_instance, "_storage_format", None) == _SQLITE_STORED:
            return _utc_iso_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """SQLAlchemy's conversion (the dialect's, then `process_result_value`), as one
        function when the dialect's is SQLite's ISO text parser (`str_to_datetime`):
        every change reads three or four of these columns."""
        if self.impl_instance.result_processor(dialect, coltype) is processors.str_to_datetime:
            return _utc_from_iso_text
        return super().result_processor(dialect, coltype)


_from_iso = datetime.fromisoformat
_SQLITE_STORED = ("%(year)04d-%(month)02d-%(day)02d "
                  "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d")
"""SQLAlchemy's default storage format of a SQLite DATETIME."""


def _utc_iso_text(value: datetime | None) -> str | None:
    """The dialect's `_SQLITE_STORED % ...` of `UTCDateTime.process_bind_param(value)`,
    in one call (the same text, the same refusal of a naive datetime)."""
    if value is None:
        return None
    if type(value) is not datetime or value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store the naive datetime {value.isoformat()}")
        value = value.astimezone(UTC)
        if type(value) is not datetime:  # a subclass may write its own isoformat
            return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
                    f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
                    f"{value.microsecond:06d}")
    return utc_text(value)  # the text the hash chain writes too (`T` and `Z` aside)


def _utc_from_iso_text(value: str | None) -> datetime | None:
    """`UTCDateTime.process_result_value(str_to_datetime(value))`, in one call.

    The text SQLAlchemy stores (`YYYY-MM-DD HH:MM:SS.ffffff`, 26 characters, naive UTC)
    is read with its zone appended: `datetime.replace(tzinfo=...)` costs several times
    the parse. Text that is not naive cannot take a second offset, so it fails there and
    is read as before."""
    if value is None:
        return None
    if type(value) is str and len(value) == 26:
        try:
            return _from_iso(value + "+00:00")
        except ValueError:
            pass
    moment = _from_iso(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


JSONType = sa.JSON(none_as_null=True)
# JSONB on PostgreSQL (migrations 0040 for cases, 0041 for events), JSON text on SQLite.
JSONDoc = JSONType.with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Community = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def utc() -> sa.Column[Any]:
    return sa.Column(UTCDateTime(), nullable=False)
