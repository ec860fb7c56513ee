"""`hatchery audit export`: the events as CSV, JSON Lines or xlsx, written to a file with a
progress bar; the same export as `GET /api/v1/audit/export` (`engine.audit.exports`).

Personal data is masked unless `--pii` is given. Like `hatchery audit verify`, it reads the
configured database as it is (no schema upgrade, no workflow registration), so it also runs
on a copy handed to an auditor. The export is recorded in the operations log when the
database has one. Exit status: 0 when written, 2 when the export cannot run.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.errors import HatcheryError
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.core.compiler import CompiledWorkflow


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date or time (ISO 8601)",
                                 param_hint=name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def export_events(
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or xlsx.")] = "csv",
    lang: Annotated[str, typer.Option("--lang", help="Labels: zh or en.")] = "zh",
    workflow: Annotated[str | None, typer.Option("--workflow")] = None,
    community: Annotated[str | None, typer.Option(
        "--community", help="This community and those nested in it.")] = None,
    case: Annotated[str | None, typer.Option("--case")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From (ISO 8601, inclusive).")]
    = None,
    until: Annotated[str | None, typer.Option("--until", help="Before (ISO 8601).")] = None,
    pii: Annotated[bool, typer.Option("--pii", help="Personal data unmasked.")] = False,
    trailer: Annotated[bool, typer.Option(
        "--trailer", help="End the file with the row count and the chain-head digest (the "
                          "operations log keeps them either way).")] = False,
) -> None:
    """Export events to a file; the row count and the chain-head digest are printed and
    kept in the operations log (and written as the file's last row with --trailer)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from engine.audit.exports import FORMATS, ExportFilter, Trailer, count_rows, export

    if fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("must be later than --since", param_hint="--until")
    import sqlalchemy as sa

    from cli.audit import attach_configured_key
    from engine.definitions.registry import WorkflowRegistry
    from engine.store.db import make_engine

    settings = Settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        attach_configured_key(engine, settings)  # the export's log entry is sealed with it
        registry = WorkflowRegistry(engine)

        def lookup(workflow_id: str, version: str) -> CompiledWorkflow | None:
            try:
                return registry.get(workflow_id, version)
            except HatcheryError:
                return None

        f = ExportFilter(workflow_id=workflow, community_prefix=(community or "").strip("/")
                         or None, case_id=case, actor=actor, since=start, until=end)
        total = count_rows(engine, f)
        ended: list[Trailer] = []
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=False) as progress:
            task = progress.add_task("export", total=total)
            with output.open("wb") as out:
                for chunk in export(engine, lookup, f, fmt=fmt, lang=lang, pii=pii,
                                    on_row=lambda n: progress.update(task, completed=n),
                                    trailer=trailer, on_end=ended.append):
                    out.write(chunk)
        if sa.inspect(engine).has_table("operations"):
            from engine.store.operations import record

            record(engine, actor=f"cli:{getpass.getuser()}", action="export",
                   at=datetime.now(UTC), target=case, community=f.community_prefix,
                   detail={"format": fmt, "workflow": workflow, "pii": pii,
                           "output": str(output), "rows": ended[0].rows,
                           "chain_head_digest": ended[0].digest, "cases": ended[0].cases,
                           "trailer": trailer})
    except HatcheryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(f"{ended[0].rows} event(s) of {ended[0].cases} case(s) written to {output}; "
               f"chain-head digest {ended[0].digest}", err=True)

