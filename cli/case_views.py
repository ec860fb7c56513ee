"""What `hatchery case` prints: a case with its data, checklist and links, its history,
what an actor may do next, and the JSON forms of the same (`cli.case` runs the commands;
this module only says what they found, in the chosen language, personal data masked
unless asked for)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

from cli._shell import print_json, shown_time
from engine.audit.masking import sensitive_names
from engine.catalogue import Catalogue
from engine.language.spec import as_text
from engine.language.texts import value_title

if TYPE_CHECKING:
    from rich.console import Console

    from engine.core.compiler import CompiledWorkflow
    from engine.core.decision import Action
    from engine.language.spec import FieldSpec
    from engine.service import CaseView, EventView, FireResult

__all__ = ["print_result", "print_show"]

_WORDS = Catalogue.en_zh("cli.case", {
    "case": ("Case", "事项"), "state": ("state", "阶段"), "status": ("status", "状态"),
    "version": ("version", "版本"), "community": ("community", "社区"),
    "priority": ("priority", "优先级"), "entered": ("entered", "进入时间"),
    "overdue": ("OVERDUE", "已逾期"), "data": ("Data", "事项数据"), "field": ("field", "字段"),
    "title": ("title", "名称"), "value": ("value", "值"), "checklist": ("Checklist", "清单"),
    "item": ("item", "清单项"), "ticked": ("ticked", "已勾选"), "evidence": ("evidence", "佐证"),
    "by": ("by", "操作人"), "at": ("at", "时间"), "links": ("Linked cases", "关联事项"),
    "relation": ("relation", "关系"), "workflow": ("workflow", "流程"),
    "history": ("History", "历史记录"), "event": ("event", "事件"), "move": ("move", "阶段变化"),
    "actor": ("actor", "操作人"), "comment": ("comment", "备注"), "trigger": ("trigger", "操作"),
    "allowed": ("allowed", "可执行"), "why": ("why not", "原因"), "yes": ("yes", "是"),
    "no": ("no", "否"), "next": ("What {actor} may do next", "{actor} 接下来可以做什么"),
    "no_actor": ("Give --actor and --role to see what they may do next.",
                 "指定 --actor 和 --role 可查看其接下来可执行的操作。"),
    "started": ("started case {id}: {workflow} {version}, state {state} (case version 1)",
                "已创建事项 {id}：{workflow} {version}，当前阶段 {state}（事项版本 1）"),
    "fired": ("{trigger}: {source} -> {target} (case {id}, now version {version})",
              "{trigger}：{source} -> {target}（事项 {id}，当前版本 {version}）"),
    "replayed": ("(replayed: this idempotency key was used before; nothing new was written)",
                 "（重放：此幂等键已使用过，未写入新内容）"),
    "changed": ("changed: {fields}", "修改：{fields}"),
    "auto": ("then automatically: {steps}", "随后自动：{steps}"),
    "active": ("active", "进行中"), "suspended": ("suspended", "已暂停"),
    "closed": ("closed", "已结束"),
})


def _w(key: str, lang: str, **args: Any) -> str:
    return _WORDS.text(key, lang, **args)


def print_show(case: CaseView, history: Sequence[EventView],
               actions: Sequence[Action] | None, wf: CompiledWorkflow, language: str,
               as_json: bool, pii: bool, actor: str | None) -> None:
    """`hatchery case show`: the case, its history and what `actor` may do next (or how
    to ask for that), as tables or as one JSON document."""
    hidden = frozenset() if pii else sensitive_names(wf)
    if as_json:
        print_json({
            "case": _case_json(case, hidden),
            "history": [_event_json(e, hidden) for e in history],
            "actions": None if actions is None else [_action_json(a, language)
                                                    for a in actions],
        })
        return
    console = _console()
    _print_case(console, case, wf, language, hidden)
    _print_history(console, history, wf, language, hidden)
    if actions is None or actor is None:
        console.print(_w("no_actor", language))
    else:
        _print_actions(console, actions, wf, language, actor)


def _masked(values: Mapping[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    if not hidden:
        return dict(values)
    from engine.audit.masking import mask_fields

    return mask_fields(values, hidden)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _state_text(wf: CompiledWorkflow, state: str | None, lang: str) -> str:
    if state is None:
        return "—"
    info = wf.states.get(state)
    title = as_text(info.spec.title, lang, "") if info is not None else ""
    return f"{title} ({state})" if title and title != state else state


def _trigger_text(wf: CompiledWorkflow, trigger: str | None, lang: str) -> str:
    if trigger is None:
        return ""
    title = as_text(wf.trigger_titles.get(trigger), lang, "")
    return f"{title} ({trigger})" if title and title != trigger else trigger


def _value_text(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if value is True or value is False:
        return _w("yes" if value else "no", lang)
    if isinstance(value, list):
        return ", ".join(_value_text(v, lang) for v in value)
    return str(value)


def _field_value(spec: FieldSpec | None, value: Any, lang: str) -> str:
    """A field's value as the table shows it: an enumerated value by its title, with the
    code beside it for the operator (as stages are shown)."""
    if spec is None or not spec.values or not isinstance(value, str):
        return _value_text(value, lang)
    title = value_title(spec, value, lang)
    return f"{title} ({value})" if title != value else value


def print_result(result: FireResult, wf: CompiledWorkflow, lang: str, as_json: bool,
                 pii: bool, *, started: bool) -> None:
    """What a start or a fire did: the move, the fields changed, the automatic steps
    that followed, and whether the result was replayed."""
    hidden = frozenset() if pii else sensitive_names(wf)
    if as_json:
        print_json({"case": _case_json(result.case, hidden),
                    "event": _event_json(result.event, hidden),
                    "automatic": [_event_json(e, hidden) for e in result.automatic],
                    "replayed": result.replayed})
        return
    case, event = result.case, result.event
    if started:
        typer.echo(_w("started", lang, id=case.id, workflow=case.workflow_id,
                      version=case.workflow_version,
                      state=_state_text(wf, event.to_state, lang)))
    else:
        typer.echo(_w("fired", lang, trigger=_trigger_text(wf, event.trigger, lang),
                      source=_state_text(wf, event.from_state, lang),
                      target=_state_text(wf, event.to_state, lang), id=case.id,
                      version=case.version))
        if event.changes:
            shown = _masked(event.changes, hidden)
            typer.echo(_w("changed", lang, fields=", ".join(
                f"{k}={_value_text(v, lang)}" for k, v in sorted(shown.items()))))
    if result.automatic:
        steps = "; ".join(
            f"{_trigger_text(wf, e.trigger, lang)} -> {_state_text(wf, e.to_state, lang)}"
            if e.case_id == case.id else f"{e.case_id}: {e.trigger} -> {e.to_state}"
            for e in result.automatic)
        typer.echo(_w("auto", lang, steps=steps))
    if result.replayed:
        typer.echo(_w("replayed", lang))


def _print_case(console: Console, case: CaseView, wf: CompiledWorkflow, lang: str,
                hidden: frozenset[str]) -> None:
    from rich.table import Table

    heading = (f"{_w('case', lang)} {case.id} · {as_text(wf.spec.title, lang, wf.id)} "
               f"({case.workflow_id} {case.workflow_version}) · {case.community}")
    console.print(heading, markup=False)
    status = _w(case.status, lang) if case.status in ("active", "suspended", "closed") \
        else case.status
    line = (f"{_w('state', lang)}: {_state_text(wf, case.state, lang)} · {status}"
            + (f" ({case.outcome})" if case.outcome else "")
            + f" · {_w('version', lang)} {case.version} · {_w('priority', lang)} "
            f"{case.priority:g} · {_w('entered', lang)} {shown_time(case.entered_at)}"
            + (f" · {_w('overdue', lang)}" if case.overdue else ""))
    console.print(line, markup=False)

    data = Table(title=_w("data", lang), title_justify="left")
    for column in ("field", "title", "value"):
        data.add_column(_w(column, lang))
    shown = _masked(case.data, hidden)
    for name in [*wf.fields, *(k for k in shown if k not in wf.fields)]:
        if name not in shown:
            continue
        spec = wf.fields.get(name)
        title = as_text(spec.title, lang, "") if spec is not None else ""
        data.add_row(name, title, _field_value(spec, shown[name], lang))
    console.print(data)

    if case.checklist:
        checklist = Table(title=_w("checklist", lang), title_justify="left")
        for column in ("item", "title", "ticked", "evidence", "by", "at"):
            checklist.add_column(_w(column, lang))
        for item, entry in case.checklist.items():
            item_spec = wf.states[entry["state"]].spec.checklist.get(item)
            title = as_text(item_spec.title, lang, "") if item_spec is not None else ""
            checklist.add_row(item, title, _w("yes" if entry["ticked"] else "no", lang),
                              entry["evidence"] or "", entry["actor"] or "",
                              shown_time(entry["at"]))
        console.print(checklist)

    if case.links:
        links = Table(title=_w("links", lang), title_justify="left")
        for column in ("case", "workflow", "state", "relation"):
            links.add_column(_w(column, lang))
        for link in case.links:
            arrow = "->" if link["direction"] == "outgoing" else "<-"
            links.add_row(link["case_id"], link["workflow_id"], link["state"],
                          f"{arrow} {link['relation']}")
        console.print(links)


def _print_history(console: Console, history: Sequence[EventView], wf: CompiledWorkflow,
                   lang: str, hidden: frozenset[str]) -> None:
    from rich.table import Table

    table = Table(title=_w("history", lang), title_justify="left")
    for column in ("#", "at", "event", "move", "actor", "comment"):
        table.add_column(column if column == "#" else _w(column, lang))
    for event in history:
        what = _trigger_text(wf, event.trigger, lang) if event.trigger else event.kind
        if event.kind not in ("transition", "start") and event.input:
            details = _masked(event.input, hidden)
            what += " " + ", ".join(f"{k}={_value_text(v, lang)}"
                                    for k, v in sorted(details.items()))
        move = (f"{event.from_state or '·'} -> {event.to_state}"
                if event.from_state != event.to_state else (event.to_state or ""))
        who = event.actor + (f" ({event.role})" if event.role else "")
        table.add_row(str(event.seq), shown_time(event.at), what, move, who,
                      event.comment or "")
    console.print(table)


def _print_actions(console: Console, actions: Sequence[Action], wf: CompiledWorkflow,
                   lang: str, actor: str) -> None:
    from rich.table import Table

    table = Table(title=_w("next", lang, actor=actor), title_justify="left")
    for column in ("trigger", "allowed", "why"):
        table.add_column(_w(column, lang))
    for action in sorted(actions, key=lambda a: not a.allowed):
        reason = "" if action.refusal is None else action.refusal.message(lang)
        table.add_row(_trigger_text(wf, action.trigger, lang),
                      _w("yes" if action.allowed else "no", lang), reason)
    console.print(table)


def _case_json(case: CaseView, hidden: frozenset[str]) -> dict[str, Any]:
    plain = dict(case.__dict__)
    plain["data"] = _masked(case.data, hidden)
    return plain


def _event_json(event: EventView, hidden: frozenset[str]) -> dict[str, Any]:
    plain = dict(event.__dict__)
    plain["input"] = _masked(event.input, hidden)
    plain["changes"] = _masked(event.changes, hidden)
    return plain


def _action_json(action: Action, lang: str) -> dict[str, Any]:
    refusal = action.refusal
    return {"trigger": action.trigger, "allowed": action.allowed,
            "refusal": None if refusal is None else {
                "code": refusal.code, "message": refusal.message(lang),
                "details": dict(refusal.details)}}
