"""Moving running cases to a newer version of their workflow: what can move, and where to.

A case stays on the definition version it started with. An operator may move it to a
newer version, explicitly; `CaseService.migrate_case` does that in one transaction with a
recorded `migration` event in the case's hash chain. This module is the pure part: for a
case and a target version, can it move, and to which state.

A case can move when

- its state exists in the new version under the same name, or the new version's
  `migrations:` mapping for the case's version names its new state
  (`migrations: {"1.0.0": {evaluation: final_evaluation}}`; a mapping wins over a
  same-named state, so a designer can also redirect a state that still exists);
- the state it lands in is not final (a migration never closes a case: its exit
  trigger does, with its guard and history);
- every field of its data exists in the new version and its value still fits the new
  field definition, and every field the new version requires has a value (a new optional
  field with a default gets the default).

Otherwise it cannot move, and every reason is listed. What a move keeps: entries of the
states the case stays in (so their checklist ticks and running timers stay); a state the
mapping renames is a fresh entry (its checklist starts afresh, its timers are armed anew).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.core.change import ArmTimers, Change, Effect, KeepTimers, PauseTimers
from engine.core.compiler import CompiledWorkflow
from engine.core.guards import priority
from engine.core.operations import title
from engine.core.refusals import refusal
from engine.core.roles import migration_role, status_refusal
from engine.core.snapshot import Actor, CaseSnapshot
from engine.core.timer_plans import plan_timers
from engine.errors import Refusal
from engine.language.spec import version_key
from engine.language.values import check_values
from engine.timers.calendar import CalendarCoverageError, DurationError

__all__ = ["CaseMove", "MoveProblem", "may_migrate", "migrate", "plan_case"]


@dataclass(frozen=True)
class MoveProblem:
    """Why a case cannot move, as data and in both languages."""

    code: str
    en: str
    zh: str
    field: str | None = None

    def message(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "en": self.en, "zh": self.zh, "field": self.field}


@dataclass(frozen=True)
class CaseMove:
    """The plan for one case: where it goes, or every reason it cannot."""

    case_id: str
    workflow_id: str
    from_version: str
    to_version: str
    state: str
    to_state: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    mapped: bool = False
    problems: tuple[MoveProblem, ...] = ()

    @property
    def movable(self) -> bool:
        return not self.problems and self.to_state is not None

    def reasons(self, lang: str = "en") -> str:
        separator = "；" if lang == "zh" else "; "
        return separator.join(p.message(lang) for p in self.problems)


def plan_case(case_id: str, workflow_version: str, state: str, data: Mapping[str, Any],
              target: CompiledWorkflow) -> CaseMove:
    """Can the case (on `workflow_version`, in `state`, with `data`) move to `target`?"""
    problems: list[MoveProblem] = []
    version = target.version
    base: dict[str, Any] = {"case_id": case_id, "workflow_id": target.id,
                            "from_version": workflow_version, "to_version": version,
                            "state": state}
    if version_key(version) <= version_key(workflow_version):
        problems.append(MoveProblem(
            "not_newer",
            f"the case is on version {workflow_version}; it moves only to a newer one, "
            f"not {version}",
            f"事项使用版本 {workflow_version}，只能迁移到更新的版本，不能迁移到 {version}"))
        return CaseMove(**base, to_state=None, problems=tuple(problems))

    mapping = target.spec.migrations.get(workflow_version, {})
    mapped = state in mapping
    named = mapping.get(state, state)
    to_state: str | None = None
    if named not in target.states:
        if mapped:
            problems.append(MoveProblem(
                "mapped_state_missing",
                f"the migrations of {version} map '{state}' to '{named}', which {version} "
                "does not have",
                f"版本 {version} 的迁移把“{state}”映射到不存在的“{named}”"))
        else:
            problems.append(MoveProblem(
                "state_missing",
                f"state '{state}' does not exist in {version}, and its migrations from "
                f"{workflow_version} do not map it",
                f"阶段“{state}”在版本 {version} 中不存在，且其从 {workflow_version} 的迁移映射"
                "未包含该阶段"))
    else:
        to_state = target.leaf(named)
        if target.states[to_state].final:
            problems.append(MoveProblem(
                "final_state",
                f"'{state}' would land in the final state '{to_state}' of {version}; a "
                "migration does not close a case: fire its exit trigger instead",
                f"“{state}”会落入版本 {version} 的终止阶段“{to_state}”；迁移不结束事项，"
                "请执行相应的结束操作"))

    present = {k: v for k, v in data.items() if v is not None}
    clean, field_problems = check_values(target.fields, present)
    for found in field_problems:
        if found.code == "unknown":
            problems.append(MoveProblem(
                "field_missing",
                f"field '{found.field}' has a value but does not exist in {version}",
                f"字段“{found.field}”有值，但版本 {version} 中没有该字段", found.field))
        elif found.code == "required":
            problems.append(MoveProblem(
                "field_required",
                f"{version} requires '{found.field}', which the case has no value for",
                f"版本 {version} 要求填写“{found.field}”，而事项没有该值", found.field))
        else:
            problems.append(MoveProblem(
                "field_invalid",
                f"the value of '{found.field}' no longer fits {version}: it {found.en}",
                f"“{found.field}”的值不符合版本 {version}：{found.zh}", found.field))
    return CaseMove(**base, to_state=to_state, data=clean if not field_problems else present,
                    mapped=mapped, problems=tuple(problems))


def may_migrate(wf: CompiledWorkflow, case: CaseSnapshot, actor: Actor
                ) -> tuple[str | None, Refusal | None]:
    """The role under which `actor` may move the case, or why it may not (a closed case
    is never moved; a suspended one is, and stays suspended)."""
    blocked = status_refusal(wf, case, suspended_ok=True)
    if blocked is not None:
        return None, blocked
    return migration_role(actor)


def migrate(wf: CompiledWorkflow, case: CaseSnapshot, case_id: str, target: CompiledWorkflow,
            actor: Actor, now: datetime, params: Mapping[str, Any],
            comment: str | None = None) -> Change | Refusal:
    """Move the case to `target` (a newer version of its workflow), with a `migration`
    event; `params` are the case's parameters under `target`.

    States the case stays in keep their entry (checklist ticks, running timers); timers
    the new version no longer defines are cancelled, and states entered afresh arm
    theirs (paused if the case is suspended).
    """
    role, refused = may_migrate(wf, case, actor)
    if refused is not None:
        return refused
    move = plan_case(case_id, wf.version, case.state, case.data, target)
    if not move.movable or move.to_state is None:
        return refusal("migration_blocked",
                       {"problems": [p.as_dict() for p in move.problems],
                        "to_version": target.version},
                       case=case_id, version=target.version,
                       reasons=(move.reasons("en"), move.reasons("zh")))
    seq = case.events + 1
    lineage = target.lineage(move.to_state)
    entries = {s: case.entries.get(s, seq) for s in lineage}
    entered = [s for s in reversed(lineage) if s not in case.entries]
    data = dict(move.data)
    changes = {k: data.get(k) for k in sorted({*data, *case.data})
               if data.get(k) != case.data.get(k)}
    values: dict[str, Any] = {"workflow_version": target.version, "state": move.to_state,
                              "data": data, "state_entries": entries}
    values["title"] = title(target, data)
    if move.to_state not in case.entries:
        values["entered_at"] = now
    after = CaseSnapshot(state=move.to_state, data=data,
                         entered_at=values.get("entered_at", case.entered_at),
                         links=case.links)
    values["priority"] = priority(target, after, now, params)
    try:
        arm = plan_timers(target, entered, data, now, params)
    except (CalendarCoverageError, DurationError, KeyError) as error:
        return refusal("calendar_not_covered", {}, error=error)
    event = {
        "kind": "migration", "workflow_id": target.id, "workflow_version": target.version,
        "trigger": None, "from_state": case.state, "to_state": move.to_state,
        "actor": actor.id, "role": role,
        "input": {"from_version": wf.version, "to_version": target.version,
                  "mapped": move.mapped},
        "comment": comment, "changes": changes, "at": now,
    }
    # Timers stay only where the new version still defines them on a state the case
    # stays in (`engine.core.operations.transition_change` relies on it).
    keep = frozenset((s, t.id) for s in entries if s not in entered
                     for t in target.states[s].spec.timers)
    effects: list[Effect] = [KeepTimers(keep), ArmTimers(arm)]
    if case.status == "suspended":
        effects.append(PauseTimers())
    return Change(event=event, values=values, effects=tuple(effects),
                  moved=move.to_state != case.state, workflow=target, params=params)
