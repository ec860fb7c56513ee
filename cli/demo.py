"""`hatchery demo`: load the demo community (modelled on Jinzhou) into the configured database."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

import typer

from engine.clock import FrozenClock
from engine.contrib.demo import (
    DEMO_COMMUNITY,
    DEMO_END,
    DEMO_START,
    STORY_END,
    DemoSummary,
    home_for_demo,
    load_demo,
    summarise,
)
from engine.errors import HatcheryError, Refused
from engine.service import CaseService, build_service
from engine.settings import Settings
from engine.timers.calendar import CHINA_TZ


def _until(text: str | None) -> datetime:
    if text is None:
        return DEMO_END
    try:
        day = datetime.fromisoformat(text).date()
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date such as 2027-06-30",
                                 param_hint="--until") from None
    moment = datetime.combine(day, time(17, 30), tzinfo=CHINA_TZ)
    if not DEMO_START < moment <= STORY_END:
        raise typer.BadParameter(
            f"the story runs from {DEMO_START:%Y-%m-%d} to {STORY_END:%Y-%m-%d}",
            param_hint="--until")
    return moment


def demo(
    community: Annotated[str | None, typer.Option(
        "--community", envvar="HATCHERY_DEMO_COMMUNITY",
        help="Community path for the demo cases (default: the Jinzhou path, or a free one "
             "beside it when other cases are there).")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help=f"Tell the story up to this date (default {DEMO_END:%Y-%m-%d}; "
                        f"at most {STORY_END:%Y-%m-%d}: past April 2027 陈静 is converted "
                        "and the Shanggu branch elects a committee).")] = None,
) -> None:
    """Load a demo community modelled on Jinzhou, with two years of history.

    Every case goes through the real transitions of the service on a clock moved from
    November 2024, timers firing on the way. A community that already holds the demo is
    left as it is; when the Jinzhou path holds other cases, the demo goes beside it.
    """
    end = _until(until)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = FrozenClock(DEMO_START)
    try:
        service = build_service(settings, clock)
    except HatcheryError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        summary, note = _load(service, clock, community, end)
    except Refused as refused:
        typer.echo(f"error: {refused.refusal.en}", err=True)
        raise typer.Exit(1) from None
    finally:
        service.engine.dispose()
    if note:
        typer.echo(note)
    if not summary.loaded:
        typer.echo(f"The demo community {summary.community} is already loaded "
                   f"({summary.cases} cases, {summary.events} events); nothing was written.")
        return
    first, last = DEMO_START.date(), end.astimezone(CHINA_TZ).date()
    typer.echo(f"Loaded the demo community {summary.community}: {summary.cases} cases, "
               f"{summary.events} events, history from {first} to {last}.")
    for workflow_id, count in summary.by_workflow.items():
        states = ", ".join(f"{state} {n}" for state, n in summary.by_state[workflow_id].items())
        typer.echo(f"  {workflow_id:<24} {count:>3}  ({states})")
    _demo_people(settings, summary.community)


def _demo_people(settings: Settings, community: str) -> None:
    """Sign-in names for the console, one per kind of work, printed once."""
    from engine.access.demo import create_demo_people
    from engine.access.users import UserStore
    from engine.clock import SystemClock
    from engine.service import open_store

    engine = open_store(settings)
    try:
        created = create_demo_people(UserStore(engine), community=community,
                                     now=SystemClock().now())
    finally:
        engine.dispose()
    if created:
        typer.echo("People to sign in to the console with (passwords shown only now):")
        for person, password in created:
            typer.echo(f"  {person.name:<18} {password:<16} {person.display_name}")


def _load(service: CaseService, clock: FrozenClock, asked: str | None,
          until: datetime) -> tuple[DemoSummary, str | None]:
    """Where the demo goes, and what to say about the choice.

    An explicit community is used as given. Otherwise the Jinzhou path is used when it is
    empty or already holds the demo; when it holds other cases the demo goes to a path
    beside it, and says so (`DEMO=1 make run` has no way to pass a flag).
    """
    if asked is not None:
        return load_demo(service, clock, community=asked, until=until), None
    home, already = home_for_demo(service)
    note = None
    if home != DEMO_COMMUNITY:
        note = (f"{DEMO_COMMUNITY} holds cases that are not the demo's; the demo "
                f"{'is' if already else 'goes'} in {home} instead.")
    if already:
        return summarise(service, home, loaded=False), note
    return load_demo(service, clock, community=home, until=until), note
