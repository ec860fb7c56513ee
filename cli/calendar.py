"""`hatchery calendar`: the working-day calendar as data.

    hatchery calendar import notice-2027.yaml --actor zhang   # the State Council's notice
    hatchery calendar status [--json]                         # which years are known

The file format is documented in `engine/timers/holiday_notice.py` (and docs/operations in
the README): the year, the notice's title or number, its days off and its weekend days
worked. An import is checked whole (every problem with its line) before anything is stored.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli._shell import actor_of, fail, print_json, service
from engine.errors import HatcheryError
from engine.timers.calendar import CHINA_TZ, default_calendar
from engine.timers.calendar_store import import_notice
from engine.timers.holiday_notice import NoticeError, parse_notice

calendar_app = typer.Typer(help="The working-day calendar: official holiday notices.",
                           no_args_is_help=True)


@calendar_app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="A notice file (see `hatchery calendar "
                                              "import --help`).")],
    actor: Annotated[str | None, typer.Option(
        "--actor", envvar="HATCHERY_ACTOR", help="Who imports (recorded in the log).")]
        = None,
) -> None:
    """Import a year's holiday notice: the days off and the weekend days worked.

    The file (UTF-8 YAML) holds `year: 2027`, `notice:` its title or number, `days_off:` a
    list of dates or ranges (2027-02-06..2027-02-13) and `working_days:` the weekend days
    turned into working days. Importing a year again replaces it.
    """
    who = actor_of(actor, [])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"error: {path}: cannot be read as UTF-8 text: {error}")
    try:
        notice = parse_notice(text)
    except NoticeError as error:
        fail("\n".join(f"{path}: {problem}" for problem in error.problems))
    try:
        with service() as cases:
            changed = import_notice(cases.engine, notice, actor=who.id, at=cases.clock.now())
    except HatcheryError as error:
        fail(f"error: {error}")
    verb = "Imported" if changed else "Already imported"
    typer.echo(f"{verb} the holiday notice for {notice.year} ({notice.notice}): "
               f"{len(notice.days_off)} days off, {len(notice.working_days)} weekend days "
               "worked.")


@calendar_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="As one JSON object.")] = False,
) -> None:
    """Which years the working-day calendar knows, and whether next year's is missing."""
    try:
        with service():
            coverage = default_calendar().coverage()
    except HatcheryError as error:
        fail(f"error: {error}")
    today = datetime.now(CHINA_TZ).date()
    warning = coverage.warning(today)
    if as_json:
        print_json({"first_year": coverage.first_year, "last_year": coverage.last_year,
                    "provisional_until": coverage.provisional_until,
                    "package_last_year": coverage.package_last_year,
                    "imported": list(coverage.imported),
                    "package": f"holidays {coverage.package_version}",
                    "warning": warning[0] if warning else None})
        return
    typer.echo(f"Official working days known: {coverage.first_year}-{coverage.last_year}")
    typer.echo(f"  from the holidays package {coverage.package_version}: up to "
               f"{coverage.package_last_year}")
    imported = ", ".join(str(y) for y in coverage.imported) or "none"
    typer.echo(f"  imported notices: {imported}")
    typer.echo(f"Provisional (no adjusted weekends) until: {coverage.provisional_until}")
    if warning:
        typer.echo(f"warning: {warning[0]}", err=True)
