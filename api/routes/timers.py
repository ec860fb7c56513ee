"""Timers: what is pending, for caseworkers' reminders and auditors' overdue checks.

Named as elsewhere: `state` is the state of the case that armed a timer (as a case's
`state`), `status` the timer's own (pending, claimed, paused, fired, cancelled).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import Reader
from api.edge import Instant
from api.routes.common import ApiRoute, problems, scope_prefix
from api.routes.history import as_utc
from api.schemas import TimerPublic, TimersPublic

router = APIRouter(tags=["timers"], route_class=ApiRoute)

TimerStatus = Literal["pending", "claimed", "paused", "fired", "cancelled"]


@router.get("/timers", summary="Timers of the cases in scope: those still to fall due "
            "first, soonest first; then fired and cancelled ones",
            response_model=TimersPublic, responses=problems(401, 403, 404, 422))
def list_timers(
    ctx: Reader,
    case: Annotated[str | None, Query(max_length=200)] = None,
    due_before: Annotated[Instant | None, Query(description="Due before this time.")] = None,
    status: Annotated[TimerStatus | None, Query(
        description="The timer's status: pending (waiting for its time), claimed (being "
                    "fired now), paused (its case is suspended), fired or cancelled.")] = None,
    state: Annotated[str | None, Query(
        max_length=64, description="The state of the case that armed the timer.")] = None,
    community: Annotated[str | None, Query(max_length=700)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> TimersPublic:
    if case is not None:
        ctx.check(case)
    timers, next_cursor = ctx.service.list_timers(
        case_id=case, due_before=as_utc(due_before), status=status, state=state,
        community_prefix=scope_prefix(ctx.principal, community), limit=limit, cursor=cursor)
    return TimersPublic(
        data=[TimerPublic.model_validate(t, from_attributes=True) for t in timers],
        next_cursor=next_cursor)
