"""`hatchery timers list`: the timers of the store, soonest due first, as a table.

The table fits an 80-column terminal: each timer by its title (in `--lang`) above its
`state:timer` key, the case by its title above its id, what it does in words, when it is
due; what a fired timer did, and who holds a claimed one, on a line below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.catalogue import Catalogue
from engine.errors import HatcheryError, Refused, StoreUnavailable
from engine.language.spec import as_text
from engine.settings import Settings
from engine.timers.calendar import CHINA_TZ

if TYPE_CHECKING:
    from engine.service import CaseService, TimerView

timers_app = typer.Typer(help="Timers: deadlines, reminders and periodic reviews.",
                         no_args_is_help=True)

STATES = ("pending", "claimed", "paused", "fired", "cancelled", "all")


def parse_moment(text: str) -> datetime:
    """An ISO date or datetime; without a zone it is China time (a date: its midnight)."""
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as error:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or datetime such as 2026-04-01 or "
            "2026-04-01T09:00+08:00") from error
    if len(raw) == 10:  # a bare date
        parsed = datetime.combine(parsed.date(), time(0))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA_TZ)
    return parsed


def _shown(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _outcome_text(outcome: dict[str, Any] | None) -> str:
    if not outcome:
        return ""
    result = str(outcome.get("result", ""))
    if result == "refused":
        text = f"refused: {outcome.get('code')}"
    elif outcome.get("kind") == "transition":
        text = f"fired {outcome.get('trigger')} -> {outcome.get('to_state')}"
    elif outcome.get("kind"):
        text = f"{outcome.get('kind')} (event {outcome.get('seq')})"
    else:
        text = result
    if outcome.get("next_due"):
        text += f"; next {_shown(datetime.fromisoformat(outcome['next_due']))}"
    if outcome.get("note"):
        text += f"; {outcome['note']}"
    return text


def _as_json(view: TimerView) -> dict[str, Any]:
    plain = dict(view.__dict__)
    for name, value in plain.items():
        if isinstance(value, datetime):
            plain[name] = value.isoformat()
    return plain


@timers_app.command("list")
def list_timers(
    case: Annotated[str | None, typer.Option("--case", help="Only this case's timers.")]
        = None,
    due_before: Annotated[str | None, typer.Option(
        "--due-before", help="Only timers due before this ISO date or datetime "
                             "(China time unless a zone is given).")] = None,
    state: Annotated[str, typer.Option(
        "--status", "--state", help="The timer's status: pending, claimed (being fired), "
                                    "paused, fired, cancelled or all.")]
        = "pending",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    lang: Annotated[str, typer.Option("--lang", help="zh or en (titles and words).")]
        = "en",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
        = False,
) -> None:
    """Show timers, soonest due first (times in China time, UTC+8)."""
    if state not in STATES:
        raise typer.BadParameter(f"use one of {', '.join(STATES)}", param_hint="--status")
    before = parse_moment(due_before) if due_before else None
    try:
        shown = _fetch(case, before, None if state == "all" else state, limit,
                       "zh" if lang == "zh" else "en")
    except (Refused, StoreUnavailable) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    except HatcheryError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        for item in shown:
            typer.echo(json.dumps(_as_json(item.view), ensure_ascii=False))
        return
    _print_table(shown, state, "zh" if lang == "zh" else "en")


@dataclass(frozen=True)
class _Shown:
    """A timer with the words people read: its case's title and its own."""

    view: TimerView
    case_title: str
    timer_title: str


def _fetch(case: str | None, before: datetime | None, state: str | None,
           limit: int, lang: str) -> list[_Shown]:
    from engine.clock import SystemClock
    from engine.definitions.registry import WorkflowRegistry
    from engine.service import CaseService
    from engine.store.db import make_engine
    from engine.store.migrating import upgrade

    engine = make_engine(Settings().resolved_database_url())
    try:
        upgrade(engine)
        clock = SystemClock()
        service = CaseService(engine, WorkflowRegistry(engine, clock), clock)
        views, _ = service.list_timers(case_id=case, due_before=before, status=state,
                                       limit=limit)
        return [_words(service, view, lang) for view in views]
    finally:
        engine.dispose()


def _words(service: CaseService, view: TimerView, lang: str) -> _Shown:
    """The case's title and the timer's, from the case's own workflow version."""
    try:
        case = service.get_case(view.case_id)
        wf = service.registry.get(case.workflow_id, case.workflow_version)
    except HatcheryError:
        return _Shown(view, "", view.timer_id)
    state = wf.states.get(view.state)
    spec = next((t for t in (state.spec.timers if state else []) if t.id == view.timer_id),
                None)
    title = as_text(spec.title if spec else None, lang, view.timer_id)
    return _Shown(view, case.title or "", title)


WORDS = Catalogue.en_zh("cli.timers", {
    "fire": ("fires {trigger}", "触发“{trigger}”"), "mark_overdue": ("marks overdue", "标记逾期"),
    "escalate": ("escalates", "提醒督办"), "repeats": (" (repeats)", "（周期）"),
    "due": ("due (UTC+8)", "到期（北京时间）"), "case": ("case", "档案"),
    "timer": ("timer", "期限"), "does": ("does", "动作"), "status": ("status", "状态"),
})
_ACTIONS = frozenset({"fire", "mark_overdue", "escalate"})


def _print_table(shown: list[_Shown], state: str, lang: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not shown:
        console.print(f"no {state if state != 'all' else ''} timers".replace("  ", " "))
        return
    now = datetime.now(CHINA_TZ)
    table = Table(title=f"Timers ({state})", title_justify="left", pad_edge=False,
                  padding=(0, 1))
    due, case, timer, does, status = (WORDS.text(k, lang)
                                       for k in ("due", "case", "timer", "does", "status"))
    table.add_column(due, style="bold", no_wrap=True)
    table.add_column(case, overflow="fold", ratio=1, min_width=16)
    table.add_column(timer, overflow="fold", ratio=2, min_width=12)
    table.add_column(does, overflow="fold", max_width=16)
    table.add_column(status, no_wrap=True)
    for item in shown:
        view = item.view
        action = (WORDS.text(view.action, lang, trigger=view.trigger or "")
                  if view.action in _ACTIONS else view.action)
        if view.repeat:
            action += WORDS.text("repeats", lang)
        status_text = view.status
        if (view.status == "pending" and view.claimed_until is not None
                and view.claimed_until > now):
            status_text = "claimed"
        if view.status == "paused" and view.remaining_seconds is not None:
            status_text += f" {view.remaining_seconds / 86400:.1f}d"
        timer_text = f"{escape(item.timer_title)}\n[dim]{view.key}[/dim]"
        done = _outcome_text(view.outcome)
        if view.claimed_by:
            done = f"{done}; by {view.claimed_by}" if done else f"by {view.claimed_by}"
        if done:
            timer_text += f"\n[dim]{escape(done)}[/dim]"
        table.add_row(_shown(view.due_at), f"{escape(item.case_title)}\n[dim]{view.case_id}[/dim]",
                      timer_text, action, status_text)
    console.print(table)
