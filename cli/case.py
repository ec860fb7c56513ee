"""`hatchery case start|fire|show`: work on cases from the command line, through the one door.

The commands run on the configured database (`DATABASE_URL`, else `data/hatchery.db`),
upgrading its schema and registering the shipped workflows first, as the API does, so
that the engine can be used before (or without) the HTTP API:

    hatchery case start social_org_incubation --community fuzhou/cangshan/jinshan/jinzhou \\
        --data '{"name": "阳光志愿队", "residents_need": "elderly care"}' \\
        --actor li.committee --role party_committee
    hatchery case fire CASE select --input '{"not_on_abnormal_lists": true}' \\
        --actor li.committee --role party_committee --expected-version 1
    hatchery case show CASE --actor wang.caseworker --role caseworker --lang zh

`--data` and `--input` take JSON inline, `@file.json` or `@-` (standard input). Sensitive
fields (personal data) are masked unless `--pii` is given. `--json` prints the result as
JSON instead of tables. Exit status 0 on success, 1 when the engine refused (the reason
is printed: not found, conflict, forbidden role, invalid input per field, guard false
with the designer's explanation, checklist incomplete, suspended, closed), 2 when the
command could not run (bad JSON, a missing, corrupt or locked database).

What the commands print is `cli.case_views`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli._shell import (
    Language,
    actor_of,
    fail,
    operator_errors,
    parse_object,
    service,
    tolerate_any_terminal,
)
from cli.case_views import print_result, print_show

case_app = typer.Typer(help="Cases: start one, fire a trigger, show where it stands.",
                       no_args_is_help=True)

ActorOption = Annotated[str | None, typer.Option(
    "--actor", envvar="HATCHERY_ACTOR", help="Who acts (recorded in the history).")]
RoleOption = Annotated[list[str] | None, typer.Option(
    "--role", help="A role of the actor: caseworker, admin or a workflow role such as "
                   "party_committee (repeat for several).")]
LangOption = Annotated[Language, typer.Option("--lang", help="Language of the output.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
PiiOption = Annotated[bool, typer.Option(
    "--pii", help="Show sensitive fields (personal data) unmasked.")]


# ---------------------------------------------------------------------------------------
# Commands


@case_app.command("start")
def start(
    workflow: Annotated[str, typer.Argument(help="The workflow id, e.g. social_org_incubation.")],
    community: Annotated[str | None, typer.Option(
        "--community", help="The community path, e.g. fuzhou/cangshan/jinshan/jinzhou.")]
        = None,
    data: Annotated[str | None, typer.Option(
        "--data", help="The initial case data: JSON, @file.json or @- (standard input).")]
        = None,
    actor: ActorOption = None,
    role: RoleOption = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="A registered version of the workflow (default: the latest).")]
        = None,
    comment: Annotated[str | None, typer.Option("--comment", help="Why, in words.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(
        "--idempotency-key", help="Running the same command again with this key repeats "
                                  "the first result and writes nothing.")] = None,
    lang: LangOption = Language.en,
    as_json: JsonOption = False,
    pii: PiiOption = False,
) -> None:
    """Start a case: the data is checked against the workflow's fields, every problem at once."""
    tolerate_any_terminal()
    language = lang.value
    who = actor_of(actor, role)
    values = parse_object(data, "--data")
    if not (community or "").strip():
        fail("error: --community is required, e.g. --community fuzhou/cangshan/jinshan/jinzhou")
    with operator_errors(language):
        with service() as cases:
            result = cases.start_case(workflow, values, actor=who, community=community or "",
                                      version=version, comment=comment,
                                      idempotency_key=idempotency_key)
            wf = cases.registry.get(result.case.workflow_id, result.case.workflow_version)
        print_result(result, wf, language, as_json, pii, started=True)


@case_app.command("fire")
def fire(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    trigger: Annotated[str, typer.Argument(help="The trigger to fire, e.g. select.")],
    input: Annotated[str | None, typer.Option(
        "--input", help="The trigger's input: JSON, @file.json or @- (standard input).")]
        = None,
    actor: ActorOption = None,
    role: RoleOption = None,
    expected_version: Annotated[int | None, typer.Option(
        "--expected-version", help="The case version you read: refused with a conflict if "
                                   "someone changed the case since.")] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="Why, in words.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(
        "--idempotency-key", help="Running the same command again with this key repeats "
                                  "the first result and writes nothing.")] = None,
    lang: LangOption = Language.en,
    as_json: JsonOption = False,
    pii: PiiOption = False,
) -> None:
    """Fire a trigger: role, input, guard, checklist and effects are checked; on success
    the case moves, and its automatic steps follow."""
    tolerate_any_terminal()
    language = lang.value
    who = actor_of(actor, role)
    values = parse_object(input, "--input")
    with operator_errors(language):
        with service() as cases:
            result = cases.fire(case_id, trigger, input=values, actor=who,
                                expected_version=expected_version, comment=comment,
                                idempotency_key=idempotency_key)
            wf = cases.registry.get(result.case.workflow_id, result.case.workflow_version)
        print_result(result, wf, language, as_json, pii, started=False)


@case_app.command("show")
def show(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    actor: ActorOption = None,
    role: RoleOption = None,
    lang: LangOption = Language.en,
    as_json: JsonOption = False,
    pii: PiiOption = False,
) -> None:
    """Where a case stands: state, data, checklist, links, history, and what the actor may
    do next (with the reason for everything they may not)."""
    tolerate_any_terminal()
    language = lang.value
    who = actor_of(actor, role) if actor else None
    with operator_errors(language):
        with service() as cases:
            case = cases.get_case(case_id)
            history = cases.history(case_id)
            actions = cases.actions(case_id, who) if who is not None else None
            wf = cases.registry.get(case.workflow_id, case.workflow_version)
        print_show(case, history, actions, wf, language, as_json, pii,
                    who.id if who is not None else None)
