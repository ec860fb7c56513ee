"""`hatchery demo`: load the demo community (modelled on Jinzhou) into the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.clock import FrozenClock
from engine.contrib.demo import DEMO_COMMUNITY, DEMO_END, DEMO_START, load_demo
from engine.errors import HatcheryError, Refused
from engine.service.door import build_service
from engine.settings import Settings
from engine.timers.calendar import CHINA_TZ


def demo(
    community: Annotated[str, typer.Option(
        "--community", help="Community path the demo cases belong to.")] = DEMO_COMMUNITY,
) -> None:
    """Load a demo community modelled on Jinzhou, with two years of history.

    Every case goes through the real transitions of the service on a clock moved from
    November 2024 to October 2026, timers firing on the way. Idempotent: a community that
    already holds cases is left as it is.
    """
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = FrozenClock(DEMO_START)
    try:
        service = build_service(settings, clock)
    except HatcheryError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        summary = load_demo(service, clock, community=community)
    except Refused as refused:
        typer.echo(f"error: {refused.refusal.en}", err=True)
        raise typer.Exit(1) from None
    finally:
        service.engine.dispose()
    if not summary.loaded:
        typer.echo(f"The community {summary.community} already holds {summary.cases} cases "
                   f"({summary.events} events): the demo loads only into an empty community, "
                   "so nothing was written. Choose another with --community.")
        return
    first, last = (moment.astimezone(CHINA_TZ).date() for moment in (DEMO_START, DEMO_END))
    typer.echo(f"Loaded the demo community {summary.community}: {summary.cases} cases, "
               f"{summary.events} events, history from {first} to {last}.")
    for workflow_id, count in summary.by_workflow.items():
        states = ", ".join(f"{state} {n}" for state, n in summary.by_state[workflow_id].items())
        typer.echo(f"  {workflow_id:<24} {count:>3}  ({states})")
    _demo_people(settings, community)


def _demo_people(settings: Settings, community: str) -> None:
    """Sign-in names for the console, one per kind of work, printed once."""
    from engine.access.demo import create_demo_people
    from engine.access.users import UserStore
    from engine.clock import SystemClock
    from engine.store.db import make_engine

    engine = make_engine(settings.resolved_database_url())
    try:
        created = create_demo_people(UserStore(engine), community=community,
                                     now=SystemClock().now())
    finally:
        engine.dispose()
    if created:
        typer.echo("People to sign in to the console with (passwords shown only now):")
        for person, password in created:
            typer.echo(f"  {person.name:<18} {password:<16} {person.display_name}")
