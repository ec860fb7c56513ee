"""The responsible person (责任人) at the desk: claiming a record, assigning and handing it
over (one by one on the record's page, or in bulk when a colleague moves on), and the
follow-up date the responsible person sets for themselves.

Every change goes through the door (`CaseService.assign`, `follow_up`), which decides who
may do what and records each change in the record's history; the candidates offered are
the people whose roles may change records and whose scope covers the record
(`CaseService.assignee_candidates`, as the API checks them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import CheckedForm, CurrentDesk, Desk, accounts
from api.console.case import _change, _not_found
from api.console.i18n import text
from api.console.reading import Reading
from api.console.templating import render
from engine.errors import HatcheryError
from engine.service.assignment import LEAD_ROLES

router = APIRouter()
HANDOVER_LIMIT = 500


@dataclass(frozen=True)
class Responsible:
    """The record's responsible person as its page shows them, and what this person may
    do about it."""

    assignee: str | None
    shown: str | None
    follow_up_on: date | None
    mine: bool
    lead: bool
    may_claim: bool
    candidates: list[tuple[str, str]]


def responsible(request: Request, desk: Desk, view: Any) -> Responsible | None:
    """The panel's content, or None for people who may not change records."""
    principal = desk.principal
    if not principal.acting_roles:
        return None
    assignee = getattr(view, "assignee", None)
    lead = bool(principal.roles & LEAD_ROLES)
    mine = assignee == principal.name
    offered: list[tuple[str, str]] = []
    if lead or mine:
        offered = [(u.name, u.display_name or u.name)
                   for u in request.app.state.service.assignee_candidates(view.community)
                   if u.name != assignee]
    shown = accounts(request).users.display_names([assignee]).get(assignee, assignee) \
        if assignee else None
    return Responsible(assignee, shown, getattr(view, "follow_up_on", None), mine, lead,
                       assignee is None, offered)


@router.post("/cases/{case_id}/assignment")
async def assign(request: Request, case_id: str, desk: CurrentDesk,
                 form: CheckedForm) -> Response:
    return await run_in_threadpool(_assign, request, desk, case_id[:64], form)


def _assign(request: Request, desk: Desk, case_id: str, form: FormData) -> Response:
    reading = Reading.of(request, desk)
    try:
        view = reading.visible(case_id)
    except HatcheryError:
        return _not_found(request, desk)
    chosen = str(form.get("assignee") or "").strip()[:200]
    if form.get("claim") == "1":
        chosen = desk.principal.name
    assignee = None if form.get("release") == "1" else (chosen or None)
    if assignee is not None and not reading.service.is_assignee_candidate(assignee,
                                                                         view.community):
        return _not_found(request, desk)
    comment = str(form.get("comment") or "").strip()[:4000] or None
    service, actor = reading.service, desk.principal.actor
    return _change(request, desk, case_id, "assign", form, lambda v, k: service.assign(
        case_id, assignee, actor=actor, comment=comment, expected_version=v,
        idempotency_key=k), {"trigger": "assign"})


@router.post("/cases/{case_id}/follow-up")
async def follow_up(request: Request, case_id: str, desk: CurrentDesk,
                    form: CheckedForm) -> Response:
    return await run_in_threadpool(_follow_up, request, desk, case_id[:64], form)


def _follow_up(request: Request, desk: Desk, case_id: str, form: FormData) -> Response:
    reading = Reading.of(request, desk)
    if not reading.can_see(case_id):
        return _not_found(request, desk)
    raw = str(form.get("on") or "").strip()
    try:
        on = None if form.get("clear") == "1" or not raw else date.fromisoformat(raw[:10])
    except ValueError:
        on = None
    service, actor = reading.service, desk.principal.actor
    return _change(request, desk, case_id, "follow_up", form, lambda v, k: service.follow_up(
        case_id, on, actor=actor, expected_version=v, idempotency_key=k),
        {"trigger": "follow_up"})


# -- handing over in bulk ----------------------------------------------------------------


def _people(request: Request, desk: Desk) -> list[tuple[str, str]]:
    scope = desk.principal.community
    return [(u.name, u.display_name or u.name)
            for u in request.app.state.service.assignee_candidates(scope)]


@router.get("/handover")
def handover(request: Request, desk: CurrentDesk) -> Response:
    if not desk.principal.roles & LEAD_ROLES:
        return render(request, "error.html", {"heading": text("error.forbidden", desk.lang),
                                              "message": text("resp.lead_only", desk.lang)},
                      status=403)
    reading = Reading.of(request, desk)
    people = _people(request, desk)
    known = dict(people)
    source = request.query_params.get("from")
    records: list[tuple[str, str]] = []
    if source in known:
        views, _ = reading.service.list_cases(
            community_prefix=reading.scope(), assignee=source, status="active",
            limit=HANDOVER_LIMIT, pii=desk.principal.sees_pii)
        records = [(v.id, reading.presenter.case(v, desk.principal, desk.lang).title or v.id)
                   for v in views]
    return render(request, "handover.html", {
        "people": people, "source": source if source in known else None,
        "records": records, "errors": {}, "notice": _notice(request, desk.lang)})


def _notice(request: Request, lang: str) -> str | None:
    done = request.query_params.get("done")
    return text("handover.done", lang, n=int(done)) if done and done.isdigit() else None


@router.post("/handover")
async def hand_over(request: Request, desk: CurrentDesk, form: CheckedForm) -> Response:
    return await run_in_threadpool(_hand_over, request, desk, form)


def _hand_over(request: Request, desk: Desk, form: FormData) -> Response:
    if not desk.principal.roles & LEAD_ROLES:
        return render(request, "error.html", {"heading": text("error.forbidden", desk.lang)},
                      status=403)
    reading = Reading.of(request, desk)
    source, target = str(form.get("from") or ""), str(form.get("to") or "")
    known = dict(_people(request, desk))
    if target not in known or source not in known or source == target:
        return render(request, "error.html", {"heading": text("handover.same", desk.lang)},
                      status=422)
    done, failed = 0, []
    for case_id in [str(v) for v in form.getlist("case")][:HANDOVER_LIMIT]:
        try:
            view = reading.visible(case_id)
            if view.assignee == target:  # a form sent twice: already handed over
                done += 1
                continue
            if view.assignee != source or not reading.service.is_assignee_candidate(
                    target, view.community):
                raise HatcheryError("not theirs")
            reading.service.assign(case_id, target, actor=desk.principal.actor,
                                   comment=str(form.get("comment") or "")[:4000] or None,
                                   expected_version=None)
            done += 1
        except HatcheryError:
            failed.append(case_id)
    if failed:
        titles = []
        for case_id in failed[:10]:
            try:
                titles.append(reading.presenter.case(reading.visible(case_id), desk.principal,
                                                     desk.lang).title or "")
            except HatcheryError:
                continue
        return render(request, "handover.html", {
            "people": list(known.items()), "source": source, "records": [], "errors": {
                "case": text("handover.failed", desk.lang, n=len(failed),
                             titles="、".join(titles))},
            "notice": text("handover.done", desk.lang, n=done)}, status=409)
    return RedirectResponse(f"/handover?done={done}", status_code=303)
