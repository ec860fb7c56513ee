"""One record's page and every change made from it: the actions of its stage as forms
generated from each transition's declared input, the checklist, suspension, and starting
a new record.

Every change goes through the service's door exactly as the API's does. Each form carries
the record's version as read and an idempotency key made when the page was rendered: a
double click or a resubmitted form replays the first result (one event), and a form
older than the record's last change is refused as the API refuses a stale If-Match, and
the page says so and shows the record as it stands now. A refusal (a guard, a role, the
checklist, a missing field) is shown in place, beside the action that met it, in the
person's language; the form keeps what was typed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import CheckedForm, CurrentDesk, Desk, accounts
from api.console.diagrams import case_diagram
from api.console.forms import fields_from_specs, problems_by_field, read_values
from api.console.history import timeline
from api.console.i18n import role_title, text
from api.console.reading import HIDDEN_REFUSALS, Reading
from api.console.templating import render
from engine.core.compiler import CompiledWorkflow
from engine.errors import Conflict, HatcheryError, NotFound, Refusal, Refused
from engine.language.spec import as_text
from engine.observability import ATTEMPT
from engine.store.operations import record as record_operation

router = APIRouter()

STATE_CODES = frozenset({"case_suspended", "case_closed"})


def _idempotency(desk: Desk, form: FormData) -> str | None:
    key = form.get("key")
    if not isinstance(key, str) or not 8 <= len(key) <= 64:
        return None
    return f"{desk.principal.token_id}:{key}"


def _version(form: FormData) -> int | None:
    raw = form.get("version")
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else None


def _not_found(request: Request, desk: Desk) -> Response:
    return render(request, "error.html", {"heading": text("error.not_found", desk.lang)},
                  status=404)


def _actions(reading: Reading, detail: Any) -> list[dict[str, Any]]:
    """The actions of the record's stage: allowed ones as forms, refused ones with why."""
    wf, case = detail.workflow, detail.case
    found = []
    for action in reading.service.actions(case.id, reading.principal.actor):
        t = action.transition
        refusal = action.refusal
        if t is None or t.spec.automatic or (refusal is not None and
                                             refusal.code in HIDDEN_REFUSALS | STATE_CODES):
            continue
        found.append({
            "trigger": action.trigger,
            "title": as_text(t.spec.title, reading.lang, action.trigger),
            "description": as_text(t.spec.description, reading.lang) or None,
            "to": reading.state_title(wf, t.spec.to), "allowed": action.allowed,
            "refusal": refusal_text(refusal, reading.lang, wf) if refusal else None,
            "fields": fields_from_specs(t.spec.input, reading.lang,
                                        references=reading.references), "errors": {},
        })
    return found


def _checklist(reading: Reading, detail: Any,
               people: Callable[[Iterable[str]], Mapping[str, str]]) -> list[dict[str, Any]]:
    """The stage's items; who ticked one by the name shown on pages (a sign-in name or a
    token's name is shown as it is only when it is nobody's)."""
    wf, case = detail.workflow, detail.case
    shown = people([str(t["actor"]) for t in case.checklist.values() if t.get("actor")])
    items = []
    for item, tick in case.checklist.items():
        spec = wf.states[tick["state"]].spec.checklist.get(item)
        items.append({
            "item": item, "title": as_text(spec.title if spec else None, reading.lang, item),
            "description": as_text(spec.description, reading.lang) if spec else "",
            "evidence_required": bool(spec.evidence) if spec else False,
            "ticked": tick["ticked"], "evidence": tick.get("evidence"),
            "actor": shown.get(str(tick.get("actor")), tick.get("actor")),
            "at": tick.get("at")})
    return items


def case_page(request: Request, desk: Desk, case_id: str, *, status: int = 200,
              notice: str | None = None, failed: dict[str, Any] | None = None) -> Response:
    """The record's page; `failed` puts a refusal (and what was typed) beside its form."""
    reading = Reading.of(request, desk)
    try:
        detail = reading.case(case_id)
    except NotFound:
        return _not_found(request, desk)
    actions = _actions(reading, detail) if desk.principal.acting_roles else []
    errors: dict[str, str] = {}
    if failed is not None:
        for action in actions:
            if action["trigger"] == failed.get("trigger"):
                action.update(failed)
                errors = failed.get("errors", {})
    context = {
        "detail": detail, "case": detail.case, "actions": actions,
        "checklist": _checklist(reading, detail, accounts(request).users.display_names),
        "history": timeline(reading, detail, accounts(request).users.display_names),
        "diagram": case_diagram(detail.workflow, detail.case.state, desk.lang),
        "form_key": secrets.token_urlsafe(12), "notice": notice, "errors": errors,
        "failed": failed or {}, "acting": bool(desk.principal.acting_roles),
        "responsible": responsible(request, desk, detail.case),
    }
    return render(request, "case.html", context, status=status)


def responsible(request: Request, desk: Desk, view: Any) -> Any:
    """The responsible person's panel (`api.console.assignment`, imported here late: it
    builds on this module's change helpers)."""
    from api.console.assignment import responsible as panel

    return panel(request, desk, view)


DONE = frozenset({"start", "tick", "untick", "suspend", "resume", "assign", "follow_up"})


def refusal_text(refusal: Refusal, lang: str, wf: CompiledWorkflow | None = None) -> str:
    """A refusal in people's words: roles and checklist items by their titles, never by
    their codes."""
    details = refusal.details
    if refusal.code == "role_missing":
        roles = [role_title(r, lang) for r in details.get("required_roles", [])]
        return text("refusal.role_missing", lang, roles="、".join(roles))
    if refusal.code == "checklist_incomplete" and wf is not None:
        titles = {item: as_text(spec.title, lang, item) for info in wf.states.values()
                  for item, spec in info.spec.checklist.items()}
        missing = [titles.get(item, item) for item in details.get("missing", [])]
        return text("refusal.checklist_incomplete", lang, items="、".join(missing))
    return refusal.message(lang)


def _done_notice(request: Request, desk: Desk, case_id: str) -> str | None:
    """What the last change did, said in the page's words (the link carries only a code)."""
    done = request.query_params.get("done") or ""
    if done in DONE:
        return text(f"done.{done}", desk.lang)
    if done.startswith("fire:"):
        reading = Reading.of(request, desk)
        try:
            view = reading.visible(case_id)
            wf = reading.workflow(view.workflow_id, view.workflow_version)
        except HatcheryError:
            return None
        if done[5:] in wf.triggers:
            return text("done.fire", desk.lang, what=reading.trigger_title(wf, done[5:]))
    return None


@router.get("/cases/{case_id}")
def show_case(request: Request, case_id: str, desk: CurrentDesk) -> Response:
    case_id = case_id[:64]
    return case_page(request, desk, case_id, notice=_done_notice(request, desk, case_id))


def _change(request: Request, desk: Desk, case_id: str, what: str, form: FormData,
            operation: Callable[[int | None, str | None], Any],
            failed: dict[str, Any] | None = None) -> Response:
    """Run a change through the door with the form's version and idempotency key; back to
    the page with the outcome in place. The caller has checked the record's scope."""
    try:
        operation(_version(form), _idempotency(desk, form))
    except Conflict:
        return case_page(request, desk, case_id, status=409,
                         notice=text("case.stale", desk.lang))
    except Refused as refused:
        return _refused(request, desk, case_id, refused.refusal, failed or {})
    except NotFound:
        return _not_found(request, desk)
    return RedirectResponse(f"/cases/{case_id}?done={quote(what)}", status_code=303)


def record_refusal(request: Request, desk: Desk, code: str) -> None:
    """A refused attempt goes to the operations log, as the API records its refusals
    (unless the door recorded it in the transaction that refused it)."""
    attempt = ATTEMPT.get()
    if attempt is not None and attempt.logged:
        return
    service = request.app.state.service
    record_operation(service.engine, actor=desk.principal.name, action="change_refused",
                     at=service.clock.now(), outcome="refused", target=request.url.path,
                     community=desk.principal.community,
                     detail={"method": request.method, "code": code, "via": "console"})


def _refused(request: Request, desk: Desk, case_id: str, refusal: Refusal,
             failed: dict[str, Any]) -> Response:
    record_refusal(request, desk, refusal.code)
    labels = {f.name: f.label for f in failed.get("fields", [])}
    errors = problems_by_field(refusal.details.get("errors", []), desk.lang, labels,
                               prefix=failed.get("prefix", ""))
    wf = failed.get("workflow")
    failed = {**failed, "allowed": True, "refusal": refusal_text(refusal, desk.lang, wf),
              "errors": errors}
    status = 409 if refusal.code in ("checklist_incomplete", "not_allowed_from_state") else 422
    if refusal.code in ("role_missing", "assignment_not_allowed", "follow_up_not_allowed"):
        status = 403
    return case_page(request, desk, case_id, status=status, failed=failed)


@router.post("/cases/{case_id}/fire/{trigger}")
async def fire(request: Request, case_id: str, trigger: str, desk: CurrentDesk,
               form: CheckedForm) -> Response:
    return await run_in_threadpool(_fire, request, desk, case_id[:64], trigger[:64], form)


def _fire(request: Request, desk: Desk, case_id: str, trigger: str,
          form: FormData) -> Response:
    reading = Reading.of(request, desk)
    try:
        view = reading.visible(case_id)
    except NotFound:
        return _not_found(request, desk)
    wf = reading.workflow(view.workflow_id, view.workflow_version)
    candidates = [t for t in wf.transitions if t.trigger == trigger]
    specs = candidates[0].spec.input if candidates else {}
    values, unreadable = read_values(specs, form, prefix="in-")
    comment = str(form.get("comment") or "").strip() or None
    typed = fields_from_specs(specs, desk.lang, {**_raw(form, specs), **values},
                              references=reading.references)
    failed = {"trigger": trigger, "fields": typed, "prefix": "in-", "comment": comment,
              "workflow": wf}
    if unreadable:
        return _unreadable(request, desk, case_id, unreadable, failed)
    service, actor = reading.service, desk.principal.actor
    return _change(request, desk, case_id, f"fire:{trigger}", form, lambda v, k: service.fire(
        case_id, trigger, input=values, actor=actor, expected_version=v, comment=comment,
        idempotency_key=k), failed)


def _unreadable(request: Request, desk: Desk, case_id: str, problems: list[Any],
                failed: dict[str, Any]) -> Response:
    refusal = Refusal("input_invalid", "the input is not valid", "输入有误",
                      {"errors": [p.as_dict() for p in problems]})
    return _refused(request, desk, case_id, refusal, failed)


def _raw(form: FormData, specs: Any) -> dict[str, Any]:
    """What was typed, to give back in the form when it is refused."""
    return {name: form.get("in-" + name) for name in specs if form.get("in-" + name)}


@router.post("/cases/{case_id}/checklist/{item}")
async def checklist(request: Request, case_id: str, item: str, desk: CurrentDesk,
                    form: CheckedForm) -> Response:
    """Tick (with evidence) or untick (with a reason) an item of the stage's checklist."""
    case_id, item = case_id[:64], item[:64]
    reading = Reading.of(request, desk)
    service, actor = reading.service, desk.principal.actor
    if not await run_in_threadpool(reading.can_see, case_id):
        return _not_found(request, desk)
    note = str(form.get("note") or "").strip() or None
    failed = {"trigger": f"checklist:{item}"}
    if form.get("untick") == "1":
        return await run_in_threadpool(
            _change, request, desk, case_id, "untick", form, lambda v, k: service.untick(
                case_id, item, actor=actor, reason=note, expected_version=v,
                idempotency_key=k), failed)
    return await run_in_threadpool(
        _change, request, desk, case_id, "tick", form, lambda v, k: service.tick(
            case_id, item, evidence=note, actor=actor, expected_version=v,
            idempotency_key=k), failed)


@router.post("/cases/{case_id}/suspension")
async def suspension(request: Request, case_id: str, desk: CurrentDesk,
                     form: CheckedForm) -> Response:
    """Suspend (with a reason) or resume the record."""
    case_id = case_id[:64]
    reading = Reading.of(request, desk)
    service, actor = reading.service, desk.principal.actor
    if not await run_in_threadpool(reading.can_see, case_id):
        return _not_found(request, desk)
    note = str(form.get("note") or "").strip()
    if form.get("resume") == "1":
        return await run_in_threadpool(
            _change, request, desk, case_id, "resume", form,
            lambda v, k: service.resume(case_id, actor=actor, comment=note or None,
                                        expected_version=v, idempotency_key=k),
            {"trigger": "resume"})
    return await run_in_threadpool(
        _change, request, desk, case_id, "suspend", form,
        lambda v, k: service.suspend(case_id, actor=actor, reason=note, expected_version=v,
                                     idempotency_key=k), {"trigger": "suspend"})
