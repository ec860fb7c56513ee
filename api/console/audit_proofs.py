"""The auditor's desk, looking back and proving: a record as it stood on a date, the
records in a stage on a date, the chains in the person's scope verified, and checkpoints
taken, listed and checked.

A date means the end of that day in China Standard Time. A checkpoint is kept outside
the database (the file the person downloads, and the digest they write down), as the
CLI's `hatchery audit checkpoint` keeps it; the operations log lists each one taken with
its digest, so that a file brought back can be compared with what was logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from api.console.audit import AuditDesk, people_of
from api.console.auth import CheckedForm, Desk
from api.console.history import what_of
from api.console.i18n import CHINA, TEXTS, text
from api.console.reading import Reading
from api.console.templating import render
from engine.audit.history import case_at, cases_in_state
from engine.audit.masking import mask_fields, mask_value
from engine.audit.proofs import checkpoint_scope, verify_scope
from engine.audit.verify import verify_checkpoint
from engine.errors import HatcheryError, NotFound
from engine.language.spec import as_text
from engine.ledger.chain import Checkpoint
from engine.service import EventView
from engine.store.operations import list_operations, record

router = APIRouter(prefix="/audit")
MAX_CHECKPOINT_BYTES = 50_000_000


def end_of(day: date) -> datetime:
    """The last instant of a day in China Standard Time."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA) - timedelta(microseconds=1)


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()[:10]) if raw else None
    except ValueError:
        return None


@dataclass(frozen=True)
class StoodAt:
    """A record as it stood at the end of a day, in people's words."""

    title: str
    stage: str
    status: str
    fields: list[tuple[str, str]]
    checklist: list[tuple[str, bool]]
    last: tuple[str, str, datetime]
    entered: tuple[str, str, datetime]


def _stood(reading: Reading, case_id: str, day: date, people: dict[str, str]) -> StoodAt:
    view = reading.visible(case_id)
    found = case_at(reading.service.engine, reading.service.registry, case_id, end_of(day))
    wf = reading.workflow(found.workflow_id, found.workflow_version)
    data = dict(found.data)
    if not reading.principal.sees_pii:
        data = mask_fields(data, reading.presenter.sensitive(found.workflow_id,
                                                             found.workflow_version))
    public = reading.presenter.case(view, reading.principal, reading.lang)
    fields = [(as_text(spec.title, reading.lang, name), reading.shown(spec, data[name]))
              for name, spec in wf.fields.items() if data.get(name) is not None]
    items = wf.states[found.state].spec.checklist if found.state in wf.states else {}
    checklist = [(as_text(item.title, reading.lang, key), key in found.checklist)
                 for key, item in items.items()]

    def said(event: dict[str, Any]) -> tuple[str, str, datetime]:
        shown = reading.presenter.event(EventView(**event), reading.principal)
        what, detail = what_of(reading, wf, shown)
        actor = (text("event.system", reading.lang) if shown.actor.startswith("system:")
                 else people.get(shown.actor, shown.actor))
        return (f"{what} {detail}" if detail else what), actor, shown.at

    return StoodAt(public.title or public.state_title, reading.state_title(wf, found.state),
                   found.status, fields, checklist, said(found.event), said(found.entered_by))


@router.get("/at")
async def as_at(request: Request, desk: AuditDesk) -> Response:
    reading = Reading.of(request, desk)
    params = request.query_params
    today = reading.service.clock.now().astimezone(CHINA).date()
    context: dict[str, Any] = {"section": "audit.at", "workflows": reading.workflows(),
                               "today": today, "q": (params.get("q") or "").strip()[:100]}
    day = _day(params.get("on")) or today
    context["on"] = day
    if context["q"]:
        views, _ = await run_in_threadpool(lambda: reading.service.list_cases(
            text=context["q"], community_prefix=reading.scope(), order="updated", limit=20))
        context["matches"] = [(v.id, reading.presenter.case(v, reading.principal,
                                                            reading.lang).title or v.id)
                              for v in views]
    case_id = params.get("case")
    if case_id:
        shown, _ = await run_in_threadpool(people_of, request)
        try:
            context["stood"] = await run_in_threadpool(_stood, reading, case_id, day, shown)
        except NotFound:
            context["not_yet"] = reading.can_see(case_id)
        context["case"] = case_id
    await run_in_threadpool(_in_stage, reading, params, today, context)
    return render(request, "audit_at.html", context)


def _in_stage(reading: Reading, params: Any, today: date, context: dict[str, Any]) -> None:
    known = {w.id: w for w in reading.workflows()}
    workflow = params.get("workflow") if params.get("workflow") in known else None
    context["workflow"] = workflow
    context["day"] = _day(params.get("day")) or today
    if workflow is None:
        return
    wf = reading.workflow(workflow)
    context["stages"] = [(sid, as_text(info.spec.title, reading.lang, sid))
                         for sid, info in wf.states.items()]
    stage = params.get("stage") if params.get("stage") in wf.states else None
    context["stage"] = stage
    if stage is None:
        return
    found, following = cases_in_state(
        reading.service.engine, reading.service.registry, workflow, stage,
        end_of(context["day"]), community_prefix=reading.scope(),
        after=params.get("after") or None, limit=100)
    rows = []
    for item in found:
        title = item.title
        names = reading.presenter.sensitive(workflow, item.workflow_version)
        if title is not None and not reading.principal.sees_pii and (
                names is None or wf.spec.title_field in names):
            title = mask_value(title)
        version = reading.workflow(workflow, item.workflow_version)
        rows.append((item.case_id, title or reading.state_title(version, item.state),
                     reading.state_title(version, item.state), item.event_at))
    context["in_stage"] = rows
    context["stage_title"] = reading.state_title(wf, stage)
    context["after"] = following


# -- verification and checkpoints --------------------------------------------------------


def _checkpoints(desk: Desk, reading: Reading) -> list[Any]:
    found, _ = list_operations(reading.service.engine, community_prefix=reading.scope(),
                               action="checkpoint", limit=1000)
    return list(reversed(found))[:50]


def _integrity(request: Request, desk: Desk, **extra: Any) -> Response:
    reading = Reading.of(request, desk)
    shown, _ = people_of(request)
    context = {"section": "audit.integrity", "kept": _checkpoints(desk, reading),
               "people": shown, **extra}
    return render(request, "audit_integrity.html", context)


@router.get("/integrity")
def integrity(request: Request, desk: AuditDesk) -> Response:
    return _integrity(request, desk)


@router.post("/verify")
def verify(request: Request, desk: AuditDesk, form: CheckedForm) -> Response:
    """Every chain in the person's scope, verified now; the breaks named by record."""
    reading = Reading.of(request, desk)
    service = reading.service
    scope = reading.scope()
    breaks = verify_scope(service.engine, scope)
    count = _count(reading)
    record(service.engine, actor=desk.principal.name, action="verify", at=service.clock.now(),
           community=scope, detail={"intact": not breaks, "breaks": len(breaks),
                                    "console": True})
    named = []
    for b in breaks:
        try:
            view = service.get_case(b.case_id)
            title = reading.presenter.case(view, reading.principal, desk.lang).title
        except HatcheryError:
            title = None
        named.append({"case_id": b.case_id, "title": title, "seq": b.seq,
                      "message": _reason(b.reason, desk.lang)})
    return _integrity(request, desk, verified={"intact": not breaks, "count": count,
                                               "breaks": named})


def _count(reading: Reading) -> int:
    kept = checkpoint_scope(reading.service.engine, reading.service.clock.now(),
                            reading.scope())
    return len(kept.heads)


@router.post("/checkpoint")
def take_checkpoint(request: Request, desk: AuditDesk, form: CheckedForm) -> Response:
    """Every head in scope now and its digest, as a file to keep; logged with the digest."""
    reading = Reading.of(request, desk)
    service = reading.service
    kept = checkpoint_scope(service.engine, service.clock.now(), reading.scope())
    record(service.engine, actor=desk.principal.name, action="checkpoint",
           at=service.clock.now(), community=reading.scope(),
           detail={"digest": kept.digest, "cases": len(kept.heads), "console": True})
    stamp = kept.taken_at.astimezone(CHINA).strftime("%Y%m%d-%H%M%S")
    return Response(kept.to_json(), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="checkpoint-{stamp}.json"',
        "Cache-Control": "no-store"})


@router.post("/checkpoint/verify")
async def check_checkpoint(request: Request, desk: AuditDesk, form: CheckedForm) -> Response:
    """A kept checkpoint file, checked against the store: nothing before it removed or
    rewritten; its digest compared with the one logged when it was taken."""
    upload = form.get("file")
    raw = await upload.read(MAX_CHECKPOINT_BYTES) if isinstance(upload, UploadFile) else b""
    try:
        kept = Checkpoint.from_json(raw)
    except (ValueError, TypeError, KeyError):
        return await run_in_threadpool(_integrity, request, desk, checked={
            "error": text("checkpoint.unreadable", desk.lang)})
    return await run_in_threadpool(_check, request, desk, kept)


def _elsewhere(reading: Reading, case_id: str) -> bool:
    """A record that exists outside the person's scope (one that no longer exists is for
    the check to report, not a reason to refuse it)."""
    try:
        view = reading.service.get_case(case_id)
    except NotFound:
        return False
    return not reading.principal.sees(view.community)


def _check(request: Request, desk: Desk, kept: Checkpoint) -> Response:
    reading = Reading.of(request, desk)
    scope = reading.scope()
    if scope is not None and any(_elsewhere(reading, case_id) for case_id in kept.heads):
        return _integrity(request, desk, checked={
            "error": text("checkpoint.out_of_scope", desk.lang)})
    found = verify_checkpoint(reading.service.engine, kept)
    logged = any(entry.detail.get("digest") == kept.digest
                 for entry in _checkpoints(desk, reading))
    record(reading.service.engine, actor=desk.principal.name, action="verify",
           at=reading.service.clock.now(), community=scope,
           detail={"checkpoint": kept.digest, "intact": found is None, "console": True})
    return _integrity(request, desk, checked={
        "holds": found is None, "digest": kept.digest, "taken_at": kept.taken_at,
        "logged": logged, "message": _reason(found.reason, desk.lang) if found else None,
        "case_id": found.case_id if found else None})


def _reason(reason: str, lang: str) -> str:
    key = f"break.{reason}"
    return text(key, lang) if key in TEXTS else reason
