"""Request and response models of the HTTP API, one naming family per resource
(`CaseCreate`, `CasePublic`, `CasesPublic`, ...), each with an example for the docs.

Responses are built from the engine's views by the routes; nothing here touches the store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CASE_ID_EXAMPLE = "c_01HZY3K8Q4W6V2M9T7B5N1D0FA"
COMMUNITY_EXAMPLE = "fuzhou/cangshan/jinshan/jinzhou"
MAX_ID = 200


class Body(BaseModel):
    """Base of request bodies: unknown keys are errors, so a typo is not silently lost."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """Base of response bodies."""


# ---- problems -------------------------------------------------------------------------


class FieldError(Public):
    field: str = Field(description="The field, header or query parameter at fault.")
    in_: str = Field(default="body", alias="in", description="body, query, path or header")
    code: str = Field(description="Stable machine code of the problem.")
    message: str = Field(description="Human message in the caller's language.")

    model_config = ConfigDict(populate_by_name=True)


class DiagnosticPublic(Public):
    """One problem in a workflow definition, located as the command line reports it."""

    path: str
    line: int
    column: int
    severity: Literal["error", "warning"] | str
    code: str
    message: str

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "path": "social_org_incubation.yaml", "line": 12, "column": 5, "severity": "error",
        "code": "unknown_state", "message": "transition 'select' goes to unknown state 'x'"}]})


class Problem(Public):
    """RFC 9457 problem details; `code` is stable, `title`/`detail` follow Accept-Language."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="Per-field problems (422).")
    current_version: int | None = Field(default=None, description="The case's version (409, 412).")
    required_roles: list[str] | None = Field(default=None, description="Roles that would do (403).")
    missing: list[str] | None = Field(default=None, description="Checklist items not ticked.")
    current_state: str | None = None
    diagnostics: list[DiagnosticPublic] | None = None

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "urn:hatchery:problem:conflict", "title": "Conflict", "status": 409,
        "detail": "the case is at version 4, not 3: read it again and retry",
        "code": "conflict", "instance": f"/api/v1/cases/{CASE_ID_EXAMPLE}/events",
        "current_version": 4}]})


# ---- workflows ------------------------------------------------------------------------


class FieldPublic(Public):
    """A typed field of a workflow or of a transition's input."""

    type: str
    title: str
    description: str | None = None
    required: bool = False
    sensitive: bool = False
    default: Any = None
    values: list[str] | None = None
    value_titles: dict[str, str] | None = Field(
        default=None, description="Each allowed value's title in the caller's language.")


class StatePublic(Public):
    id: str
    title: str
    description: str | None = None
    parent: str | None = None
    initial: bool = False
    final: bool = False
    outcome: str | None = None
    checklist: list[str] = Field(default_factory=list)
    checklist_titles: dict[str, str] = Field(
        default_factory=dict, description="Each checklist item's title in the caller's language.")


class TransitionPublic(Public):
    trigger: str
    title: str
    sources: list[str] = Field(description="States it leaves ('any': every non-final state).")
    to: str
    roles: list[str] = Field(description="Who may fire it; empty: any caseworker.")
    automatic: bool = False
    input: dict[str, FieldPublic] = Field(default_factory=dict)


class WorkflowSummary(Public):
    id: str
    version: str = Field(description="The latest version.")
    title: str
    description: str | None = None
    versions: list[str] = Field(description="Every registered version, oldest first.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "social_org_incubation", "version": "1.0.0", "title": "Social organization "
        "incubation", "description": None, "versions": ["1.0.0"]}]})


class RejectedDefinitionPublic(Public):
    """A file of the workflows folder that is not loaded, with every reason, located."""

    path: str
    diagnostics: list[DiagnosticPublic]


class WorkflowsPublic(Public):
    data: list[WorkflowSummary]
    count: int
    rejected: list[RejectedDefinitionPublic] = Field(
        default_factory=list,
        description="Files of the workflows folder that are not loaded (fix them and reload).")


class RetiredPublic(Public):
    """The versions a retirement took out of use (new cases no longer start on them)."""

    workflow_id: str
    versions: list[str]


class WorkflowPublic(WorkflowSummary):
    """One version of a definition: its fields, states and transitions, and its source."""

    content_hash: str
    roles: list[str]
    title_field: str | None = None
    fields: dict[str, FieldPublic]
    states: list[StatePublic]
    transitions: list[TransitionPublic]
    source_text: str = Field(description="The YAML as it was registered.")


class ValidationReport(Public):
    """What `hatchery validate` says about a definition, as data."""

    ok: bool
    workflow_id: str | None = None
    version: str | None = None
    diagnostics: list[DiagnosticPublic]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ok": False, "workflow_id": None, "version": None, "diagnostics": [{
            "path": "upload.yaml", "line": 3, "column": 10, "severity": "error",
            "code": "string_pattern_mismatch", "message": "version must look like 1.2.0"}]}]})


# ---- cases ----------------------------------------------------------------------------


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


class RefusalPublic(Public):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ActionPublic(Public):
    """A transition the caller may fire now, or one near but refused (why, in the caller's
    language), and the form to fill."""

    trigger: str
    title: str
    description: str | None = None
    allowed: bool
    refusal: RefusalPublic | None = Field(default=None, description="Why not now: the role, "
                                          "the condition, the checklist, or the case's "
                                          "status.")
    to: str | None = None
    to_title: str | None = None
    input_schema: dict[str, Any] = Field(description="JSON Schema of the input to send.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "trigger": "select", "title": "Select", "allowed": True, "refusal": None,
        "to": "confirmation", "to_title": "Confirmation", "input_schema": {
            "type": "object", "additionalProperties": False,
            "required": ["not_on_abnormal_lists"],
            "properties": {"not_on_abnormal_lists": {"type": "boolean",
                                                     "title": "Not on the lists"}}}}]})


class ActionsPublic(Public):
    """What may be done on a case now: the transitions a person may fire from its state
    (allowed, or near but refused, with why); automatic ones and those of other states are
    not listed."""

    case_id: str
    version: int
    state: str
    state_title: str
    status: str = Field(description="active, suspended or closed")
    actions: list[ActionPublic]


class ChecklistTick(Body):
    evidence: str | None = Field(default=None, max_length=4000,
                                 description="What shows the item is done.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "evidence": "room 203 of the community centre, agreement no. 2026-17"}]})


class LinkCreate(Body):
    case_id: str = Field(min_length=1, max_length=MAX_ID, description="The other case.")
    relation: str = Field(default="related", pattern=r"^[a-z][a-z0-9_]{0,63}$")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "case_id": CASE_ID_EXAMPLE, "relation": "member_of"}]})


class SuspendRequest(Body):
    reason: str = Field(min_length=1, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reason": "the organization asked for a pause during relocation"}]})


class AssignmentRequest(Body):
    """Who is responsible for the case from now on (null: nobody), and why."""

    assignee: str | None = Field(max_length=200)
    comment: str | None = Field(default=None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "assignee": "wang.li", "comment": "周老师调岗，由王丽接手"}]})


class FollowUpRequest(Body):
    """The day the responsible person means to follow the case up (null: none)."""

    on: date | None
    comment: str | None = Field(default=None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "on": "2026-03-16"}]})


class ResumeRequest(Body):
    comment: str | None = Field(default=None, max_length=4000)


# ---- health ---------------------------------------------------------------------------


class HealthPublic(Public):
    status: Literal["ok"]


class CalendarCoveragePublic(Public):
    """The years whose working days are known (the holidays package and imported notices);
    from December on, a warning when next year's notice is not loaded yet."""

    first_year: int
    last_year: int
    provisional_until: int
    imported: list[int]
    warning: str | None = None
    warning_zh: str | None = None


class ReplicaPublic(Public):
    """The streaming replica that auditors' reads may go to (DATABASE_READ_URL)."""

    database: str
    reachable: bool
    lag_seconds: float | None = Field(
        None, description="How far its replay is behind; null when it cannot be measured.")
    max_lag_seconds: float
    in_use: bool = Field(description="Whether reads go to it now (lag within the bound).")
    error: str | None = None


class ReadyPublic(Public):
    status: Literal["ready", "not_ready"]
    database: bool
    revision: str | None = None
    head: str | None = None
    rejected_definitions: list[RejectedDefinitionPublic] = Field(
        default_factory=list,
        description="Workflow files not loaded; the service runs with the others.")
    calendar: CalendarCoveragePublic | None = None
    guards_missing: list[str] = Field(
        default_factory=list,
        description="Append-only triggers of the history or the operations log that are "
                    "missing or disabled (the service is not ready while any is).")
    replica: ReplicaPublic | None = Field(
        None, description="The read replica, when one is configured: a replica that is "
                          "down or behind does not make the service unready (the primary "
                          "answers its reads).")


class TimerPublic(Public):
    """A deadline, reminder or periodic review of a case, as stored."""

    id: int
    case_id: str
    state: str = Field(description="The state of the case that armed it (as a case's "
                       "`state`; `status` is the timer's own).")
    timer_id: str = Field(description="The timer's id in the definition.")
    due_at: datetime
    action: str = Field(description="fire, mark_overdue or escalate.")
    trigger: str | None = None
    repeat: bool
    status: str = Field(description="pending, claimed, paused, fired or cancelled.")
    remaining_seconds: float | None = Field(default=None,
                                            description="Time left, while the case is suspended.")
    fired_at: datetime | None = None
    outcome: dict[str, Any] | None = Field(default=None, description="What its firing did.")


class TimersPublic(Public):
    data: list[TimerPublic]
    next_cursor: str | None = None
