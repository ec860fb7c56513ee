"""Cases: starting one, reading it, its events, a change's result."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.base import CASE_ID_EXAMPLE, COMMUNITY_EXAMPLE, Body, Public


class CaseCreate(Body):
    """Start a case of a workflow with its initial data."""

    workflow_id: str = Field(max_length=64, description="The workflow to run.")
    version: str | None = Field(default=None, max_length=64,
                                description="A version; default: the latest.")
    data: dict[str, Any] = Field(default_factory=dict, description="Initial field values.")
    community: str | None = Field(
        default=None, max_length=700,
        description="Where the case belongs; default: the token's community. Must lie within "
                    "the token's scope.")
    comment: str | None = Field(default=None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "workflow_id": "social_org_incubation", "community": COMMUNITY_EXAMPLE,
        "data": {"name": "Jinzhou elderly care volunteers", "residents_need": "elderly care",
                 "has_party_organization": True, "contact_phone": "13800138000"},
        "comment": "proposed at the residents' meeting"}]})


class CasePublic(Public):
    """A case as the caller may see it (sensitive fields masked without `pii`)."""

    id: str
    workflow_id: str
    workflow_version: str
    state: str
    state_title: str
    status: str = Field(description="active, suspended or closed")
    outcome: str | None = None
    data: dict[str, Any]
    value_titles: dict[str, str] = Field(
        default_factory=dict,
        description="Enumerated values of `data` as people read them, in the caller's language.")
    version: int = Field(description="Send it back as If-Match when changing the case.")
    community: str
    title: str | None = None
    priority: float | None = None
    overdue: bool = False
    entered_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    checklist: dict[str, dict[str, Any]] = Field(default_factory=dict)
    links: list[dict[str, Any]] = Field(default_factory=list)
    assignee: str | None = Field(default=None, description="The responsible person (责任人): "
                                 "a sign-in name; null when nobody is.")
    follow_up_on: date | None = Field(default=None, description="The day the responsible "
                                      "person means to follow the case up.")
    escalated: bool = Field(default=False, description="Escalated (督办) since it entered its "
                            "current stage: a timer with action `escalate`, or a person, "
                            "raised it; leaving the stage clears it.")
    escalated_at: datetime | None = Field(default=None, description="When it was last "
                                          "escalated in its current stage.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": CASE_ID_EXAMPLE, "workflow_id": "social_org_incubation",
        "workflow_version": "1.0.0", "state": "selection", "state_title": "Selection",
        "status": "active", "outcome": None,
        "data": {"name": "Jinzhou elderly care volunteers", "contact_phone": "***********"},
        "version": 1, "community": COMMUNITY_EXAMPLE, "title": "Jinzhou elderly care volunteers",
        "priority": 2.0, "overdue": False, "entered_at": "2026-07-01T01:00:00Z",
        "created_at": "2026-07-01T01:00:00Z", "updated_at": "2026-07-01T01:00:00Z",
        "checklist": {}, "links": [], "escalated": False, "escalated_at": None}]})


class CasesPublic(Public):
    data: list[CasePublic]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for more.")


class EventPublic(Public):
    """One entry of a case's append-only, hash-chained history."""

    case_id: str
    seq: int
    kind: str
    workflow_id: str
    workflow_version: str
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    actor: str
    role: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    changes: dict[str, Any] = Field(default_factory=dict,
                                    description="Case fields the change set, new values.")
    comment: str | None = None
    at: datetime
    prev_hash: str
    hash: str

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": CASE_ID_EXAMPLE, "seq": 2, "kind": "transition",
        "workflow_id": "social_org_incubation", "workflow_version": "1.0.0",
        "trigger": "select", "from_state": "selection", "to_state": "confirmation",
        "actor": "wang.li", "role": "party_committee", "input": {"not_on_abnormal_lists": True},
        "changes": {}, "comment": None, "at": "2026-07-02T02:00:00Z", "prev_hash": "3f1a…",
        "hash": "9be0…"}]})


class EventsPublic(Public):
    data: list[EventPublic]
    next_cursor: str | None = None


class FireRequest(Body):
    """Fire a trigger on a case."""

    trigger: str = Field(min_length=1, max_length=64)
    input: dict[str, Any] = Field(default_factory=dict,
                                  description="Values of the transition's input fields.")
    comment: str | None = Field(default=None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "trigger": "select", "input": {"not_on_abnormal_lists": True},
        "comment": "chosen at the committee meeting of 2 July"}]})


class FireResultPublic(Public):
    """The case after the change, the event written, and automatic steps that followed."""

    case: CasePublic
    event: EventPublic
    automatic: list[EventPublic] = Field(default_factory=list)
    replayed: bool = Field(description="True when an Idempotency-Key matched an earlier "
                                       "request: nothing new was written.")
