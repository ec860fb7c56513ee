"""The auditor's desk: searching the history with the API's filters, paged, and exporting
what was found (CSV with a byte-order mark, xlsx, JSON Lines) with the same filters.

Everything here reads. The desk is for auditors and administrators; it covers the
person's community scope, masks personal data without `pii` exactly as the API does, and
logs every export in the operations log as the API does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.console.audit_search import EventFilters, condition_fields, event_rows
from api.console.auth import Desk, accounts
from api.console.i18n import TEXTS, text
from api.console.reading import Reading
from api.console.roles import AUDIT_ROLES, desk_for
from api.console.templating import render
from engine.audit.exports import FORMATS, ExportFilter, export, media_type
from engine.errors import HatcheryError
from engine.language.spec import as_text
from engine.store.operations import record

router = APIRouter(prefix="/audit")
PAGE_SIZE = 50
AuditDesk = Annotated[Desk, Depends(desk_for(AUDIT_ROLES, "audit.only"))]


def roles_known(lang: str) -> list[tuple[str, str]]:
    """Every role the catalogue names, by its title."""
    return [(key.removeprefix("role."), TEXTS[key].get(lang))
            for key in TEXTS if key.startswith("role.")]


def people_of(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    """Sign-in name -> name shown, and the way back (for the person field)."""
    shown = {u.name: (u.display_name or u.name) for u in accounts(request).users.list(
        include_disabled=True)}
    return shown, {v: k for k, v in shown.items()}


def search_context(reading: Reading, filters: EventFilters) -> dict[str, Any]:
    """The options of the search form (steps, stages and fields of the chosen workflow)."""
    lang = reading.lang
    context: dict[str, Any] = {"filters": filters, "workflows": reading.workflows(),
                               "roles": roles_known(lang), "steps": [], "stages": [],
                               "condition_fields": []}
    if filters.workflow:
        wf = reading.workflow(filters.workflow)
        context["steps"] = sorted(((trigger, as_text(title, lang, trigger))
                                   for trigger, title in wf.trigger_titles.items()),
                                  key=lambda pair: pair[1])
        context["stages"] = [(sid, as_text(info.spec.title, lang, sid))
                             for sid, info in wf.states.items()]
        context["condition_fields"] = [(name, as_text(spec.title, lang, name))
                                       for name, spec in condition_fields(wf).items()]
    return context


def _record_title(reading: Reading, case_id: str | None) -> str | None:
    if not case_id:
        return None
    try:
        view = reading.visible(case_id)
    except HatcheryError:
        return None
    public = reading.presenter.case(view, reading.principal, reading.lang)
    return public.title or public.state_title


def _actor_name(filters: EventFilters, back: dict[str, str]) -> str | None:
    return back.get(filters.actor, filters.actor) if filters.actor else None


@router.get("")
async def events(request: Request, desk: AuditDesk) -> Response:
    reading = Reading.of(request, desk)
    filters = EventFilters.read(request.query_params, reading)
    cursor = request.query_params.get("cursor") or None
    shown, back = await run_in_threadpool(people_of, request)
    rows: list[Any] = []
    following = None
    record_title = await run_in_threadpool(_record_title, reading, filters.case)
    if filters.case and record_title is None:
        filters = EventFilters(**{**filters.__dict__, "case": None})
    if not filters.errors:
        since, until = filters.moments()
        try:
            views, following = await run_in_threadpool(lambda: reading.service.list_events(
                case_id=filters.case, actor=_actor_name(filters, back),
                workflow_id=filters.workflow, trigger=filters.step, state=filters.stage,
                community_prefix=reading.scope(), since=since, until=until,
                limit=PAGE_SIZE, cursor=cursor, role=filters.role,
                conditions=filters.input_conditions()))
            rows = await run_in_threadpool(event_rows, reading, views, shown)
        except HatcheryError:
            rows, following = [], None
    context = {**search_context(reading, filters), "rows": rows, "people": sorted(
        set(shown.values())), "record_title": record_title, "errors": filters.errors,
        "next_query": filters.query(cursor=following) if following else None,
        "first_query": filters.query() if cursor else None,
        "formats": FORMATS, "export_query": filters.query()}
    block = "results" if request.headers.get("hx-request") == "true" else None
    return render(request, "audit_events.html", context, block=block)


@router.get("/export")
def download(request: Request, desk: AuditDesk) -> Response:
    """The events the filters keep, as a file (a plain table: no trailer row)."""
    reading = Reading.of(request, desk)
    filters = EventFilters.read(request.query_params, reading)
    fmt = request.query_params.get("format")
    if fmt not in FORMATS or filters.errors:
        return render(request, "error.html", {"heading": text("error.not_found", desk.lang)},
                      status=404)
    if filters.case and _record_title(reading, filters.case) is None:
        return render(request, "error.html", {"heading": text("error.not_found", desk.lang)},
                      status=404)
    _, back = people_of(request)
    since, until = filters.moments()
    chosen = ExportFilter(
        workflow_id=filters.workflow, community_prefix=reading.scope(), case_id=filters.case,
        actor=_actor_name(filters, back), since=since, until=until, role=filters.role,
        trigger=filters.step, state=filters.stage,
        conditions=tuple(filters.input_conditions()))
    service = reading.service
    chunks = export(service.engine, request.app.state.presenter.workflow, chosen, fmt=fmt,
                    lang=desk.lang, pii=desk.principal.sees_pii)
    record(service.engine, actor=desk.principal.name, action="export",
           at=service.clock.now(), target=filters.case, community=reading.scope(),
           detail={"format": fmt, "workflow": filters.workflow, "actor": chosen.actor,
                   "role": filters.role, "step": filters.step, "stage": filters.stage,
                   "conditions": [f"{c.field}{c.op}{c.value}" for c in chosen.conditions],
                   "pii": desk.principal.sees_pii, "console": True,
                   "since": since.isoformat() if since else None,
                   "until": until.isoformat() if until else None})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(_bytes(chunks), media_type=media_type(fmt), headers={
        "Content-Disposition": f'attachment; filename="events-{stamp}.{fmt}"',
        "Cache-Control": "no-store"})


def _bytes(chunks: Iterable[bytes]) -> Iterable[bytes]:
    yield from chunks
