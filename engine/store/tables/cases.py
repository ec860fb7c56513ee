"""Cases and what belongs to them: workflow definitions, case rows, their events,
checklist ticks, links, timers, idempotency records and community parameters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store.tables.columns import BigId, Community, JSONDoc, JSONType, UTCDateTime
from engine.store.tables.columns import utc as _utc

__all__ = ["CASE_STATUSES", "EVENT_FIELDS", "EVENT_KINDS", "TIMER_STATUSES", "Case", "CaseLink",
           "ChecklistTick", "CommunityParameter", "Event", "IdempotencyRecord", "Timer",
           "WorkflowDefinition"]

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
