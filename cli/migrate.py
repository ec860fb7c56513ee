"""`hatchery migrate plan|apply`: move running cases to a newer version of their workflow.

    hatchery migrate plan social_org_incubation --to 1.1.0     # every live case of it
    hatchery migrate plan CASE --to 1.1.0                      # one case
    hatchery migrate apply social_org_incubation --to 1.1.0 --actor zhang --role designer

`plan` shows, for every live (not closed) case not yet on the version, whether it can move
and to which state: its state exists in the new version, or the new version's
`migrations:` mapping covers it, and its data fits the new fields (see `engine.core.migration`).
`apply` moves those that can, each in its own transaction with a recorded `migration`
event in its hash chain (`CaseService.migrate_case`); the others stay untouched and are
listed with every reason. Changes need `--actor` with the role admin or designer.

Exit status: 0 when every live case can move (plan) or moved (apply), 1 when some cannot
(they are listed), 2 when the command cannot run (the database, the shipped definitions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli._shell import (
    REFUSED,
    Language,
    actor_of,
    operator_errors,
    print_json,
    service,
    tolerate_any_terminal,
)
from engine.catalogue import Catalogue
from engine.errors import Conflict, NotFound, Refused

if TYPE_CHECKING:
    from engine.core.migration import CaseMove
    from engine.service import CaseService, CaseView

migrate_app = typer.Typer(help="Move running cases to a newer version of their workflow.",
                          no_args_is_help=True)

PAGE = 500
_WORDS = Catalogue.en_zh("cli.migrate", {
    "title": ("{what} -> version {version}: {movable} of {count} live case(s) can move",
              "{what} -> 版本 {version}：{count} 个进行中的事项中 {movable} 个可以迁移"),
    "applied": ("{what} -> version {version}: {moved} of {count} live case(s) moved",
                "{what} -> 版本 {version}：{count} 个进行中的事项中已迁移 {moved} 个"),
    "already": ("{count} case(s) already on {version}", "{count} 个事项已在版本 {version}"),
    "case": ("case", "事项"), "name": ("title", "名称"), "from": ("from", "原版本"),
    "state": ("state", "阶段"), "to": ("to state", "新阶段"), "can": ("can move", "可迁移"),
    "moved": ("moved", "已迁移"), "why": ("why not", "原因"), "yes": ("yes", "是"),
    "no": ("no", "否"), "mapped": (" (mapped)", "（映射）"),
    "none": ("no live case to move", "没有需要迁移的进行中事项"),
})


def _w(key: str, lang: str, **args: Any) -> str:
    return _WORDS.text(key, lang, **args)


TargetArgument = Annotated[str, typer.Argument(
    metavar="CASE_OR_WORKFLOW", help="A workflow id (all its live cases) or one case id.")]
ToOption = Annotated[str, typer.Option("--to", help="The registered version to move to.")]
LangOption = Annotated[Language, typer.Option("--lang", help="Language of the output.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass(frozen=True)
class _Row:
    case: CaseView
    move: CaseMove
    moved: bool = False
    error: str | None = None


@migrate_app.command("plan")
def plan(target: TargetArgument, to: ToOption, lang: LangOption = Language.en,
         as_json: JsonOption = False) -> None:
    """Show which live cases can move to the version, and why the others cannot."""
    tolerate_any_terminal()
    language = lang.value
    with operator_errors(language):
        with service() as cases:
            what, rows, already = _plan(cases, target, to)
        _print(what, to, rows, already, language, as_json, applied=False)
    if any(not row.move.movable for row in rows):
        raise typer.Exit(REFUSED)


@migrate_app.command("apply")
def apply(
    target: TargetArgument,
    to: ToOption,
    actor: Annotated[str | None, typer.Option(
        "--actor", envvar="HATCHERY_ACTOR", help="Who migrates (recorded in each history).")]
        = None,
    role: Annotated[list[str] | None, typer.Option(
        "--role", help="admin or designer.")] = None,
    comment: Annotated[str | None, typer.Option(
        "--comment", help="Why, in words (recorded in each migration event).")] = None,
    lang: LangOption = Language.en,
    as_json: JsonOption = False,
) -> None:
    """Move every live case that can move, each with a recorded migration event; list the
    others, untouched."""
    tolerate_any_terminal()
    language = lang.value
    who = actor_of(actor, role)
    with operator_errors(language):
        with service() as cases:
            what, planned, already = _plan(cases, target, to)
            rows = [_apply(cases, row, who, comment, language) for row in planned]
            _log(cases, who.id, what, to, rows)
        _print(what, to, rows, already, language, as_json, applied=True)
    if any(not row.moved for row in rows):
        raise typer.Exit(REFUSED)


# ---------------------------------------------------------------------------------------


def _plan(cases: CaseService, target: str, to: str) -> tuple[str, list[_Row], int]:
    """(what was asked for, a row per live case not on `to`, how many are on `to`)."""
    from engine.core.migration import plan_case

    if cases.registry.versions(target):
        workflow_id, found = target, list(_live_cases(cases, target))
        what = workflow_id
    else:
        try:
            case = cases.get_case(target)
        except NotFound:
            raise NotFound("case or workflow", target) from None
        workflow_id, found, what = case.workflow_id, [case], f"{case.id} ({case.workflow_id})"
    wanted = cases.registry.get(workflow_id, to)
    rows, already = [], 0
    for case in found:
        if case.status == "closed":
            continue
        if case.workflow_version == to:
            already += 1
            continue
        rows.append(_Row(case, plan_case(case.id, case.workflow_version, case.state,
                                         case.data, wanted)))
    return what, rows, already


def _live_cases(cases: CaseService, workflow_id: str) -> Any:
    cursor: str | None = None
    while True:
        page, cursor = cases.list_cases(workflow_id=workflow_id, order="updated", limit=PAGE,
                                        cursor=cursor)
        yield from (c for c in page if c.status != "closed")
        if cursor is None:
            return


def _log(cases: CaseService, actor: str, what: str, to: str, rows: Sequence[_Row]) -> None:
    """The migration as one entry of the operations log: which cases moved, which not."""
    from engine.store.operations import record

    moved = [r.case.id for r in rows if r.moved]
    record(cases.engine, actor=actor, action="migration", at=cases.clock.now(), target=what,
           outcome="done" if len(moved) == len(rows) else "refused",
           detail={"to_version": to, "moved": moved,
                   "stayed": [r.case.id for r in rows if not r.moved]})


def _apply(cases: CaseService, row: _Row, actor: Any, comment: str | None,
           lang: str) -> _Row:
    if not row.move.movable:
        return row
    try:
        cases.migrate_case(row.case.id, row.move.to_version, actor=actor,
                           expected_version=row.case.version, comment=comment)
    except Refused as refused:
        return _Row(row.case, row.move, error=refused.refusal.message(lang))
    except (Conflict, NotFound) as error:
        return _Row(row.case, row.move, error=str(error))
    return _Row(row.case, row.move, moved=True)


def _print(what: str, to: str, rows: Sequence[_Row], already: int, lang: str,
           as_json: bool, *, applied: bool) -> None:
    if as_json:
        print_json({
            "target": what, "to_version": to, "already": already,
            "cases": [{"case_id": r.case.id, "title": r.case.title,
                       "from_version": r.move.from_version, "state": r.move.state,
                       "to_state": r.move.to_state, "mapped": r.move.mapped,
                       "movable": r.move.movable, "moved": r.moved if applied else None,
                       "problems": [p.as_dict() for p in r.move.problems],
                       "error": r.error} for r in rows]})
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=False)
    count = len(rows)
    heading = (_w("applied", lang, what=what, version=to, count=count,
                  moved=sum(r.moved for r in rows)) if applied
               else _w("title", lang, what=what, version=to, count=count,
                       movable=sum(r.move.movable for r in rows)))
    console.print(heading, markup=False)
    if already:
        console.print(_w("already", lang, count=already, version=to), markup=False)
    if not rows:
        console.print(_w("none", lang), markup=False)
        return
    table = Table()
    for column in ("case", "name", "from", "state", "to", "moved" if applied else "can",
                   "why"):
        table.add_column(_w(column, lang))
    for r in rows:
        done = r.moved if applied else r.move.movable
        target = (r.move.to_state or "—") + (_w("mapped", lang) if r.move.mapped else "")
        why = r.error or r.move.reasons(lang)
        table.add_row(r.case.id, r.case.title or "", r.move.from_version, r.move.state,
                      target, _w("yes" if done else "no", lang), why)
    console.print(table)
