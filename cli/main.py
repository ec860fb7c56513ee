"""The `hatchery` command: a thin typer shell; each area's commands live in engine.commands."""

from __future__ import annotations

import typer

from cli.audit import audit_app
from cli.backup import backup, copy, restore
from cli.calendar import calendar_app
from cli.case import case_app
from cli.community import community_app
from cli.demo import demo
from cli.design import diagram, schema
from cli.export import export_events
from cli.migrate import migrate_app
from cli.serve import serve
from cli.stats import stats
from cli.timers import timers_app
from cli.token import token_app
from cli.user import user_app
from cli.validate import validate
from cli.worker import worker
from cli.workflows import workflows_app

app = typer.Typer(
    name="hatchery",
    help="Hatchery: incubation workflows for urban communities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Hatchery: incubation workflows for urban communities."""


# Designers
app.command("validate")(validate)
app.command("diagram")(diagram)
app.command("schema")(schema)
app.add_typer(workflows_app, name="workflows")
# Operators
app.command("serve")(serve)
app.command("worker")(worker)
app.command("demo")(demo)
app.command("backup")(backup)
app.command("restore")(restore)
app.command("copy")(copy)
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(timers_app, name="timers")
app.add_typer(migrate_app, name="migrate")
app.add_typer(calendar_app, name="calendar")
app.add_typer(community_app, name="community")
# Caseworkers
app.add_typer(case_app, name="case")
# Auditors
audit_app.command("export")(export_events)
app.add_typer(audit_app, name="audit")
app.command("stats")(stats)
