"""History: a case's events, and events across cases by actor, workflow, time and place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Auditing, Context, Reader
from api.edge import Instant
from api.errors import invalid
from api.routes.common import CASE_ID, ApiRoute, problems, scope_prefix
from api.schemas import EventPublic, EventsPublic
from engine.audit.conditions import (
    TypedConditionError,
    sensitive_anywhere,
    typed_condition,
)
from engine.audit.exports import KINDS
from engine.audit.filters import ConditionError, InputCondition
from engine.store.tables import EVENT_KINDS

router = APIRouter(tags=["history"], route_class=ApiRoute)


def as_utc(moment: datetime | None) -> datetime | None:
    """A query time without a zone is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _conditions(ctx: Context, texts: list[str], *, narrowed: bool,
                workflow: str | None) -> list[InputCondition]:
    """The `input` conditions, each value read as its field's declared type (in `workflow`
    when given, in every workflow otherwise). One on personal data needs the `pii`
    permission, or probing with it would reveal what masking hides: a name is personal data
    when any stored version of any workflow marks it so. Conditions are checked on the rows
    an indexed filter (case, actor, workflow or since) selects, so one of those must come
    with them: the input itself is not indexed, and a query must not scan every event."""
    if not texts:
        return []
    if not narrowed:
        raise invalid("input", "condition_needs_narrowing",
                      "input conditions need case, actor, workflow or since as well",
                      "按输入条件查询时还需指定 case、actor、workflow 或 since",
                      location="query")
    everything = ctx.service.stored_workflows()
    declaring = [wf for wf in everything if workflow is None or wf.id == workflow]
    conditions = [_condition(text, declaring) for text in texts]
    if not ctx.principal.sees_pii:
        hidden = sensitive_anywhere(everything)
        for condition in conditions:
            if condition.field in hidden:
                raise invalid("input", "sensitive_condition",
                              f"'{condition.field}' is personal data: querying it needs "
                              "the pii permission",
                              f"“{condition.field}”属于个人信息，需具备 pii 权限才能查询",
                              location="query")
    return conditions


def _condition(text: str, workflows: list[Any]) -> InputCondition:
    """One `input` query value typed by its field, or 422 naming the parameter and why."""
    try:
        return typed_condition(text, workflows)
    except TypedConditionError as error:
        raise invalid("input", error.code, error.en, error.zh, location="query") from error
    except ConditionError as error:
        raise invalid("input", "invalid_condition", str(error),
                      "条件格式有误：应为“字段 比较符 值”，例如 activity_sessions>20",
                      location="query") from error


@router.get("/cases/{case_id}/history", summary="A case's whole history, oldest first",
            response_model=list[EventPublic], responses=problems(401, 404, 422))
def case_history(case_id: CASE_ID, ctx: Reader) -> list[EventPublic]:
    ctx.check(case_id)
    return [ctx.presenter.event(e, ctx.principal) for e in ctx.service.history(case_id)]


@router.get("/events", summary="Events across cases, filtered, oldest first",
            response_model=EventsPublic, responses=problems(401, 403, 404, 422))
def list_events(
    ctx: Auditing,
    case: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    workflow: Annotated[str | None, Query(max_length=64)] = None,
    trigger: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=64,
                                       description="Events that moved a case into it.")] = None,
    community: Annotated[str | None, Query(max_length=700)] = None,
    since: Annotated[Instant | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[Instant | None, Query(description="Before this time.")] = None,
    role: Annotated[str | None, Query(max_length=64,
                                      description="Events done in this role.")] = None,
    kind: Annotated[str | None, Query(max_length=32, description="Events of one kind: "
                                      + ", ".join(EVENT_KINDS) + ".")] = None,
    input: Annotated[list[str] | None, Query(
        max_length=10, description="Conditions on the recorded input, e.g. "
        "activity_sessions>20 or result=passed (repeat for several).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> EventsPublic:
    if kind is not None and kind not in EVENT_KINDS:
        raise invalid("kind", "unknown_event_kind",
                      f"'{kind}' is not a kind of event: use one of {', '.join(EVENT_KINDS)}",
                      f"“{kind}”不是事件类型，可选：" + "、".join(
                          f"{k}（{title.zh}）" for k, title in KINDS.items()),
                      location="query")
    if case is not None:
        ctx.check(case)
    events, next_cursor = ctx.service.list_events(
        case_id=case, actor=actor, workflow_id=workflow, trigger=trigger, state=state,
        community_prefix=scope_prefix(ctx.principal, community), since=as_utc(since),
        until=as_utc(until), limit=limit, cursor=cursor, role=role, kind=kind,
        conditions=_conditions(ctx, input or [], narrowed=any(
            v is not None for v in (case, actor, workflow, since)),
            workflow=workflow or (ctx.case(case).workflow_id if case and input else None)))
    return EventsPublic(data=[ctx.presenter.event(e, ctx.principal) for e in events],
                        next_cursor=next_cursor)
