"""The caseworker's work queue: the records in the person's scope, highest priority first
(the workflow's priority expression: organizations with a party presence first at
selection), then oldest, or sorted by follow-up date or next deadline; filtered by
workflow, stage, status, overdue, escalated (已督办), follow-up due and a search by title;
paged; filters a person uses often saved under a name of their own (the sort with them).

The rows come from the service's read side and leave through the API's `Presenter`, so a
title is masked here exactly as in the API when the person lacks `pii`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import CheckedForm, CurrentDesk, accounts
from api.console.i18n import text
from api.console.reading import QueueFilters, Reading
from api.console.templating import render
from engine.access.preferences import SavedFilters
from engine.errors import HatcheryError
from engine.service.assignment import LEAD_ROLES

router = APIRouter()
PAGE_SIZE = 25


@router.get("/")
async def queue(request: Request, desk: CurrentDesk) -> Response:
    reading = Reading.of(request, desk)
    workflows = reading.workflows()
    filters = QueueFilters.read(request.query_params, workflows,
                                "mine" if desk.principal.acting_roles else "all")
    cursor = request.query_params.get("cursor") or None
    try:
        rows, following = await run_in_threadpool(reading.queue, filters, cursor, PAGE_SIZE)
    except HatcheryError:
        rows, following = [], None
    names = await run_in_threadpool(accounts(request).users.display_names,
                                    [r.responsible for r in rows if r.responsible])
    saved = await run_in_threadpool(_saved(request).list, desk.session.user_id)
    context = {"rows": rows, "filters": filters, "workflows": workflows,
               "next_query": filters.query(cursor=following) if following else None,
               "first_query": filters.query() if cursor else None, "saved": saved,
               "stages": reading.stages_of(filters.workflow),
               "notice": _notice(request, desk.lang), "names": names,
               "lead": bool(desk.principal.roles & LEAD_ROLES)}
    # htmx asks for the queue alone (filters and rows): the same template's block.
    block = "queue" if request.headers.get("hx-request") == "true" else None
    return render(request, "queue.html", context, block=block)


def _notice(request: Request, lang: str) -> str | None:
    if request.query_params.get("changed") == "password":
        return text("password.changed", lang)
    return None


def _saved(request: Request) -> SavedFilters:
    found: SavedFilters | None = getattr(request.app.state, "console_saved_filters", None)
    if found is None:
        found = SavedFilters(request.app.state.service.engine)
        request.app.state.console_saved_filters = found
    return found


@router.post("/filters")
def save_filter(request: Request, desk: CurrentDesk, form: CheckedForm) -> Response:
    """Save the current filters under a name (a name used again is replaced)."""
    name = str(form.get("name") or "").strip()[:100]
    query = str(form.get("query") or "")[:1000]
    if name:
        _saved(request).save(desk.session.user_id, name, query,
                             now=request.app.state.service.clock.now())
    return RedirectResponse("/?" + query if query else "/", status_code=303)


@router.post("/filters/delete")
def delete_filter(request: Request, desk: CurrentDesk, form: CheckedForm) -> Response:
    name = str(form.get("name") or "")[:100]
    _saved(request).delete(desk.session.user_id, name)
    return RedirectResponse("/", status_code=303)
