"""The console's words, in Chinese first and English, and the way people read dates.

One catalogue for every page (`TEXTS`, an `engine.catalogue.Catalogue` written key ->
(zh, en), its desks' parts in `texts_*`); templates call `t("key")`. The
language is the `lang` cookie a person set with the switch in the header, else Chinese:
the console's people are community workers. Dates are written as officers write them
(2026年3月2日), times in China Standard Time; exports keep ISO dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone

from starlette.requests import Request

from api.console.texts_assignment import ASSIGNMENT_TEXTS
from api.console.texts_attempts import ATTEMPT_TEXTS
from api.console.texts_audit import AUDIT_TEXTS
from api.console.texts_design import DESIGN_TEXTS
from engine.catalogue import Catalogue

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "hatchery_lang"
CHINA = timezone(timedelta(hours=8), "CST")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")

_FRAME = Catalogue.zh_en("console.frame", {
    # the frame of every page
    "app.name": ("社区孵化工作台", "Community incubation desk"),
    "app.skip": ("跳到正文", "Skip to main content"),
    "nav.queue": ("待办", "Work queue"),
    "nav.start": ("新建档案", "New record"),
    "nav.account": ("我的账号", "My account"),
    "nav.sign_out": ("退出", "Sign out"),
    "nav.main": ("主导航", "Main navigation"),
    "lang.switch": ("English", "中文"),
    "footer.api": ("接口文档", "API reference"),
    # sign-in and passwords
    "signin.title": ("登录", "Sign in"),
    "signin.name": ("用户名", "User name"),
    "signin.password": ("密码", "Password"),
    "signin.submit": ("登录", "Sign in"),
    "signin.failed": ("用户名或密码不正确", "The user name or password is not right"),
    "signin.locked": ("账号因多次登录失败已锁定，请于 {minutes} 分钟后再试，或请管理员解锁",
                      "The account is locked after repeated failed sign-ins: try again in "
                      "{minutes} minutes, or ask an administrator to unlock it"),
    "signin.slowed": ("登录失败次数过多，请 {seconds} 秒后再试",
                      "Too many failed sign-ins: try again in {seconds} seconds"),
    "signin.disabled": ("账号已停用，请联系管理员",
                        "This account is disabled: ask an administrator"),
    "signin.expired": ("您已较长时间未操作，请重新登录",
                       "You were signed out after a period without activity: sign in again"),
    "signin.signed_out": ("您已退出", "You have signed out"),
    "password.title": ("修改密码", "Change your password"),
    "password.first": ("首次登录，请先设置您自己的密码",
                       "This is your first sign-in: choose your own password"),
    "password.current": ("当前密码", "Current password"),
    "password.new": ("新密码", "New password"),
    "password.repeat": ("再次输入新密码", "New password again"),
    "password.hint": ("至少 {length} 个字符，包含大写字母、小写字母、数字和符号中的至少 "
                      "{classes} 类",
                      "At least {length} characters, with at least {classes} of: capital "
                      "letters, small letters, digits, symbols"),
    "password.submit": ("保存新密码", "Save the new password"),
    "password.changed": ("密码已修改", "Your password has been changed"),
    "password.wrong_current": ("当前密码不正确", "The current password is not right"),
    "password.mismatch": ("两次输入的新密码不一致", "The two new passwords are not the same"),
    "password.same": ("新密码不能与当前密码相同",
                      "The new password must differ from the current one"),
    # the work queue
    "queue.title": ("待办", "Work queue"),
    "queue.filters": ("筛选", "Filters"),
    "queue.filters_on": ("（已筛选）", " (on)"),
    "queue.workflow": ("流程", "Workflow"),
    "queue.stage": ("阶段", "Stage"),
    "queue.status": ("状态", "Status"),
    "queue.overdue_only": ("只看已逾期", "Overdue only"),
    "queue.escalated_only": ("只看已督办", "Escalated only"),
    "queue.search": ("按名称搜索", "Search by name"),
    "queue.apply": ("筛选", "Filter"),
    "queue.clear": ("清除筛选", "Clear filters"),
    "queue.any": ("全部", "All"),
    "queue.empty": ("没有符合条件的档案", "No records match"),
    "queue.count": ("本页 {n} 条", "{n} on this page"),
    "queue.record": ("档案", "Record"),
    "queue.days": ("本阶段天数", "Days in stage"),
    "queue.next_due": ("下一期限", "Next deadline"),
    "queue.next_page": ("下一页", "Next page"),
    "queue.first_page": ("回到第一页", "First page"),
    "queue.save_as": ("保存当前筛选为", "Save these filters as"),
    "queue.save": ("保存", "Save"),
    "queue.saved": ("已保存的筛选", "Saved filters"),
    "queue.delete_saved": ("删除", "Delete"),
    "queue.days_n": ("{n} 天", "{n} days"),
    "badge.overdue": ("已逾期", "Overdue"),
    "badge.escalated": ("已督办", "Escalated"),
    "status.active": ("办理中", "In progress"),
    "status.suspended": ("已暂停", "Suspended"),
    "status.closed": ("已办结", "Closed"),
    "status.all": ("全部", "All"),
    "queue.pages": ("翻页", "Pages"),
    # one record
    "case.workflow": ("流程", "Workflow"),
    "case.version": ("版本", "Version"),
    "case.stage": ("当前阶段", "Current stage"),
    "case.status": ("状态", "Status"),
    "case.community": ("所属社区", "Community"),
    "case.started": ("建档日期", "Started"),
    "case.entered": ("进入本阶段", "In this stage since"),
    "case.details": ("档案信息", "Details"),
    "case.diagram": ("流程图（当前阶段已高亮）", "Workflow diagram (current stage highlighted)"),
    "case.actions": ("可办理事项", "What you can do now"),
    "case.no_actions": ("当前阶段没有您可以办理的事项", "Nothing for you to do at this stage"),
    "case.read_only": ("您的角色只能查看，不能办理", "Your role can read but not change records"),
    "case.goes_to": ("办理后进入：{stage}", "Moves the record to: {stage}"),
    "case.fill_in": ("填写并办理“{what}”", "Fill in and submit “{what}”"),
    "case.why_not": ("暂不能办理：", "Not possible yet: "),
    "case.checklist": ("本阶段清单", "Checklist of this stage"),
    "case.tick": ("勾选", "Tick"),
    "case.untick": ("取消勾选", "Untick"),
    "case.evidence": ("佐证材料", "Evidence"),
    "case.evidence_hint": ("例如：场地协议编号、拨款凭证、任命文件",
                           "For example: the venue agreement's number, the payment slip, the "
                           "appointment letter"),
    "case.untick_reason": ("取消原因", "Reason for unticking"),
    "case.ticked_by": ("{actor} 于 {at} 勾选", "ticked by {actor} on {at}"),
    "case.deadlines": ("期限与复核", "Deadlines and reviews"),
    "case.no_deadlines": ("当前没有待到期的期限", "No pending deadlines"),
    "case.due": ("{date} 到期", "due {date}"),
    "case.working_days_left": ("还剩 {n} 个工作日", "{n} working days left"),
    "case.past_due": ("已过期", "past due"),
    "case.links": ("关联档案", "Linked records"),
    "case.no_links": ("没有关联档案", "No linked records"),
    "case.link_elsewhere": ("其他社区的档案（无权查看）",
                            "A record in another community (not visible to you)"),
    "case.links_to": ("本档案关联", "this record links to"),
    "case.linked_from": ("关联本档案", "links to this record"),
    "case.suspend": ("暂停办理", "Suspend"),
    "case.suspend_reason": ("暂停原因", "Why is it suspended?"),
    "case.resume": ("恢复办理", "Resume"),
    "case.resume_comment": ("恢复说明", "Comment on resuming"),
    "case.suspended_notice": ("本档案已暂停办理，期限计时也已暂停",
                              "This record is suspended; its deadlines are paused"),
    "case.closed_notice": ("本档案已办结", "This record is closed"),
    "case.history": ("办理记录", "History"),
    "case.by": ("{actor}（{role}）", "{actor} ({role})"),
    "case.stale": ("在您打开本页后，其他人已办理了本档案。下面是最新情况，请确认后重新提交。",
                   "Someone else changed this record after you opened this page. Below is how it "
                   "stands now: check it and submit again."),
    "case.refused": ("未能办理", "Not done"),
    "refusal.role_missing": ("需由{roles}办理", "Only {roles} can do this"),
    "refusal.checklist_incomplete": ("本阶段清单尚未完成：{items}",
                                     "The checklist of this stage is not complete: {items}"),
    "done.start": ("已建档", "The record has been started"),
    "done.tick": ("已勾选清单项", "The checklist item has been ticked"),
    "done.untick": ("已取消勾选清单项", "The checklist item has been unticked"),
    "done.suspend": ("已暂停办理", "The record has been suspended"),
    "done.resume": ("已恢复办理", "The record has been resumed"),
    "done.fire": ("已办理：{what}", "Done: {what}"),
    "event.start": ("建档", "Record started"),
    "event.transition": ("办理", "Step taken"),
    "event.checklist_tick": ("勾选清单项", "Checklist item ticked"),
    "event.checklist_untick": ("取消勾选清单项", "Checklist item unticked"),
    "event.link": ("关联档案", "Records linked"),
    "event.unlink": ("解除关联", "Records unlinked"),
    "event.suspend": ("暂停办理", "Suspended"),
    "event.resume": ("恢复办理", "Resumed"),
    "event.migration": ("迁移到新版本流程", "Moved to a new workflow version"),
    "event.overdue": ("标记为逾期", "Marked overdue"),
    "event.escalation": ("督办", "Escalated"),
    "event.timer_refused": ("期限已到，未能执行", "A deadline passed; its action was refused"),
    "event.from_to": ("从“{from_}”到“{to}”", "from “{from_}” to “{to}”"),
    "event.stays": ("仍在“{stage}”阶段", "still in “{stage}”"),
    "event.timer_due": ("期限“{what}”已到（{due}）", "The deadline “{what}” was reached ({due})"),
    "event.system": ("系统自动", "automatically"),
    "event.deadline": ("期限", "Deadline"),
    "event.due_at": ("到期时间", "Due"),
    "event.step": ("应办步骤", "Step"),
    "event.why": ("未能执行的原因", "Why it was not taken"),
    "event.reason": ("原因", "Reason"),
    "event.versions": ("流程版本", "Workflow version"),
    # starting a record
    "start.title": ("新建档案", "Start a record"),
    "start.choose": ("要新建哪一类档案？", "Which kind of record do you want to start?"),
    "start.none": ("您的角色不能新建档案", "Your role cannot start records"),
    "start.community": ("所属社区", "Community"),
    "start.community_hint": ("区/街道/社区，例如 {example}",
                             "district/street/community, for example {example}"),
    "start.submit": ("建档", "Start the record"),
    "start.community_choose": ("请选择所属社区", "Choose the community"),
    "start.out_of_scope": ("该社区不在您的工作范围内", "This community is outside your scope"),
    # roles (the built-in ones and those the shipped workflows name)
    "role.admin": ("管理员", "administrator"),
    "role.designer": ("流程设计人员", "process designer"),
    "role.caseworker": ("社工", "caseworker"),
    "role.auditor": ("审计人员", "auditor"),
    "role.party_committee": ("社区党委", "community party committee"),
    "role.street_committee": ("街道党工委", "street party working committee"),
    "role.higher_committee": ("上级党委", "higher party committee"),
    "role.branch": ("党支部", "party branch"),
    # forms
    "form.error_summary": ("提交的内容有问题", "There is a problem"),
    "form.required": ("请填写“{field}”", "Enter {field}"),
    "form.optional": ("（选填）", "(optional)"),
    "form.yes": ("是", "Yes"),
    "form.no": ("否", "No"),
    "form.choose": ("请选择", "Choose"),
    "form.comment": ("备注", "Comment"),
    "form.csrf": ("表单已过期，请重新提交", "The form has expired: please submit it again"),
    # errors shown as pages
    "error.not_found": ("未找到该页面或记录", "Page or record not found"),
    "error.forbidden": ("您无权执行此操作", "You may not do this"),
    "error.unavailable": ("服务暂时不可用，请稍后再试",
                          "The service is unavailable: try again shortly"),
    "error.back": ("返回待办", "Back to the work queue"),
})


TEXTS = Catalogue("console", {**_FRAME, **AUDIT_TEXTS,
                              **ASSIGNMENT_TEXTS, **DESIGN_TEXTS, **ATTEMPT_TEXTS})


def text(key: str, lang: str, **args: object) -> str:
    """The text of `key` in `lang`, with `{name}` placeholders filled by the catalogue's
    rules (a title quoted in Chinese, “{name}”, that has quotes of its own gets them as
    single quotes, as quotes within quotes are written (GB/T 15834):
    填写并办理“‘四个一’逾期未落实”)."""
    return TEXTS.text(key, lang, **args)


def role_title(role: str | None, lang: str) -> str:
    """A role in people's words (the code itself for a role no catalogue names yet)."""
    if not role:
        return ""
    return text(f"role.{role}", lang) if f"role.{role}" in TEXTS else role


def bilingual(values: Mapping[str, str] | str | None, lang: str, fallback: str = "") -> str:
    """A zh/en pair from a definition (either may be missing: the other is shown)."""
    if values is None:
        return fallback
    if isinstance(values, str):
        return values
    other = "en" if lang == "zh" else "zh"
    return values.get(lang) or values.get(other) or fallback


def request_language(request: Request) -> str:
    """The person's language: the switch's cookie, else Chinese."""
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGS else DEFAULT_LANG


async def use_language(request: Request) -> None:
    """Every console route reads the person's language first (a router dependency)."""
    request.state.lang = request_language(request)


def format_date(value: date | datetime | None, lang: str) -> str:
    """2026年3月2日 / 2 March 2026; datetimes are read in China Standard Time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(CHINA).date() if value.tzinfo else value.date()
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def format_datetime(value: datetime | None, lang: str) -> str:
    """2026年3月2日 14:05 (China Standard Time)."""
    if value is None:
        return ""
    local = value.astimezone(CHINA) if value.tzinfo else value
    return f"{format_date(local, lang)} {local:%H:%M}"
