"""The `hatchery` command: a thin typer shell; each area's commands live in engine.commands."""

from __future__ import annotations

import typer

from engine.commands.audit import audit_app
from engine.commands.case import case_app
from engine.commands.demo import demo
from engine.commands.design import diagram, schema
from engine.commands.export import export_events
from engine.commands.migrate import migrate_app
from engine.commands.serve import serve
from engine.commands.stats import stats
from engine.commands.timers import timers_app
from engine.commands.token import token_app
from engine.commands.validate import validate
from engine.commands.worker import worker

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
# Operators
app.command("serve")(serve)
app.command("worker")(worker)
app.command("demo")(demo)
app.add_typer(token_app, name="token")
app.add_typer(timers_app, name="timers")
app.add_typer(migrate_app, name="migrate")
# Caseworkers
app.add_typer(case_app, name="case")
# Auditors
audit_app.command("export")(export_events)
app.add_typer(audit_app, name="audit")
app.command("stats")(stats)
