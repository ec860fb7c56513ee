"""The auditor's desk: a case at any instant, the cases in a state at an instant, exports,
integrity proofs and stage statistics. Everything here reads; nothing changes a case.

Scopes as elsewhere: a case outside the token's community is 404; lists, exports, proofs
and statistics cover the narrower of the token's scope and the `community` asked for (an
export asked for more than the scope returns only the scope). Personal data is masked
unless the token has `pii`. Malformed or inverted times are 422 naming the parameter
(unknown query parameters are 400 here as everywhere: `api.routes.common.ApiRoute`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from api.deps import Auditing, Context, Reader
from api.edge import Instant
from api.errors import forbidden, invalid
from api.routes.common import CASE_ID, ApiRoute, problems, scope_prefix
from api.schemas import EventPublic
from engine.audit.masking import mask_fields, mask_value
from engine.service import EventView

router = APIRouter(tags=["audit"], route_class=ApiRoute)


# -- input checks --------------------------------------------------------------------------


def utc(moment: datetime | None) -> datetime | None:
    """A query time without a zone is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def ordered(since: datetime | None, until: datetime | None, since_name: str,
            until_name: str) -> None:
    if since is not None and until is not None and until <= since:
        raise invalid(until_name, "range_inverted",
                      f"'{until_name}' must be later than '{since_name}'",
                      f"“{until_name}”必须晚于“{since_name}”", location="query")


def log(ctx: Context, action: str, *, community: str | None, target: str | None = None,
        detail: dict[str, Any] | None = None) -> None:
    """Keep the operation in the operations log (it changed no case)."""
    ctx.service.log_operation(actor=ctx.principal.name, action=action, target=target,
                              community=community, detail=detail)


# -- response models -----------------------------------------------------------------------


class CaseAtPublic(BaseModel):
    """A case as it stood at `at`: state, data and checklist replayed from its history."""

    case_id: str
    at: datetime
    workflow_id: str
    workflow_version: str = Field(description="The definition version in force then.")
    community: str
    state: str
    state_title: str
    status: str
    outcome: str | None
    data: dict[str, Any]
    checklist: dict[str, dict[str, Any]]
    entered_at: datetime
    event: EventPublic = Field(description="The last event at or before `at`.")
    entered_by: EventPublic = Field(description="The event that put the case in its state.")


class InStatePublic(BaseModel):
    case_id: str
    community: str
    state: str
    workflow_version: str
    title: str | None
    seq: int = Field(description="The event that left the case in the state.")
    event_at: datetime


class InStatesPublic(BaseModel):
    data: list[InStatePublic]
    next_cursor: str | None


class VerifyRequest(BaseModel):
    """What to verify: one case, one community, or (neither) everything in scope."""

    model_config = {"extra": "forbid"}
    case_id: str | None = Field(default=None, max_length=200)
    community: str | None = Field(default=None, max_length=700)


class ChainBreakPublic(BaseModel):
    case_id: str
    seq: int | None
    reason: str
    message: str


class VerifyPublic(BaseModel):
    intact: bool
    scope: Literal["store", "community", "case"]
    community: str | None
    case_id: str | None
    breaks: list[ChainBreakPublic]


class CheckpointPublic(BaseModel):
    digest: str
    taken_at: datetime
    community: str | None
    case_count: int
    heads: dict[str, dict[str, Any]]


class StageRowPublic(BaseModel):
    state: str
    title: str
    parent: str | None
    in_now: int
    passed_through: int
    completed: int
    median_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None
    overdue: int


class StageStatsPublic(BaseModel):
    workflow_id: str
    version: str
    since: datetime | None
    until: datetime | None
    community: str | None
    states: list[StageRowPublic]
    throughput: list[dict[str, Any]]


# -- point in time -------------------------------------------------------------------------

TIME = Annotated[Instant, Query(description="The instant (ISO 8601; UTC when no zone).")]


@router.get("/cases/{case_id}/state-at", summary="A case as it stood at an instant",
            response_model=CaseAtPublic, responses=problems(401, 404, 422))
def state_at(case_id: CASE_ID, time: TIME, ctx: Auditing) -> CaseAtPublic:
    ctx.check(case_id)
    found = ctx.service.case_at(case_id, utc(time) or time)
    data = dict(found.data)
    if not ctx.principal.sees_pii:
        data = mask_fields(data, ctx.presenter.sensitive(found.workflow_id,
                                                         found.workflow_version))
    return CaseAtPublic(
        case_id=found.case_id, at=found.at, workflow_id=found.workflow_id,
        workflow_version=found.workflow_version, community=found.community,
        state=found.state,
        state_title=ctx.presenter.state_title(found.workflow_id, found.workflow_version,
                                              found.state, ctx.lang),
        status=found.status, outcome=found.outcome, data=data, checklist=found.checklist,
        entered_at=found.entered_at,
        event=ctx.presenter.event(EventView(**found.event), ctx.principal),
        entered_by=ctx.presenter.event(EventView(**found.entered_by), ctx.principal))


@router.get("/states-at", summary="The cases that were in a state at an instant",
            response_model=InStatesPublic, responses=problems(401, 403, 404, 422))
def states_at(
    ctx: Auditing,
    workflow: Annotated[str, Query(max_length=64)],
    state: Annotated[str, Query(max_length=64, description="A step, or a stage.")],
    time: TIME,
    community: Annotated[str | None, Query(max_length=700)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> InStatesPublic:
    found, following = ctx.service.cases_in_state(
        workflow, state, utc(time) or time,
        community_prefix=scope_prefix(ctx.principal, community), after=cursor, limit=limit)
    rows = []
    for item in found:
        title = item.title
        if title is not None and not ctx.principal.sees_pii:
            wf = ctx.presenter.workflow(workflow, item.workflow_version)
            names = ctx.presenter.sensitive(workflow, item.workflow_version)
            if wf is None or names is None or wf.spec.title_field in names:
                title = mask_value(title)
        rows.append(InStatePublic(case_id=item.case_id, community=item.community,
                                  state=item.state, workflow_version=item.workflow_version,
                                  title=title, seq=item.seq, event_at=item.event_at))
    return InStatesPublic(data=rows, next_cursor=following)


# -- integrity -----------------------------------------------------------------------------


def _breaks(found: Iterable[Any]) -> list[ChainBreakPublic]:
    return [ChainBreakPublic(case_id=b.case_id, seq=b.seq, reason=b.reason,
                             message=b.message) for b in found]


@router.post("/audit/verify", summary="Verify the hash chains: everything in scope, one "
             "community or one case", response_model=VerifyPublic,
             responses=problems(401, 403, 404, 422))
def audit_verify(ctx: Reader, body: Annotated[VerifyRequest | None, Body()] = None
                 ) -> VerifyPublic:
    request = body or VerifyRequest()
    if request.case_id is not None:
        ctx.check(request.case_id)
        found = ctx.service.verify(case_id=request.case_id)
        log(ctx, "verify", community=ctx.communities.get(request.case_id),
            target=request.case_id, detail={"intact": not found})
        return VerifyPublic(intact=not found, scope="case", community=None,
                            case_id=request.case_id, breaks=_breaks(found))
    prefix = scope_prefix(ctx.principal, request.community)
    found = ctx.service.verify(community_prefix=prefix)
    log(ctx, "verify", community=prefix, detail={"intact": not found, "breaks": len(found)})
    return VerifyPublic(intact=not found, scope="community" if prefix else "store",
                        community=prefix, case_id=None, breaks=_breaks(found))


@router.get("/audit/checkpoint", summary="Every head in scope now, and their digest",
            response_model=CheckpointPublic, responses=problems(401, 403, 422))
def audit_checkpoint(ctx: Reader, community: Annotated[str | None, Query(max_length=700)]
                     = None) -> CheckpointPublic:
    prefix = scope_prefix(ctx.principal, community)
    kept = ctx.service.checkpoint(prefix)
    log(ctx, "checkpoint", community=prefix, detail={"digest": kept.digest,
                                                     "cases": len(kept.heads)})
    return CheckpointPublic(
        digest=kept.digest, taken_at=kept.taken_at, community=prefix,
        case_count=len(kept.heads),
        heads={case_id: {"head_hash": h, "event_count": n}
               for case_id, (h, n) in sorted(kept.heads.items())})


# -- statistics ----------------------------------------------------------------------------


@router.get("/stats/stages", summary="Per state: cases now, passed through, time spent, "
            "overdue; throughput per month", response_model=StageStatsPublic,
            responses=problems(401, 403, 404, 422))
def stats_stages(
    ctx: Auditing,
    workflow: Annotated[str, Query(max_length=64)],
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    community: Annotated[str | None, Query(max_length=700)] = None,
) -> StageStatsPublic:
    since, until = utc(since), utc(until)
    ordered(since, until, "from", "to")
    prefix = scope_prefix(ctx.principal, community)
    found = ctx.service.stage_stats(workflow, since=since, until=until,
                                    community_prefix=prefix, lang=ctx.lang)
    return StageStatsPublic(
        workflow_id=found.workflow_id, version=found.version, since=found.since,
        until=found.until, community=found.community,
        states=[StageRowPublic(**row.__dict__) for row in found.states],
        throughput=found.throughput)


# -- operations log ------------------------------------------------------------------------


class OperationPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    target: str | None
    community: str | None
    detail: dict[str, Any]
    request_id: str | None = None


class OperationsPublic(BaseModel):
    data: list[OperationPublic]
    next_cursor: str | None


@router.get("/audit/operations", summary="The operations log: actions that changed no case",
            response_model=OperationsPublic, responses=problems(401, 403, 422))
def audit_operations(
    ctx: Reader,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    community: Annotated[str | None, Query(max_length=700)] = None,
    since: Annotated[Instant | None, Query(description="From (inclusive).")] = None,
    until: Annotated[Instant | None, Query(description="Before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]+$")] = None,
) -> OperationsPublic:
    if not ctx.principal.roles & {"auditor", "admin"}:
        raise forbidden("role_missing", "the operations log is for auditors and admins",
                        "操作日志仅供审计员和管理员查看",
                        required_roles=["admin", "auditor"])
    since, until = utc(since), utc(until)
    ordered(since, until, "since", "until")
    found, following = ctx.service.operations(
        community_prefix=scope_prefix(ctx.principal, community),
        actor=actor, action=action, since=since, until=until,
        after=int(cursor) if cursor else None, limit=limit)
    return OperationsPublic(data=[OperationPublic(**o.__dict__) for o in found],
                            next_cursor=None if following is None else str(following))
