"""`hatchery timers list`: the timers of the store, soonest due first, as a table."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.errors import HatcheryError, Refused, StoreUnavailable
from engine.settings import Settings
from engine.timers.calendar import CHINA_TZ

if TYPE_CHECKING:
    from engine.service.door import TimerView

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
        "--state", help="pending, claimed (being fired), paused, fired, cancelled or all.")]
        = "pending",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
        = False,
) -> None:
    """Show timers, soonest due first (times in China time, UTC+8)."""
    if state not in STATES:
        raise typer.BadParameter(f"use one of {', '.join(STATES)}", param_hint="--state")
    before = parse_moment(due_before) if due_before else None
    try:
        views = _fetch(case, before, None if state == "all" else state, limit)
    except (Refused, StoreUnavailable) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    except HatcheryError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        for view in views:
            typer.echo(json.dumps(_as_json(view), ensure_ascii=False))
        return
    _print_table(views, state)


def _fetch(case: str | None, before: datetime | None, state: str | None,
           limit: int) -> list[TimerView]:
    from engine.clock import SystemClock
    from engine.definitions.registry import WorkflowRegistry
    from engine.service.door import CaseService
    from engine.store.db import make_engine, upgrade

    engine = make_engine(Settings().resolved_database_url())
    try:
        upgrade(engine)
        clock = SystemClock()
        service = CaseService(engine, WorkflowRegistry(engine, clock), clock)
        views, _ = service.list_timers(case_id=case, due_before=before, state=state,
                                       limit=limit)
        return views
    finally:
        engine.dispose()


def _print_table(views: list[TimerView], state: str) -> None:
    from rich.console import Console
    from rich.table import Table

    now = datetime.now(CHINA_TZ)
    table = Table(title=f"Timers ({state})", title_justify="left")
    for column, style, wrap in (("id", "dim", False), ("case", "cyan", False),
                                ("timer", "", True), ("action", "", True),
                                ("due (UTC+8)", "bold", False), ("status", "", False),
                                ("claimed by", "dim", True), ("outcome", "", True)):
        table.add_column(column, style=style or None, no_wrap=not wrap, overflow="fold")
    for view in views:
        action = view.action + (f" {view.trigger}" if view.trigger else "") + \
            (" (repeats)" if view.repeat else "")
        status = view.status
        if status == "pending" and view.claimed_until is not None and view.claimed_until > now:
            status = "claimed"
        if view.status == "paused" and view.remaining_seconds is not None:
            status += f" ({view.remaining_seconds / 86400:.1f} d left)"
        table.add_row(str(view.id), view.case_id, view.key, action, _shown(view.due_at),
                      status, view.claimed_by or "", _outcome_text(view.outcome))
    console = Console()
    if not views:
        console.print(f"no {state if state != 'all' else ''} timers".replace("  ", " "))
        return
    console.print(table)
