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

import sqlalchemy as sa
from sqlmodel import SQLModel

from engine.store.tables.cases import (
    CASE_STATUSES,
    EVENT_FIELDS,
    EVENT_KINDS,
    TIMER_STATUSES,
    Case,
    CaseLink,
    ChecklistTick,
    CommunityParameter,
    Event,
    IdempotencyRecord,
    Timer,
    WorkflowDefinition,
)
from engine.store.tables.columns import BigId, Community, JSONDoc, JSONType, UTCDateTime
from engine.store.tables.operations import CalendarNotice, Operation, OperationsLogHead
from engine.store.tables.people import ApiToken, ConsoleSession, SavedFilter, User

__all__ = [
    "CALENDAR_NOTICES",
    "CASES",
    "CASE_STATUSES",
    "DEFINITIONS",
    "EVENTS",
    "EVENT_FIELDS",
    "EVENT_KINDS",
    "IDEMPOTENCY",
    "LINKS",
    "OPERATIONS",
    "OPERATIONS_HEAD",
    "PARAMETERS",
    "SAVED_FILTERS",
    "SESSIONS",
    "TICKS",
    "TIMERS",
    "TIMER_STATUSES",
    "TOKENS",
    "USERS",
    "ApiToken",
    "BigId",
    "CalendarNotice",
    "Case",
    "CaseLink",
    "ChecklistTick",
    "Community",
    "CommunityParameter",
    "ConsoleSession",
    "Event",
    "IdempotencyRecord",
    "JSONDoc",
    "JSONType",
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
