"""Why a change is refused: the standard bilingual texts of the core's refusal codes.

One catalogue for every operation of the core, the guards it evaluates and the requests
the door refuses before deciding, so a refusal reads the same whichever rule produced
it. Arguments given as `(en, zh)` pairs (state and trigger titles) are shown in each
message's own language. The table is an `engine.catalogue.Catalogue`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.catalogue import Catalogue, Words
from engine.core.compiler import CompiledWorkflow
from engine.errors import Refusal
from engine.language.spec import FieldSpec, as_text
from engine.language.values import FieldProblem

REFUSALS = Catalogue.en_zh("refusals", {
    "unknown_trigger": ("'{trigger}' is not a trigger of workflow {workflow}",
                        "“{trigger}”不是流程 {workflow} 的操作"),
    "not_allowed_from_state": ("'{trigger}' cannot be done while the case is in '{state}'",
                               "事项处于“{state}”阶段，不能执行“{trigger}”"),
    "role_missing": ("'{trigger}' needs one of the roles: {roles}",
                     "执行“{trigger}”需要以下角色之一：{roles}"),
    "start_role_missing": ("starting a case of {workflow} needs one of the roles: {roles}",
                           "发起“{workflow}”需要以下角色之一：{roles}"),
    "input_invalid": ("the input is not valid: {fields}", "输入有误：{fields}"),
    "guard_false": ("the condition for '{trigger}' is not met",
                    "不满足执行“{trigger}”的条件"),
    "guard_error": ("the condition for '{trigger}' could not be checked: {error}",
                    "无法检查执行“{trigger}”的条件：{error}"),
    "checklist_incomplete": ("the checklist of '{state}' is not complete: {missing}",
                             "“{state}”阶段的清单尚未完成：{missing}"),
    "case_suspended": ("the case is suspended; resume it first", "事项已暂停，请先恢复"),
    "case_closed": ("the case is closed (final state '{state}')",
                    "事项已结束（终止阶段“{state}”）"),
    "effect_invalid": ("the workflow computed an invalid value for '{field}': {error}",
                       "流程为“{field}”计算出的值无效：{error}"),
    "calendar_not_covered": ("a deadline cannot be computed: {error}",
                             "无法计算期限：{error}"),
    "checklist_unknown_item": ("'{item}' is not a checklist item of '{state}'",
                               "“{item}”不是“{state}”阶段的清单项"),
    "evidence_required": ("ticking '{item}' needs evidence", "勾选“{item}”需要提供佐证材料"),
    "already_ticked": ("'{item}' is already ticked", "“{item}”已经勾选"),
    "not_ticked": ("'{item}' is not ticked", "“{item}”尚未勾选"),
    "link_self": ("a case cannot be linked to itself", "事项不能与自身关联"),
    "already_linked": ("case {case} is already linked to case {other}",
                       "事项 {case} 已与事项 {other} 关联"),
    "not_linked": ("case {case} is not linked to case {other}",
                   "事项 {case} 未与事项 {other} 关联"),
    "invalid_relation": ("'{relation}' is not a relation name (lowercase letters, digits, _)",
                         "“{relation}”不是有效的关联类型（小写字母、数字、下划线）"),
    "already_suspended": ("the case is already suspended", "事项已处于暂停状态"),
    "not_suspended": ("the case is not suspended", "事项未处于暂停状态"),
    "migration_blocked": ("case {case} cannot move to {version}: {reasons}",
                          "事项 {case} 不能迁移到 {version}：{reasons}"),
    # Refusals of the shell (requests the door cannot take as they are)
    "idempotency_key_reused": (
        "the idempotency key '{key}' was already used for a different request",
        "幂等键“{key}”已用于另一个不同的请求"),
    "invalid_community": (
        "'{community}' is not a community path like district/street/community",
        "“{community}”不是“区/街道/社区”形式的社区路径"),
    "invalid_idempotency_key": ("an idempotency key has 1 to {max} characters",
                                "幂等键的长度应为 1 到 {max} 个字符"),
    "invalid_cursor": ("the page cursor is not valid: start again from the first page",
                       "分页游标无效，请从第一页重新开始"),
    "invalid_parameter": ("the parameter override is not valid: {error}",
                          "参数设置无效：{error}"),
    "invalid_timer_state": ("'{state}' is not a timer status: use one of {states}",
                            "“{state}”不是期限的状态，可选：{states}"),
    # The responsible person and the follow-up date (engine.service.assignment)
    "assignment_unchanged": ("{who} is already responsible for this case",
                             "{who}已是该事项的责任人"),
    "nobody_responsible": ("nobody is responsible for this case", "该事项尚无责任人"),
    "assignment_not_allowed": (
        "only whoever leads the community's work assigns a case to someone else or takes "
        "it from its responsible person", "只有负责社区工作的人员可以把事项分配给他人或改换责任人"),
    "follow_up_not_allowed": ("only the responsible person sets the follow-up date",
                              "只有责任人可以设定回访日期"),
    "invalid_assignee": ("a responsible person is named by a sign-in name of 1 to {max} "
                         "characters", "责任人应为 1 到 {max} 个字符的用户名"),
})


def refusal(code: str, details: Mapping[str, Any] | None = None, **args: Any) -> Refusal:
    """A refusal with its standard bilingual message.

    An argument given as a `(en, zh)` pair is shown in the message's own language, so
    state and trigger names appear as the designer labelled them.
    """
    words = REFUSALS.words(code, **{k: Words(v[0], v[1]) if isinstance(v, tuple) else v
                                    for k, v in args.items()})
    return Refusal(code, words.en, words.zh, dict(details or {}))


def input_refusal(problems: list[FieldProblem], args: Mapping[str, Any],
                  specs: Mapping[str, FieldSpec] | None = None) -> Refusal:
    """Every invalid field at once, each named by its title, in both languages."""
    def name(field: str, lang: str) -> str:
        spec = (specs or {}).get(field)
        return as_text(spec.title if spec is not None else None, lang, field)

    fields = ("; ".join(f"{name(p.field, 'en')}: {p.en}" for p in problems),
              "；".join(f"{name(p.field, 'zh')}：{p.zh}" for p in problems))
    return refusal("input_invalid", {"errors": [p.as_dict() for p in problems]},
                   **{**args, "fields": fields})


class _Labels(Mapping[str, Any]):
    """Message arguments naming a state, a trigger and the workflow in both languages,
    rendered only when a refusal is really built (most decisions refuse nothing)."""

    _KEYS = ("state", "trigger", "workflow")

    def __init__(self, wf: CompiledWorkflow, state: str, trigger: str) -> None:
        self._wf, self._state, self._trigger = wf, state, trigger

    def __getitem__(self, key: str) -> tuple[str, str]:
        wf = self._wf
        if key == "state":
            info = wf.states.get(self._state)
            title = info.spec.title if info is not None else None
            return wf.text(title, "en", self._state), wf.text(title, "zh", self._state)
        if key == "trigger":
            title = wf.trigger_titles.get(self._trigger)
            return wf.text(title, "en", self._trigger), wf.text(title, "zh", self._trigger)
        if key == "workflow":
            return wf.text(wf.spec.title, "en"), wf.text(wf.spec.title, "zh")
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


def labels(wf: CompiledWorkflow, state: str, trigger: str) -> Mapping[str, Any]:
    """Message arguments naming a state and a trigger by their labels in both languages."""
    return _Labels(wf, state, trigger)
