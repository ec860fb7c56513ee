"""The stored shape of everything: SQLModel tables (the schema Alembic migrations build).

The database is the truth. A case row holds the current state, data and version counter
plus the head of its hash chain; events are the append-only history (the database itself
refuses UPDATE and DELETE on them, see the first migration); timers, checklist ticks,
links and idempotency records are rows written in the same transaction as the change they
belong to. The console's people (users, their server-side sessions, saved filters) are here
too; a user has what a token has (roles, scope, permissions) plus an Argon2 password hash.

Timestamps are stored in UTC (`UTCDateTime`) and always read back timezone-aware, on SQLite
too, so that a stored event hashes exactly as it did when it was written.

Communities are paths, district > street > community (`fuzhou/cangshan/jinshan/jinzhou`),
so scoping to an area is a prefix match; `cases.community` is indexed for it (on
PostgreSQL with the byte-order "C" collation, so that a range scan works whatever the
database's locale).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

__all__ = [
    "CALENDAR_NOTICES",
    "CASES",
    "DEFINITIONS",
    "EVENTS",
    "IDEMPOTENCY",
    "LINKS",
    "OPERATIONS",
    "OPERATIONS_HEAD",
    "PARAMETERS",
    "SAVED_FILTERS",
    "SESSIONS",
    "TICKS",
    "TIMERS",
    "TOKENS",
    "USERS",
    "ApiToken",
    "CalendarNotice",
    "Case",
    "CaseLink",
    "ChecklistTick",
    "CommunityParameter",
    "ConsoleSession",
    "Event",
    "IdempotencyRecord",
    "Operation",
    "OperationsLogHead",
    "SavedFilter",
    "Timer",
    "UTCDateTime",
    "User",
    "WorkflowDefinition",
    "metadata",
    "table_of",
]

EVENT_KINDS = ("start", "transition", "checklist_tick", "checklist_untick", "link", "unlink",
               "suspend", "resume", "migration", "overdue", "escalation", "timer_refused",
               "assignment", "follow_up")
"""Every kind of event the door writes (`/events?kind=` accepts these)."""
EVENT_FIELDS = ("case_id", "seq", "kind", "workflow_id", "workflow_version", "trigger",
                "from_state", "to_state", "actor", "role", "input", "changes", "comment",
                "at")
"""The event columns that make up its hashed body (the door writes them, verify and the
history read them back)."""
CASE_STATUSES = ("active", "suspended", "closed")
TIMER_STATUSES = ("pending", "paused", "claimed", "fired", "cancelled")


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


def _utc() -> sa.Column[Any]:
    return sa.Column(UTCDateTime(), nullable=False)


class WorkflowDefinition(SQLModel, table=True):
    """Every version of every workflow ever loaded, with its text and content hash."""

    __tablename__ = "workflow_definitions"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    version: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    source_text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    source_path: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    loaded_at: datetime = Field(sa_column=_utc())
    retired_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    retired_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))


class Case(SQLModel, table=True):
    """One case: where it stands now, and the head of its history."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.ForeignKeyConstraint(["workflow_id", "workflow_version"],
                                ["workflow_definitions.id", "workflow_definitions.version"],
                                name="fk_cases_workflow"),
        sa.CheckConstraint("status IN ('active', 'suspended', 'closed')",
                           name="ck_cases_status"),
        sa.Index("ix_cases_community", "community"),
        sa.Index("ix_cases_workflow_state", "workflow_id", "state"),
        sa.Index("ix_cases_queue", "priority", "created_at"),
        sa.Index("ix_cases_updated", "updated_at"),
        sa.Index("ix_cases_assignee", "assignee"),
        sa.Index("ix_cases_follow_up", "follow_up_on"),
        sa.Index("ix_cases_next_due", "next_due"),
        sa.Index("ix_cases_search", "status", "community", "title", "id"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    workflow_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    workflow_version: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    outcome: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    data: dict[str, Any] = Field(sa_column=sa.Column(JSONDoc, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    community: str = Field(sa_column=sa.Column(Community, nullable=False))
    title: str | None = Field(default=None, sa_column=sa.Column(sa.String(400)))
    priority: float = Field(sa_column=sa.Column(sa.Float(), nullable=False))
    overdue: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    entered_at: datetime = Field(sa_column=_utc())
    # state id -> seq of the event that entered it, for the current state and its
    # ancestors: a checklist tick counts only for the entry it was made in.
    state_entries: dict[str, int] = Field(sa_column=sa.Column(JSONDoc, nullable=False))
    head_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event_count: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    head_seal: str | None = Field(default=None, sa_column=sa.Column(sa.String(80)))
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())
    # The responsible person (a sign-in name; None: unassigned) and the day they mean to
    # follow up: changed only through the door (`assign`, `follow_up`), both recorded.
    assignee: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    follow_up_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date()))
    # The soonest pending timer's due time (None: no timer is pending). Derived from the
    # timers, kept equal to them by the door (`engine.service.deadlines`, migration 0007):
    # the locked read of a change learns from it whether a timer fell due before it.
    next_due: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class Event(SQLModel, table=True):
    """One change of one case; append-only, chained by hash. `body` is what was hashed."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        sa.Index("ix_events_actor_at", "actor", "at"),
        sa.Index("ix_events_workflow_at", "workflow_id", "at"),
        sa.Index("ix_events_at", "at"),
        sa.Index("ix_events_workflow_state_case", "workflow_id", "to_state", "case_id", "seq",
                 "at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    case_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("cases.id"),
                                             nullable=False))
    seq: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    workflow_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    workflow_version: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    trigger: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    from_state: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    to_state: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    actor: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    role: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    input: dict[str, Any] = Field(sa_column=sa.Column(JSONDoc, nullable=False))
    changes: dict[str, Any] = Field(sa_column=sa.Column(JSONDoc, nullable=False))
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    at: datetime = Field(sa_column=_utc())
    prev_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    body: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))


class ChecklistTick(SQLModel, table=True):
    """A ticked checklist item of one entry into its state (re-entering starts afresh)."""

    __tablename__ = "checklist_ticks"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "state", "entry_seq", "item",
                            name="uq_checklist_ticks_item"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    case_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("cases.id"),
                                             nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    entry_seq: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    item: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    evidence: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    actor: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    at: datetime = Field(sa_column=_utc())


class CaseLink(SQLModel, table=True):
    """Two cases that belong together; stored once, seen from both sides."""

    __tablename__ = "case_links"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_links_pair"),
        sa.CheckConstraint("case_id <> other_case_id", name="ck_case_links_not_self"),
        sa.Index("ix_case_links_other", "other_case_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    case_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("cases.id"),
                                             nullable=False))
    other_case_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("cases.id"),
                                                   nullable=False))
    relation: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_at: datetime = Field(sa_column=_utc())


class Timer(SQLModel, table=True):
    """A deadline armed for a case in a state. Rows only; firing lives in `engine.timers.worker`.

    `remaining_seconds` holds what was left when the case was suspended (status `paused`);
    resuming re-arms the timer that much later.
    """

    __tablename__ = "timers"
    __table_args__ = (
        sa.Index("ix_timers_due", "status", "due_at"),
        sa.Index("ix_timers_case", "case_id", "status"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    case_id: str = Field(sa_column=sa.Column(sa.String(32), sa.ForeignKey("cases.id"),
                                             nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    timer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    due_at: datetime = Field(sa_column=_utc())
    action: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    trigger: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    repeat: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    remaining_seconds: float | None = Field(default=None, sa_column=sa.Column(sa.Float()))
    claimed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    claimed_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    fired_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    outcome: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    created_at: datetime = Field(sa_column=_utc())


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a request made with an idempotency key; the key is unique."""

    __tablename__ = "idempotency_records"

    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    actor: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    operation: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    fingerprint: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    case_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    response: dict[str, Any] = Field(sa_column=sa.Column(JSONType, nullable=False))
    created_at: datetime = Field(sa_column=_utc())


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


class CommunityParameter(SQLModel, table=True):
    """A parameter value overridden for a community and everything under it.

    `community` is a path prefix; the empty string overrides for every community. The
    most specific (longest) matching prefix wins. Added by the second migration.
    """

    __tablename__ = "community_parameters"
    __table_args__ = (
        sa.UniqueConstraint("community", "workflow_id", "name",
                            name="uq_community_parameters"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True,
                                                             autoincrement=True))
    community: str = Field(sa_column=sa.Column(Community, nullable=False))
    workflow_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    value: Any = Field(sa_column=sa.Column(JSONType, nullable=False))
    updated_at: datetime = Field(sa_column=_utc())


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


metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table a SQLModel class declares, typed as one (SQLModel sets `__table__`
    without declaring it, which would cost every reader a `type: ignore`)."""
    return metadata.tables[str(model.__tablename__)]


CASES = table_of(Case)
EVENTS = table_of(Event)
TICKS = table_of(ChecklistTick)
LINKS = table_of(CaseLink)
TIMERS = table_of(Timer)
IDEMPOTENCY = table_of(IdempotencyRecord)
PARAMETERS = table_of(CommunityParameter)
DEFINITIONS = table_of(WorkflowDefinition)
OPERATIONS = table_of(Operation)
OPERATIONS_HEAD = table_of(OperationsLogHead)
TOKENS = table_of(ApiToken)
USERS = table_of(User)
SESSIONS = table_of(ConsoleSession)
SAVED_FILTERS = table_of(SavedFilter)
CALENDAR_NOTICES = table_of(CalendarNotice)
