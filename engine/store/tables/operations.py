"""The operations log (actions that are not changes of a case, hash-chained) and the
official calendar's holiday notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store.tables.columns import BigId, Community, JSONType
from engine.store.tables.columns import utc as _utc

__all__ = ["CalendarNotice", "Operation", "OperationsLogHead"]


class Operation(SQLModel, table=True):
    """An action that is not a change of a case (an export, a verification, a token, a
    definition, a refused attempt): who, what, on what, when. Append-only (migration 0006)."""

    __tablename__ = "operations"
    __table_args__ = (
        sa.Index("ix_operations_at", "at"),
        sa.Index("ix_operations_actor_at", "actor", "at"),
        sa.Index("ix_operations_request_id", "request_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    at: datetime = Field(sa_column=_utc())
    actor: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    outcome: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    target: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    community: str | None = Field(default=None, sa_column=sa.Column(Community))
    detail: dict[str, Any] = Field(sa_column=sa.Column(JSONType, nullable=False))
    # The HTTP request the entry was made for (X-Request-ID); migration 0030.
    request_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    # The chain over the log (engine/ledger/oplog.py); migration 0008_operations_chain.
    prev_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))


class OperationsLogHead(SQLModel, table=True):
    """The one row that guards the end of the operations log's chain: how many entries, the
    last one's id and hash, sealed with the chain key. Writers lock it before appending, so
    the chain cannot fork (migration 0008_operations_chain)."""

    __tablename__ = "operations_head"

    id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    entries: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    head_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    head_seal: str | None = Field(default=None, sa_column=sa.Column(sa.String(80)))


class CalendarNotice(SQLModel, table=True):
    """A year's official holiday notice imported by an operator (`hatchery calendar import`):
    the days off and the weekend days worked, as ISO dates. One row per year; importing a
    corrected notice replaces it (each import is in the operations log). Migration 0025."""

    __tablename__ = "calendar_notices"

    year: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    notice: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    days_off: list[str] = Field(sa_column=sa.Column(JSONType, nullable=False))
    working_days: list[str] = Field(sa_column=sa.Column(JSONType, nullable=False))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    imported_at: datetime = Field(sa_column=_utc())
    imported_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
