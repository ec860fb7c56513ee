"""Cases: start, list, read, what may be done next, fire, checklist, links, suspend/resume.

Every case-changing request acts through the service as the token's name with its acting
roles; the transition's `roles` then decide. A case outside the token's community scope is
reported as not found.

Concurrency: `GET /cases/{id}` returns `ETag: "<version>"`. A change sent with
`If-Match: "<version>"` is refused with 412 when the case has moved on since; two changes
that both pass that check race inside the service, and the loser gets 409 with the current
version. Either way the client reads again and retries. `Idempotency-Key` makes a retry
of the same request return the first result without writing anything new.

Threads: every operation is `async` and runs its blocking part (reads, the change) in one
worker thread. A plain `def` operation costs FastAPI two thread hops (the operation, then
the validation of its answer against `response_model`), each costlier than the validation
itself, which is nearly free for a model instance of the declared class.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from api.deps import Acting, Context, Reader
from api.errors import invalid, precondition_failed
from api.quick import quick
from api.routes.common import CASE_ID, ApiRoute, out_of_scope, problems, scope_prefix
from api.schemas import (
    ActionsPublic,
    AssignmentRequest,
    CaseCreate,
    CasePublic,
    CasesPublic,
    ChecklistTick,
    FireRequest,
    FireResultPublic,
    FollowUpRequest,
    LinkCreate,
    ResumeRequest,
    SuspendRequest,
)
from api.security import Principal, valid_community
from engine.errors import Conflict
from engine.service.views import FireResult

router = APIRouter(prefix="/cases", tags=["cases"], route_class=ApiRoute)

IfMatch = Annotated[str | None, Header(
    alias="If-Match", max_length=100,
    description='The case version read (its ETag, e.g. "3"); 412 when it is stale.')]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
    description="Any unique string; a retry with the same key returns the first result "
                "and writes nothing.")]
ITEM = Annotated[str, PathParam(max_length=64, description="A checklist item.")]


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header names: `"3"`, `W/"3"` or `3`; `*` means any."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return None
    text = text.removeprefix("W/").strip().strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise invalid("If-Match", "if_match", 'If-Match must be a case version such as "3"',
                      'If-Match 必须是事项版本号，例如 "3"', location="header")
    return int(text)


def idempotency_key(principal: Principal, key: str | None) -> str | None:
    """Keys are per token: one caller can never replay another's result."""
    return None if key is None else f"{principal.token_id}:{key}"


def etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


Operation = Callable[[int | None, str | None], FireResult]


async def change(ctx: Context, case_id: str, if_match: str | None, key: str | None,
                 operation: Operation, response: Response,
                 before: Callable[[], object] | None = None) -> FireResultPublic:
    """`changed`, after `before` (a check of another case), in one worker thread."""

    def work() -> FireResultPublic:
        if before is not None:
            before()
        return changed(ctx, case_id, if_match, key, operation, response)

    return await run_in_threadpool(work)


def changed(ctx: Context, case_id: str, if_match: str | None, key: str | None,
            operation: Operation, response: Response) -> FireResultPublic:
    """Run `operation(expected_version, idempotency_key)` on a case in the caller's scope
    and answer with its result and the case's new ETag.

    A stale If-Match is refused with 412 before anything is tried, unless the request has
    an idempotency key: then the service first looks for the earlier result of the same
    request (a retry must get it, not a refusal), and only its conflict becomes the 412.
    A conflict the service finds for an If-Match that was current when checked here is
    a race lost to another change: 409. Without If-Match only the case's scope is checked
    (from the known communities when it can be, sparing a read).
    """
    expected = parse_if_match(if_match)
    stale = False
    if expected is None:
        ctx.check(case_id)
    else:
        current = ctx.case(case_id).version
        stale = expected != current
        if stale and key is None:
            raise precondition_failed(expected, current)
    try:
        result = operation(expected, idempotency_key(ctx.principal, key))
    except Conflict as exc:
        if stale:
            raise precondition_failed(exc.expected, exc.current) from exc
        raise
    return reply(ctx, result, response)


def reply(ctx: Context, result: FireResult, response: Response) -> FireResultPublic:
    etag(response, result.case.version)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ctx.result(result)


CHANGE_PROBLEMS = problems(401, 403, 404, 409, 412, 413, 422)


def _start(body: CaseCreate, response: Response, ctx: Context,
           key: str | None) -> FireResultPublic:
    principal = ctx.principal
    community = body.community or principal.community
    if not valid_community(community) or community == "*":
        raise invalid("community", "community", "a community is a path like "
                      "district/street/community", "社区须为“区/街道/社区”形式的路径")
    if not principal.sees(community):
        raise out_of_scope(principal, community)
    result = ctx.service.start_case(body.workflow_id, body.data, actor=principal.actor,
                                    community=community, version=body.version,
                                    comment=body.comment,
                                    idempotency_key=idempotency_key(principal, key))
    response.headers["Location"] = f"/api/v1/cases/{result.case.id}"
    return reply(ctx, result, response)


@router.post("", summary="Start a case", status_code=201, response_model=FireResultPublic,
             responses=problems(401, 403, 404, 413, 422))
@quick(_start)
async def start_case(body: CaseCreate, response: Response, ctx: Acting,
                     key: IdempotencyKey = None) -> FireResultPublic:
    return await run_in_threadpool(_start, body, response, ctx, key)


@router.get("", summary="List cases in the caller's scope (a work queue)",
            response_model=CasesPublic, responses=problems(401, 403, 422))
async def list_cases(
    ctx: Reader,
    workflow: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=64)] = None,
    community: Annotated[str | None, Query(max_length=700, description="A community path; "
                                           "cases in it and nested inside it.")] = None,
    overdue: bool | None = None,
    text: Annotated[str | None, Query(max_length=200,
                                      description="Words in the case's title.")] = None,
    order: Annotated[Literal["priority", "updated", "follow_up", "deadline"], Query(
        description="priority: the workflow's priority, highest first, then oldest; "
                    "updated: latest change first; follow_up: the follow-up day the "
                    "responsible person set, soonest first; deadline: the next pending "
                    "deadline (timer), soonest first. In the last two, cases without one "
                    "come after, in priority order. A cursor is valid for the order that "
                    "gave it.")
    ] = "priority",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    assignee: Annotated[str | None, Query(max_length=200, description="Cases this person "
                                          "is responsible for.")] = None,
    unassigned: Annotated[bool, Query(description="Cases nobody is responsible for.")] = False,
    follow_up_by: Annotated[date | None, Query(description="Cases whose follow-up day is "
                                               "on or before this day.")] = None,
    escalated: Annotated[bool | None, Query(description="true: cases escalated (督办) since "
                                            "they entered their current stage; false: the "
                                            "others.")] = None,
) -> CasesPublic:
    def work() -> CasesPublic:
        views, next_cursor = ctx.service.list_cases(
            workflow_id=workflow, state=state, community_prefix=scope_prefix(ctx.principal,
                                                                             community),
            overdue=overdue, text=text, order=order, limit=limit, cursor=cursor,
            pii=ctx.principal.sees_pii, assignee=assignee, unassigned=unassigned,
            follow_up_by=follow_up_by, escalated=escalated)
        return CasesPublic(data=[ctx.presenter.case(v, ctx.principal, ctx.lang)
                                 for v in views], next_cursor=next_cursor)

    return await run_in_threadpool(work)


def _case(case_id: str, response: Response, ctx: Context) -> CasePublic:
    view = ctx.case(case_id)
    etag(response, view.version)
    return ctx.presenter.case(view, ctx.principal, ctx.lang)


@router.get("/{case_id}", summary="One case (ETag: its version)", response_model=CasePublic,
            responses=problems(401, 404, 422))
@quick(_case)
async def get_case(case_id: CASE_ID, response: Response, ctx: Reader) -> CasePublic:
    return await run_in_threadpool(_case, case_id, response, ctx)


# An OpenAPI link, for clients and for schemathesis' stateful run
# (tests/http_api/test_stateful_fuzz.py): what /actions offers is what /events may fire.
FIRE_OFFERED = {"links": {"FireOffered": {
    "operationId": "fire_api_v1_cases__case_id__events_post",
    "parameters": {"case_id": "$response.body#/case_id"},
    "requestBody": {"trigger": "$response.body#/actions/0/trigger"},
    "description": "Fire the first transition offered."}}}


def _actions(case_id: str, response: Response, ctx: Context) -> ActionsPublic:
    view = ctx.case(case_id)
    wf = ctx.presenter.workflow(view.workflow_id, view.workflow_version)
    actions = ctx.service.actions(case_id, ctx.principal.actor)
    etag(response, view.version)
    return ActionsPublic(
        case_id=view.id, version=view.version, state=view.state,
        state_title=ctx.presenter.state_title(view.workflow_id, view.workflow_version,
                                              view.state, ctx.lang),
        status=view.status, actions=[ctx.presenter.action(a, wf, ctx.lang) for a in actions])


@router.get("/{case_id}/actions", summary="What the caller may do now, and why not",
            response_model=ActionsPublic, responses={**problems(401, 404, 422),
                                                     200: FIRE_OFFERED},
            description="The transitions the caller may fire from the case's state now, with "
                        "their titles and the JSON Schema of the input to send; and those "
                        "near but refused (the caller's role, a condition, the checklist, the "
                        "case suspended), with the refusal in the caller's language. "
                        "Automatic transitions and those of other states are not listed.")
@quick(_actions)
async def get_actions(case_id: CASE_ID, response: Response, ctx: Reader) -> ActionsPublic:
    return await run_in_threadpool(_actions, case_id, response, ctx)


def _fire(case_id: str, body: FireRequest, response: Response, ctx: Context,
          if_match: str | None = None, key: str | None = None) -> FireResultPublic:
    return changed(ctx, case_id, if_match, key, lambda expected, k: ctx.service.fire(
        case_id, body.trigger, input=body.input, actor=ctx.principal.actor,
        expected_version=expected, comment=body.comment, idempotency_key=k), response)


@router.post("/{case_id}/events", summary="Fire a trigger on a case",
             response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
@quick(_fire)
async def fire(case_id: CASE_ID, body: FireRequest, response: Response, ctx: Acting,
               if_match: IfMatch = None, key: IdempotencyKey = None) -> FireResultPublic:
    return await run_in_threadpool(_fire, case_id, body, response, ctx, if_match, key)


@router.put("/{case_id}/checklist/{item}", summary="Tick a checklist item, with evidence",
            response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def tick(case_id: CASE_ID, item: ITEM, body: ChecklistTick, response: Response, ctx: Acting,
         if_match: IfMatch = None, key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.tick(
        case_id, item, evidence=body.evidence, actor=ctx.principal.actor,
        expected_version=expected, idempotency_key=k), response)


@router.delete("/{case_id}/checklist/{item}", summary="Untick a checklist item",
               response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def untick(case_id: CASE_ID, item: ITEM, response: Response, ctx: Acting,
           reason: Annotated[str | None, Query(max_length=4000)] = None,
           if_match: IfMatch = None, key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.untick(
        case_id, item, actor=ctx.principal.actor, reason=reason, expected_version=expected,
        idempotency_key=k), response)


@router.post("/{case_id}/links", summary="Link another case to this one",
             response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def link(case_id: CASE_ID, body: LinkCreate, response: Response, ctx: Acting,
               if_match: IfMatch = None, key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.link(
        case_id, body.case_id, relation=body.relation, actor=ctx.principal.actor,
        expected_version=expected, idempotency_key=k), response,
        before=lambda: ctx.check(body.case_id))


@router.delete("/{case_id}/links/{other_case_id}", summary="Remove a link between two cases",
               response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def unlink(case_id: CASE_ID, other_case_id: CASE_ID, response: Response,
                 ctx: Acting, if_match: IfMatch = None,
                 key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.unlink(
        case_id, other_case_id, actor=ctx.principal.actor, expected_version=expected,
        idempotency_key=k), response, before=lambda: ctx.check(other_case_id))


@router.post("/{case_id}/suspend", summary="Suspend a case (its timers pause)",
             response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def suspend(case_id: CASE_ID, body: SuspendRequest, response: Response, ctx: Acting,
            if_match: IfMatch = None, key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.suspend(
        case_id, actor=ctx.principal.actor, reason=body.reason, expected_version=expected,
        idempotency_key=k), response)


@router.post("/{case_id}/assignment", summary="Make someone responsible for a case (责任人)",
             response_model=FireResultPublic, responses=CHANGE_PROBLEMS,
             description="A caseworker claims an unassigned case, or releases or hands over "
                         "their own; whoever leads the community's work (party committee, "
                         "administrators) assigns and hands over any. The assignee is a "
                         "person whose roles may change cases and whose scope covers the "
                         "case. Recorded in the case's history (kind `assignment`).")
async def assign(case_id: CASE_ID, body: AssignmentRequest, response: Response,
                 ctx: Acting, if_match: IfMatch = None,
                 key: IdempotencyKey = None) -> FireResultPublic:
    def candidate() -> None:
        if body.assignee is not None and not ctx.service.is_assignee_candidate(
                body.assignee, ctx.case(case_id).community):
            raise invalid("assignee", "unknown_assignee",
                          "no person who may change cases in this community has that name",
                          "该社区没有此用户名的办理人员", location="body")

    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.assign(
        case_id, body.assignee, actor=ctx.principal.actor, comment=body.comment,
        expected_version=expected, idempotency_key=k), response, before=candidate)


@router.post("/{case_id}/follow-up", summary="Set the day the responsible person follows "
             "the case up", response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def follow_up(case_id: CASE_ID, body: FollowUpRequest, response: Response, ctx: Acting,
              if_match: IfMatch = None, key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.follow_up(
        case_id, body.on, actor=ctx.principal.actor, comment=body.comment,
        expected_version=expected, idempotency_key=k), response)


@router.post("/{case_id}/resume", summary="Resume a suspended case",
             response_model=FireResultPublic, responses=CHANGE_PROBLEMS)
async def resume(case_id: CASE_ID, response: Response, ctx: Acting,
           body: ResumeRequest | None = None, if_match: IfMatch = None,
           key: IdempotencyKey = None) -> FireResultPublic:
    return await change(ctx, case_id, if_match, key, lambda expected, k: ctx.service.resume(
        case_id, actor=ctx.principal.actor, comment=body.comment if body else None,
        expected_version=expected, idempotency_key=k), response)
