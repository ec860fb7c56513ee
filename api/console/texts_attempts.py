"""The words of refused attempts on a record's timeline (`api.console.attempts`): what was
tried, and why it was refused, said from the refusal's code."""

from __future__ import annotations

from engine.catalogue import Catalogue

_ATTEMPTS = Catalogue.zh_en("console.attempt_kinds", {
    "attempt.badge": ("未办成", "Refused"),
    "attempt.why": ("被拒绝：{reason}", "Refused: {reason}"),
    "attempt.fire": ("尝试办理“{what}”", "Tried: {what}"),
    "attempt.checklist": ("尝试勾选或取消清单项", "Tried to tick or untick a checklist item"),
    "attempt.suspension": ("尝试暂停或恢复", "Tried to suspend or resume"),
    "attempt.suspend": ("尝试暂停", "Tried to suspend"),
    "attempt.resume": ("尝试恢复", "Tried to resume"),
    "attempt.assignment": ("尝试更换责任人", "Tried to change the responsible person"),
    "attempt.follow-up": ("尝试设定回访日期", "Tried to set the follow-up date"),
    "attempt.links": ("尝试关联或解除关联", "Tried to link or unlink a record"),
    "attempt.events": ("尝试办理一个步骤（接口）", "Tried a step (through the API)"),
    "attempt.change": ("尝试办理", "Tried a change"),
})

REASONS = Catalogue.zh_en("console.refusal_reasons", {
    "guard_false": ("不满足办理条件", "a condition was not met"),
    "guard_error": ("办理条件无法判断", "a condition could not be checked"),
    "role_missing": ("没有办理这一步所需的角色", "a role this step needs was missing"),
    "checklist_incomplete": ("本阶段清单尚未完成", "the stage's checklist was not complete"),
    "input_invalid": ("填写的内容有误", "what was entered was not valid"),
    "not_allowed_from_state": ("当前阶段不能办理这一步", "not possible in the current stage"),
    "unknown_trigger": ("流程中没有这一步", "the workflow has no such step"),
    "case_suspended": ("档案已暂停", "the record was suspended"),
    "case_closed": ("档案已办结", "the record was closed"),
    "conflict": ("表单已过期：档案刚被他人更新",
                 "the form was stale: someone had just changed the record"),
    "evidence_required": ("勾选需要佐证材料", "ticking needed evidence"),
    "already_ticked": ("清单项已勾选", "the item was already ticked"),
    "not_ticked": ("清单项尚未勾选", "the item was not ticked"),
    "checklist_unknown_item": ("不是本阶段的清单项", "not an item of this stage's checklist"),
    "already_suspended": ("档案已处于暂停状态", "the record was already suspended"),
    "not_suspended": ("档案未处于暂停状态", "the record was not suspended"),
    "assignment_not_allowed": ("无权更换责任人", "not allowed to change the responsible person"),
    "follow_up_not_allowed": (
        "只有责任人可以设定回访日期", "only the responsible person sets the follow-up date"),
    "assignment_unchanged": ("责任人没有变化", "the responsible person was the same"),
    "nobody_responsible": ("档案没有责任人", "the record had no responsible person"),
    "calendar_not_covered": ("无法计算期限（工作日历未覆盖）",
                             "a deadline could not be computed (calendar)"),
    "effect_invalid": ("流程计算出的值无效", "the workflow computed an invalid value"),
    "idempotency_key_reused": ("重复提交的表单内容不同", "a resubmitted form differed"),
    "other": ("办理未获通过", "the change was refused"),
})
"""Why an attempt was refused, by the refusal's code."""

ATTEMPT_TEXTS = Catalogue("console.attempts", {
    **_ATTEMPTS,
    **{f"attempt.reason.{code}": words for code, words in REASONS.items()},
})
