"""People and their access: API tokens, console users, their server-side sessions and
saved filters."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store.tables.columns import BigId, Community, JSONType, UTCDateTime
from engine.store.tables.columns import utc as _utc

__all__ = ["ApiToken", "ConsoleSession", "SavedFilter", "User"]


class ApiToken(SQLModel, table=True):
    """An API token, stored as a hash, with its roles, community scope and permissions."""

    __tablename__ = "api_tokens"

    id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    token_hash: str = Field(sa_column=sa.Column(sa.String(128), nullable=False, unique=True))
    roles: list[str] = Field(sa_column=sa.Column(JSONType, nullable=False))
    community: str = Field(sa_column=sa.Column(Community, nullable=False))
    permissions: list[str] = Field(sa_column=sa.Column(JSONType, nullable=False))
    created_at: datetime = Field(sa_column=_utc())
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class User(SQLModel, table=True):
    """A person who signs in to the console."""

    __tablename__ = "users"

    id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    display_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    roles: list[str] = Field(sa_column=sa.Column(JSONType, nullable=False))
    community: str = Field(sa_column=sa.Column(Community, nullable=False))
    permissions: list[str] = Field(sa_column=sa.Column(JSONType, nullable=False))
    must_change_password: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    failed_attempts: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    last_failed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    locked_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    disabled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    password_changed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser: ended by signing out, by idling, or by disabling the person."""

    __tablename__ = "console_sessions"
    __table_args__ = (sa.Index("ix_console_sessions_user", "user_id"),)

    id_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    user_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("users.id"),
                                             nullable=False))
    csrf_token: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class SavedFilter(SQLModel, table=True):
    """A work-queue filter a person saved under a name of their own."""

    __tablename__ = "saved_filters"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_saved_filters_name"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    user_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("users.id"),
                                             nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    query: str = Field(sa_column=sa.Column(sa.String(1000), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
