"""The words of the responsible person (责任人), the follow-up date and the queue's views;
merged into `api.console.i18n.TEXTS`."""

from __future__ import annotations

from engine.catalogue import Catalogue

ASSIGNMENT_TEXTS = Catalogue.zh_en("console.assignment", {
    "view.mine": ("我的档案", "My records"),
    "view.unassigned": ("未分配", "Unassigned"),
    "view.all": ("我范围内的全部", "All in my scope"),
    "view.label": ("查看范围", "Which records"),
    "queue.follow_up_due": ("只看回访日已到", "Follow-up due only"),
    "queue.sort": ("排序", "Sort by"),
    "sort.priority": ("按优先级", "Priority"),
    "sort.follow_up": ("按回访日期（最近的在前）", "Follow-up date (soonest first)"),
    "sort.deadline": ("按下一期限（最近的在前）", "Next deadline (soonest first)"),
    "queue.responsible": ("责任人", "Responsible"),
    "queue.follow_up_on": ("回访 {date}", "follow up {date}"),
    "badge.follow_up": ("回访日已到", "Follow-up due"),
    "resp.title": ("责任人", "Responsible person"),
    "resp.nobody": ("尚未分配", "Nobody yet"),
    "resp.you": ("（您）", "(you)"),
    "resp.claim": ("由我负责（认领）", "I will take it (claim)"),
    "resp.release": ("不再由我负责", "Give it up"),
    "resp.assign_to": ("分配或移交给", "Assign or hand over to"),
    "resp.assign": ("确定", "Confirm"),
    "resp.comment": ("说明（选填）", "Comment (optional)"),
    "resp.follow_up": ("回访日期", "Follow-up date"),
    "resp.follow_up_hint": ("您打算再次走访或联系的日期，到期后会出现在待办中",
                            "The day you mean to visit or call again; it shows in the queue "
                            "when due"),
    "resp.follow_up_set": ("设定", "Set"),
    "resp.follow_up_clear": ("清除回访日期", "Clear the follow-up date"),
    "resp.follow_up_none": ("未设定回访日期", "No follow-up date"),
    "resp.follow_up_on": ("{date} 回访", "follow up on {date}"),
    "resp.lead_only": ("由社区党委或管理员分配和移交", "Assigned and handed over by the "
                       "community party committee or an administrator"),
    "done.assign": ("已更新责任人", "The responsible person has been changed"),
    "done.follow_up": ("已更新回访日期", "The follow-up date has been changed"),
    "event.assignment": ("更换责任人", "Responsible person changed"),
    "event.follow_up": ("设定回访日期", "Follow-up date set"),
    "event.assignee": ("责任人", "Responsible"),
    "event.previous": ("原责任人", "Previously"),
    "event.follow_up_on": ("回访日期", "Follow-up date"),
    "handover.title": ("批量移交", "Hand over in bulk"),
    "handover.explain": ("把一位同事负责的档案一次移交给另一位同事（例如同事调岗或离职时）。"
                         "每份档案的办理记录中都会记下这次移交。",
                         "Hand a colleague's records over to another at once (when someone "
                         "moves or leaves). Each record's history keeps the handover."),
    "handover.from": ("原责任人", "From"),
    "handover.to": ("移交给", "To"),
    "handover.show": ("列出其负责的档案", "List their records"),
    "handover.none": ("此人没有负责的档案", "This person is responsible for no records"),
    "handover.submit": ("移交选中的 {n} 份档案", "Hand over the {n} selected records"),
    "handover.done": ("已移交 {n} 份档案", "{n} records handed over"),
    "handover.failed": ("{n} 份档案未能移交：{titles}", "{n} records could not be handed over: "
                        "{titles}"),
    "handover.choose": ("请选择", "Choose"),
    "handover.same": ("原责任人和新责任人不能是同一人", "Choose two different people"),
    "nav.handover": ("批量移交", "Hand over"),
    "refused.title": ("未办成的尝试", "Refused attempt"),
})
