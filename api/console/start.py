"""Starting a record: choose a workflow the person may start, then fill the form generated
from its fields (typed widgets, titles as labels), in a community of the person's scope.

The start goes through the door like the API's `POST /cases`; the form carries an
idempotency key, so a double click starts one record, not two.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import CheckedForm, CurrentDesk, Desk
from api.console.case import record_refusal
from api.console.communities import choices, directory
from api.console.forms import FormField, fields_from_specs, problems_by_field, read_values
from api.console.i18n import text
from api.console.reading import Reading
from api.console.templating import render
from engine.access.principals import ALL_COMMUNITIES, valid_community
from engine.core.compiler import CompiledWorkflow
from engine.errors import NotFound, Refused
from engine.language.spec import FieldSpec, as_text

router = APIRouter()
EXAMPLE_COMMUNITY = "fuzhou/cangshan/jinshan/jinzhou"


def _community_field(request: Request, desk: Desk, value: str | None) -> FormField:
    """The community asked for: chosen by name among the directory's communities in the
    person's scope; typed as a path only where the directory knows none there."""
    scope = desk.principal.community
    chosen = value if value is not None else ("" if scope == ALL_COMMUNITIES else scope)
    label = text("start.community", desk.lang)
    options = choices(directory(request), scope, desk.lang, chosen)
    if options:
        return FormField("community", label, widget="select", value=chosen, required=True,
                         options=options)
    example = EXAMPLE_COMMUNITY if scope == ALL_COMMUNITIES else scope
    return FormField("community", label, value=chosen, required=True,
                     hint=text("start.community_hint", desk.lang, example=example))


def start_specs(wf: CompiledWorkflow) -> dict[str, FieldSpec]:
    """The fields asked when a record starts: the required ones, and those no later step
    sets (a field an effect fills in, such as an agreement's date, is asked at its step)."""
    later = {name for t in wf.transitions for name in t.spec.effects}
    return {name: spec for name, spec in wf.fields.items()
            if spec.required or name not in later}


@router.get("/cases/new")
def choose_workflow(request: Request, desk: CurrentDesk) -> Response:
    reading = Reading.of(request, desk)
    choices = reading.workflows() if desk.principal.acting_roles else []
    return render(request, "start.html", {"choices": choices, "workflow": None})


def _start_page(request: Request, desk: Desk, workflow_id: str, *,
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                refusal: str | None = None, community: str | None = None,
                status: int = 200) -> Response:
    reading = Reading.of(request, desk)
    try:
        wf = reading.workflow(workflow_id)
    except NotFound:
        return render(request, "error.html",
                      {"heading": text("error.not_found", desk.lang)}, status=404)
    fields = [_community_field(request, desk, community),
              *fields_from_specs(start_specs(wf), desk.lang, values,
                                 references=reading.references)]
    return render(request, "start.html", {
        "workflow": wf, "workflow_title": as_text(wf.spec.title, desk.lang, wf.id),
        "description": as_text(wf.spec.description, desk.lang),
        "fields": fields, "errors": errors or {}, "refusal": refusal,
        "form_key": secrets.token_urlsafe(12)}, status=status)


@router.get("/cases/new/{workflow_id}")
def start_form(request: Request, workflow_id: str, desk: CurrentDesk) -> Response:
    return _start_page(request, desk, workflow_id[:64])


@router.post("/cases/new/{workflow_id}")
async def start(request: Request, workflow_id: str, desk: CurrentDesk,
                form: CheckedForm) -> Response:
    return await run_in_threadpool(_start, request, desk, workflow_id[:64], form)


def _start(request: Request, desk: Desk, workflow_id: str, form: FormData) -> Response:
    reading = Reading.of(request, desk)
    lang = desk.lang
    try:
        wf = reading.workflow(workflow_id)
    except NotFound:
        return _start_page(request, desk, workflow_id)
    values, unreadable = read_values(wf.fields, form)
    typed = {name: form.get(name) for name in wf.fields if form.get(name)} | values
    community = str(form.get("community") or "").strip()
    labels = {name: as_text(spec.title, lang, name) for name, spec in wf.fields.items()}
    errors = problems_by_field(unreadable, lang, labels)
    if not community and choices(directory(request), desk.principal.community, lang):
        errors["community"] = text("start.community_choose", lang)
    elif not community or community == ALL_COMMUNITIES or not valid_community(community):
        errors["community"] = text("start.community_hint", lang, example=EXAMPLE_COMMUNITY)
    elif not desk.principal.sees(community):
        errors["community"] = text("start.out_of_scope", lang)
    if errors:
        return _start_page(request, desk, workflow_id, values=typed, errors=errors,
                           community=community, status=422)
    key = form.get("key")
    idempotency = (f"{desk.principal.token_id}:{key}"
                   if isinstance(key, str) and 8 <= len(key) <= 64 else None)
    try:
        result = reading.service.start_case(workflow_id, values, actor=desk.principal.actor,
                                            community=community,
                                            idempotency_key=idempotency)
    except Refused as refused:
        record_refusal(request, desk, refused.refusal.code)
        found = problems_by_field(refused.refusal.details.get("errors", []), lang, labels)
        return _start_page(request, desk, workflow_id, values=typed, errors=found,
                           refusal=refused.refusal.message(lang), community=community,
                           status=403 if refused.refusal.code == "role_missing" else 422)
    return RedirectResponse(f"/cases/{result.case.id}?done=start", status_code=303)
