"""The auditor's desk, counting: stage statistics of a workflow in the person's scope (a
table and a bar chart drawn on the server as SVG: no script, no chart library), and the
operations log (what changed no record: sign-ins, exports, verifications, versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.console.audit import AuditDesk, people_of
from api.console.i18n import CHINA, text
from api.console.reading import Reading
from api.console.templating import render
from api.console.texts_audit import ACTIONS
from engine.audit.stats import StageStats, stage_stats
from engine.catalogue import Catalogue
from engine.errors import HatcheryError
from engine.store.operations import list_operations

router = APIRouter(prefix="/audit")
DAY = 86_400.0
BAR_WIDTH = 420
OPERATIONS_PAGE = 50


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()[:10]) if raw else None
    except ValueError:
        return None


def _midnight(day: date | None, after: bool = False) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1 if after else 0), time(), CHINA)


@dataclass(frozen=True)
class Bar:
    """One stage of the chart: its title, the records in it now, the median days."""

    title: str
    depth: int
    in_now: int
    width: int
    median_days: float | None


def chart(found: StageStats) -> list[Bar]:
    """The bars, scaled to the stage with the most records now."""
    most = max((row.in_now for row in found.states), default=0) or 1
    return [Bar(row.title, 1 if row.parent else 0, row.in_now,
                round(BAR_WIDTH * row.in_now / most),
                None if row.median_seconds is None else round(row.median_seconds / DAY, 1))
            for row in found.states]


def days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / DAY, 1)


@router.get("/stats")
async def statistics(request: Request, desk: AuditDesk) -> Response:
    reading = Reading.of(request, desk)
    params = request.query_params
    workflows = reading.workflows()
    known = {w.id for w in workflows}
    workflow = params.get("workflow") if params.get("workflow") in known else None
    since, until = _day(params.get("from")), _day(params.get("to"))
    context: dict[str, Any] = {"section": "audit.stats", "workflows": workflows,
                               "workflow": workflow, "since": since, "until": until,
                               "days": days, "bar_width": BAR_WIDTH}
    if workflow is not None:
        found = await run_in_threadpool(
            stage_stats, reading.service.engine, reading.service.registry, workflow,
            since=_midnight(since), until=_midnight(until, after=True),
            community_prefix=reading.scope(), lang=desk.lang)
        context["found"] = found
        context["bars"] = chart(found)
        context["empty"] = not any(row.in_now or row.passed_through for row in found.states)
    return render(request, "audit_stats.html", context)


# The names of an operation's details, as its line shows them.
_DETAIL_KEYS = Catalogue.zh_en("console.audit_details", {
    "address": ("地址", "address"), "format": ("格式", "format"), "reason": ("原因", "reason"),
    "digest": ("摘要", "digest"), "cases": ("档案数", "records"), "intact": ("完整", "intact"),
    "breaks": ("问题数", "problems"), "workflow": ("流程", "workflow"),
    "version": ("版本", "version"),
})


def action_title(action: str, lang: str) -> str:
    titles = ACTIONS.get(action)
    return titles.get(lang) if titles else action


def detail_text(detail: dict[str, Any], lang: str) -> str:
    """The entry's detail in a line people read (addresses, formats, digests, reasons)."""
    parts = []
    for key, value in detail.items():
        if key not in _DETAIL_KEYS or value is None:
            continue
        if isinstance(value, bool):
            value = text("form.yes" if value else "form.no", lang)
        if key == "digest" and isinstance(value, str):
            value = value[:16] + "…"
        parts.append(f"{_DETAIL_KEYS.text(key, lang)}：{value}")
    return "；".join(parts)


def _target(reading: Reading, target: str | None) -> tuple[str | None, str | None]:
    """(record id, title) for a record in the person's scope, else (None, the target)."""
    if target is None:
        return None, None
    try:
        view = reading.visible(target)
    except HatcheryError:
        return None, target
    public = reading.presenter.case(view, reading.principal, reading.lang)
    return target, public.title or public.state_title


def _rows(reading: Reading, found: list[Any], shown: dict[str, str]) -> list[dict[str, Any]]:
    lang = reading.lang
    return [{"at": o.at, "actor": shown.get(o.actor, o.actor),
             "action": action_title(o.action, lang),
             "outcome": text(f"outcome.{o.outcome}", lang), "refused": o.outcome != "done",
             "target": _target(reading, o.target), "detail": detail_text(o.detail, lang)}
            for o in found]


@router.get("/operations")
async def operations(request: Request, desk: AuditDesk) -> Response:
    reading = Reading.of(request, desk)
    params = request.query_params
    shown, back = await run_in_threadpool(people_of, request)
    actor = (params.get("actor") or "").strip()[:200] or None
    action = params.get("action") if params.get("action") in ACTIONS else None
    since, until = _day(params.get("since")), _day(params.get("until"))
    after = params.get("after")
    found, following = await run_in_threadpool(lambda: list_operations(
        reading.service.engine, community_prefix=reading.scope(),
        actor=back.get(actor, actor) if actor else None, action=action,
        since=_midnight(since), until=_midnight(until, after=True),
        after=int(after) if after and after.isdigit() else None, limit=OPERATIONS_PAGE))
    rows = await run_in_threadpool(_rows, reading, found, shown)
    query = {"actor": actor or "", "action": action or "",
             "since": since.isoformat() if since else "",
             "until": until.isoformat() if until else ""}
    context = {"section": "audit.operations", "rows": rows, "people": sorted(set(shown.values())),
               "actions": [(code, action_title(code, desk.lang)) for code in ACTIONS],
               "chosen": query, "following": following,
               "next_query": urlencode({k: v for k, v in query.items() if v})}
    return render(request, "audit_operations.html", context)
