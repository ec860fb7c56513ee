"""`hatchery stats`: stage statistics of a workflow as a table, and time in stage as a chart.

The same figures as `GET /api/v1/stats/stages` (`engine.stats.stage_stats`).
"""

from __future__ import annotations

import importlib.util
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from engine.audit.stats import StageStats, stage_stats
from engine.errors import HatcheryError
from engine.settings import Settings

DAY = 86400.0


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date or time (ISO 8601)",
                                 param_hint=name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _days(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / DAY:.1f}"


def stats(
    workflow: Annotated[str, typer.Option("--workflow", help="A workflow id.")],
    since: Annotated[str | None, typer.Option("--from", help="From (ISO 8601, inclusive).")]
    = None,
    until: Annotated[str | None, typer.Option("--to", help="Before (ISO 8601).")] = None,
    community: Annotated[str | None, typer.Option(
        "--community", help="Only this community and those nested in it.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en (state titles).")] = "en",
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also draw time in stage (median, p90, max) to this PNG.")] = None,
) -> None:
    """Per state: cases in it now, passed through, days spent (median, p90, max), overdue;
    then throughput per month."""
    start, end = _moment(since, "--from"), _moment(until, "--to")
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("must be later than --from", param_hint="--to")
    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        typer.echo("error: --plot draws with matplotlib, which is not installed: "
                   "pip install 'hatchery[plot]'", err=True)
        raise typer.Exit(2)
    from engine.service.door import build_service

    try:
        service = build_service(Settings())
        try:
            found = stage_stats(service.engine, service.registry, workflow, since=start,
                                until=end, community_prefix=(community or "").strip("/")
                                or None, lang="zh" if lang == "zh" else "en")
        finally:
            service.engine.dispose()
    except HatcheryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    print_stats(found)
    if plot is not None:
        draw(found, plot)
        typer.echo(f"chart written to {plot}", err=True)


def print_stats(found: StageStats) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{found.workflow_id} {found.version}"
                  + (f" · {found.community}" if found.community else ""))
    for heading in ("state", "title", "now", "passed", "done", "median d", "p90 d",
                    "max d", "overdue"):
        table.add_column(heading, justify="left" if heading in ("state", "title")
                         else "right", no_wrap=heading != "title")
    for row in found.states:
        indent = "  " if row.parent else ""
        table.add_row(indent + row.state, row.title, str(row.in_now),
                      str(row.passed_through), str(row.completed), _days(row.median_seconds),
                      _days(row.p90_seconds), _days(row.max_seconds), str(row.overdue))
    console.print(table)
    months = Table(title="throughput per month (UTC+8)")
    for heading in ("month", "started", "closed"):
        months.add_column(heading, justify="right")
    for entry in found.throughput:
        months.add_row(entry["month"], str(entry["started"]), str(entry["closed"]))
    console.print(months)


def draw(found: StageStats, path: Path) -> None:
    """A bar chart of days in each state (median, p90, max), for reports."""
    with warnings.catch_warnings():
        # matplotlib's font lookup still calls pyparsing names deprecated since 3.3.
        warnings.simplefilter("ignore", DeprecationWarning)
        _draw(found, path)


def _draw(found: StageStats, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in found.states if r.completed]
    labels = [r.state for r in rows]
    figure, axes = plt.subplots(figsize=(max(6.0, len(rows) * 1.2), 4.0))
    width = 0.27
    for offset, (name, values) in enumerate((
            ("median", [(r.median_seconds or 0) / DAY for r in rows]),
            ("p90", [(r.p90_seconds or 0) / DAY for r in rows]),
            ("max", [(r.max_seconds or 0) / DAY for r in rows]))):
        axes.bar([i + (offset - 1) * width for i in range(len(rows))], values, width,
                 label=name)
    axes.set_xticks(range(len(rows)), labels, rotation=30, ha="right")
    axes.set_ylabel("days")
    axes.set_title(f"Time in stage: {found.workflow_id} {found.version}")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
