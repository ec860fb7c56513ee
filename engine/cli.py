"""The `hatchery` command: a thin typer shell; each area's commands live in engine.commands."""

from __future__ import annotations

import typer

from engine.commands.serve import serve
from engine.commands.validate import validate

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


app.command("serve")(serve)
# Command registrations (one line per area):
from engine.commands.token import token_app  # noqa: E402

app.add_typer(token_app, name="token")
from engine.commands.design import diagram, schema  # noqa: E402

app.command("diagram")(diagram)
app.command("schema")(schema)
app.command("validate")(validate)
from engine.commands.timers import timers_app  # noqa: E402
from engine.commands.worker import worker  # noqa: E402

app.add_typer(timers_app, name="timers")
app.command("worker")(worker)
from engine.commands.demo import demo  # noqa: E402

app.command("demo")(demo)
from engine.commands.stats import stats  # noqa: E402

app.command("stats")(stats)
from engine.commands.audit import audit_app  # noqa: E402
from engine.commands.case import case_app  # noqa: E402
from engine.commands.migrate import migrate_app  # noqa: E402

app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(migrate_app, name="migrate")
