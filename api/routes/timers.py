"""Timers: what is pending, for caseworkers' reminders and auditors' overdue checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Reader
from api.edge import Instant
from api.routes.common import ApiRoute, problems, scope_prefix
from api.routes.history import as_utc
from api.schemas import TimerPublic, TimersPublic

router = APIRouter(tags=["timers"], route_class=ApiRoute)


@router.get("/timers", summary="Timers of the cases in scope, soonest due first",
            response_model=TimersPublic, responses=problems(401, 403, 404, 422))
def list_timers(
    ctx: Reader,
    case: Annotated[str | None, Query(max_length=200)] = None,
    due_before: Annotated[Instant | None, Query(description="Due before this time.")] = None,
    state: Annotated[str | None, Query(
        max_length=16, description="pending, claimed, paused, fired or cancelled.")] = None,
    community: Annotated[str | None, Query(max_length=700)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> TimersPublic:
    if case is not None:
        ctx.check(case)
    timers, next_cursor = ctx.service.list_timers(
        case_id=case, due_before=as_utc(due_before), state=state,
        community_prefix=scope_prefix(ctx.principal, community), limit=limit, cursor=cursor)
    return TimersPublic(
        data=[TimerPublic.model_validate(t, from_attributes=True) for t in timers],
        next_cursor=next_cursor)
