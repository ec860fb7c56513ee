"""Request and response models of the HTTP API, one naming family per resource
(`CaseCreate`, `CasePublic`, `CasesPublic`, ...), each with an example for the docs; one
module per concept, all re-exported here.

Responses are built from the engine's views by the routes; nothing here touches the store.
"""

from api.schemas.actions import ActionPublic, ActionsPublic, RefusalPublic
from api.schemas.base import CASE_ID_EXAMPLE, COMMUNITY_EXAMPLE, MAX_ID, Body, Public
from api.schemas.cases import (
    CaseCreate,
    CasePublic,
    CasesPublic,
    EventPublic,
    EventsPublic,
    FireRequest,
    FireResultPublic,
)
from api.schemas.changes import (
    AssignmentRequest,
    ChecklistTick,
    FollowUpRequest,
    LinkCreate,
    ResumeRequest,
    SuspendRequest,
)
from api.schemas.health import (
    CalendarCoveragePublic,
    HealthPublic,
    ReadyPublic,
    ReplicaPublic,
)
from api.schemas.problems import DiagnosticPublic, FieldError, Problem
from api.schemas.timers import TimerPublic, TimersPublic
from api.schemas.workflows import (
    FieldPublic,
    RejectedDefinitionPublic,
    RetiredPublic,
    StatePublic,
    TransitionPublic,
    ValidationReport,
    WorkflowPublic,
    WorkflowsPublic,
    WorkflowSummary,
)

__all__ = [
    "CASE_ID_EXAMPLE", "COMMUNITY_EXAMPLE", "MAX_ID", "ActionPublic", "ActionsPublic",
    "AssignmentRequest", "Body", "CalendarCoveragePublic", "CaseCreate", "CasePublic",
    "CasesPublic", "ChecklistTick", "DiagnosticPublic", "EventPublic", "EventsPublic",
    "FieldError", "FieldPublic", "FireRequest", "FireResultPublic", "FollowUpRequest",
    "HealthPublic", "LinkCreate", "Problem", "Public", "ReadyPublic", "RefusalPublic",
    "RejectedDefinitionPublic", "ReplicaPublic", "ResumeRequest", "RetiredPublic",
    "StatePublic", "SuspendRequest", "TimerPublic", "TimersPublic", "TransitionPublic",
    "ValidationReport", "WorkflowPublic", "WorkflowSummary", "WorkflowsPublic",
]
