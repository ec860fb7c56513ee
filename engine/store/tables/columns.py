"""The column types every table uses: aware UTC datetimes (`UTCDateTime`), JSON (JSONB on
PostgreSQL), 64-bit ids, and community paths in byte order (for prefix range scans)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

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


JSONType = sa.JSON(none_as_null=True)
# JSONB on PostgreSQL (migrations 0040 for cases, 0041 for events), JSON text on SQLite.
JSONDoc = JSONType.with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Community = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def utc() -> sa.Column[Any]:
    return sa.Column(UTCDateTime(), nullable=False)
