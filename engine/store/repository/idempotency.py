"""Idempotency records: the first result of a request under its key, written in the
transaction of the change it answers for (`engine.service.idempotency` decides)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from engine.store.direct import ByShape, Direct
from engine.store.tables import IDEMPOTENCY as idempotency

__all__ = ["find_idempotency", "insert_idempotency"]

_direct_idempotency = Direct(sa.select(idempotency).where(
    idempotency.c.key == sa.bindparam("key")))
_direct_insert_idempotency = ByShape(lambda keys: Direct(idempotency.insert().inline(), keys))


def find_idempotency(connection: Connection, key: str) -> dict[str, Any] | None:
    return _direct_idempotency.first(connection, {"key": key})


def insert_idempotency(connection: Connection, values: Mapping[str, Any]) -> None:
    _direct_insert_idempotency[tuple(sorted(values))].write(connection, values)
