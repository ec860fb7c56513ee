"""The demo's party organizations and their people: the Shanggu centre's branch, from two
members in the incubator joint branch to a branch of seven that must elect a committee, and
the party records of the robotics studio and the social-work organization.

People arrive two ways: members who joined the party elsewhere transfer their membership in
(`membership_transfer`, with their true dates of admission and conversion), and applicants
are developed inside the organization through the five stages (`member_development`).
"""

from __future__ import annotations

from typing import Any

from engine.contrib.demo.actors import COMMITTEE, INCUBATOR, SHANGGU, STREET
from engine.contrib.demo.script import (
    TODAY,
    Ref,
    Script,
    fire,
    link,
    months,
    start,
    tick,
    together,
)
from engine.core.decision import Actor

JOINT_BRANCH = "金洲社区非公企业和社会组织“孵化器”党支部"
SHANGGU_BRANCH = "中共福州市仓山区上古健康服务中心支部委员会"

# Who counts at the Shanggu branch's meetings from when (full and probationary members).
SHANGGU_ROSTER = (
    ("2024-11-05", "黄敏"), ("2024-11-05", "郭强"), ("2025-03-03", "林晓"),
    ("2025-06-16", "王磊"), ("2025-09-15", "张丽"), ("2026-02-02", "刘洋"),
    ("2026-05-08", "陈静"),
)


def _transfer_in(s: Script, when: str, key: str, *, name: str, born: str, unit: str,
                 org: str, joined: str, full_since: str, came_from: str, letter: str,
                 issued: str, branch: Actor) -> None:
    """A full member who joined elsewhere: the letter, the link, the report, the records."""
    s.on(when, together(
        start(key, "membership_transfer", {
            "name": name, "birth_date": born, "unit": unit, "party_organization": Ref(org),
            "status_on_arrival": "full_member", "joined_on": joined,
            "full_member_since": full_since, "from_organization": came_from,
            "letter_number": letter, "letter_issued_on": issued}, actor=branch,
            comment="收到组织关系介绍信"),
        link(key, org, "party_organization", actor=branch),
        fire(key, "accept", {"reported_on": TODAY}, actor=branch)))
    s.on(f"{when.split(' ')[0]} 16:00", tick(key, "records_received", "党员档案已转入",
                                            actor=branch))


def _apply(s: Script, when: str, key: str, *, name: str, born: str, unit: str, org: str,
           branch: Actor) -> None:
    s.on(when, together(
        start(key, "member_development", {
            "name": name, "birth_date": born, "application_date": TODAY, "unit": unit,
            "party_organization": Ref(org)}, actor=branch),
        link(key, org, "party_organization", actor=branch)))


def _become_activist(s: Script, key: str, *, talk: str, decided: str, branch: Actor,
                     mentors: tuple[str, ...], decided_by: str) -> None:
    """Talk, nomination and notice (ended by its timer), decision, filing."""
    s.on(talk, fire(key, "record_talk", {"talk_date": TODAY}, actor=branch))
    s.on(f"{talk} 10:00", fire(key, "recommend_activist", {"method": "party_members"},
                               actor=branch))
    s.on(decided, fire(key, "decide_activist", {
        "decision_date": TODAY, "decided_by": decided_by, "mentors": list(mentors),
        "mentors_are_full_members": True}, actor=branch))
    s.on(f"{decided} 15:00", tick(key, "activist_filed", "报金洲社区党委备案", actor=branch))


def _assess(s: Script, key: str, when: str, branch: Actor) -> None:
    s.on(when, fire(key, "record_assessment", {"assessed_on": TODAY, "result": "good"},
                    actor=branch))


def _reports(s: Script, key: str, days: tuple[str, ...], branch: Actor) -> None:
    """Thought reports handed in (quarterly in Jinzhou's branches)."""
    for day in days:
        s.on(f"{day} 11:00", fire(key, "record_thought_report", {"submitted_on": TODAY},
                                  actor=branch))


def _meeting(s: Script, org: str, when: str, kind: str, topic: str,
             absent: tuple[str, str] | None = None) -> None:
    day = when.split(" ")[0]
    members = [name for since, name in SHANGGU_ROSTER if since <= day]
    values: dict[str, Any] = {"kind": kind, "held_on": TODAY, "topic": topic,
                              "minutes": f"{topic}：会议记录见支部三会一课记录本"}
    if absent is not None and absent[0] in members:
        members.remove(absent[0])
        values.update(absent=[absent[0]], absence_reasons=absent[1])
    values["present"] = members
    s.on(when, fire(org, "record_meeting", values, actor=SHANGGU))


def _shanggu_register(s: Script, org: str, last_month: str) -> None:
    """The branch's organizational life from June 2025 (the May themed party day was
    missed: the check of 8 June finds it): a themed party day every month, a general
    meeting and a party lecture every quarter, the life meeting and democratic appraisal
    every December, committee meetings once it has a committee."""
    for month in months("2025-06", last_month):
        _meeting(s, org, f"{month}-10 14:00", "themed_party_day", "主题党日：志愿服务进小区")
        if int(month[5:]) % 3 == 0:
            _meeting(s, org, f"{month}-20 15:00", "general_meeting", "支部党员大会",
                     absent=("张丽", "外出参加护理培训") if month == "2025-12" else None)
            _meeting(s, org, f"{month}-20 16:00", "party_lecture", "党课：党建引领居家养老服务")
        if month.endswith("-12"):
            _meeting(s, org, f"{month}-19 15:00", "life_meeting", "年度组织生活会")
            _meeting(s, org, f"{month}-19 16:30", "democratic_appraisal", "民主评议党员")
        if month >= "2027-06":
            _meeting(s, org, f"{month}-15 15:00", "committee_meeting", "支部委员会会议")


def shanggu_party(s: Script) -> None:
    org = "po:shanggu"
    # Registered before the centre is selected, with its two members: party presence
    # puts the centre first in the committee's selection queue.
    s.on("2024-11-05 10:00", together(
        start(org, "party_organization", {"name": "上古健康服务中心",
                                          "social_organization": Ref("soi:shanggu")},
              actor=COMMITTEE),
        link(org, "soi:shanggu", "social_organization", actor=COMMITTEE)))
    came_from = "中共福州市鼓楼区某社区卫生服务中心支部委员会"
    _transfer_in(s, "2024-11-05 10:30", "mt:huangmin", name="黄敏", born="1978-03-12",
                 unit="上古健康服务中心 主任", org=org, joined="2005-07-01",
                 full_since="2006-07-01", came_from=came_from, letter="闽鼓组转〔2024〕118号",
                 issued="2024-10-28", branch=INCUBATOR)
    _transfer_in(s, "2024-11-05 11:00", "mt:guoqiang", name="郭强", born="1985-09-30",
                 unit="上古健康服务中心 康复治疗师", org=org, joined="2010-06-20",
                 full_since="2011-06-20", came_from=came_from, letter="闽鼓组转〔2024〕126号",
                 issued="2024-10-30", branch=INCUBATOR)
    s.on("2024-11-05 14:00", fire(org, "register_without_branch", {"registered_on": TODAY},
                                  actor=COMMITTEE))
    # Two full members: a joint branch, and a party-building instructor.
    s.on("2024-12-05", fire(org, "join_joint_branch", {
        "joint_branch_name": JOINT_BRANCH, "units_before": 2, "joined_on": TODAY},
        actor=COMMITTEE))
    s.on("2024-12-05 10:00", tick(org, "instructor_assigned",
                                  "下派党建指导员：社区党委委员陈红", actor=COMMITTEE))

    # The third full member: eligible by itself, applies, approved, elects its secretary.
    _transfer_in(s, "2025-03-03", "mt:linxiao", name="林晓", born="1982-11-02",
                 unit="上古健康服务中心 护士长", org=org, joined="2007-05-04",
                 full_since="2008-05-04", came_from="中共福州市第二医院护理部支部委员会",
                 letter="闽仓组转〔2025〕021号", issued="2025-02-24", branch=INCUBATOR)
    s.on("2025-03-10", fire(org, "apply_for_branch", {"application_date": TODAY},
                            actor=COMMITTEE))
    s.on("2025-03-28", fire(org, "approve_branch", {
        "approved_on": TODAY, "approval_reference": "金街工委〔2025〕9号",
        "branch_name": SHANGGU_BRANCH}, actor=STREET, comment="经仓山区委组织部同意"))
    s.on("2025-04-08 15:00", fire(org, "elect_branch", {
        "election_date": TODAY, "candidates_approved_on": "2025-04-01", "entitled": 3,
        "present": 3, "lowest_winner_votes": 3, "secretary": "黄敏", "committee_size": 0,
        "has_groups": False}, actor=SHANGGU, comment="支部党员大会：应到3人，实到3人"))
    s.on("2025-04-10", tick(org, "election_filed", "选举结果报金山街道党工委备案",
                            actor=COMMITTEE))
    s.on("2025-04-10 10:00", tick(org, "shared_venue", "共享社区党群服务中心党员活动室",
                                  actor=COMMITTEE))
    _shanggu_register(s, org, "2027-06")

    # More full members transfer in over the next year.
    for when, key, name, born, unit, joined, since, letter in (
            ("2025-06-16", "mt:wanglei", "王磊", "1987-02-14", "全科医生", "2011-07-01",
             "2012-07-01", "闽仓组转〔2025〕077号"),
            ("2025-09-15", "mt:zhangli", "张丽", "1990-08-08", "社工", "2013-06-30",
             "2014-06-30", "闽仓组转〔2025〕132号"),
            ("2026-02-02", "mt:liuyang", "刘洋", "1988-12-01", "药剂师", "2012-07-01",
             "2013-07-01", "闽仓组转〔2026〕015号")):
        _transfer_in(s, when, key, name=name, born=born, unit=f"上古健康服务中心 {unit}",
                     org=org, joined=joined, full_since=since, came_from=came_from,
                     letter=letter, issued=when, branch=SHANGGU)

    _chen_jing(s, org)
    _activists(s, org)

    # Seven full members once 陈静 is converted (May 2027): the branch must elect a
    # committee; the candidates are approved by the community party committee first.
    s.on("2027-06-11 15:00", fire(org, "elect_committee", {
        "election_date": TODAY, "candidates_approved_on": "2027-06-04", "entitled": 7,
        "present": 7, "lowest_winner_votes": 6, "secretary": "黄敏", "committee_size": 3},
        actor=SHANGGU, comment="支部党员大会选举产生支部委员会：应到7人，实到7人"))


def _chen_jing(s: Script, org: str) -> None:
    """陈静, developed from her application in December 2024 through the five stages,
    admitted in April 2026 and converted in May 2027."""
    person = "md:chenjing"
    _apply(s, "2024-12-09", person, name="陈静", born="1994-05-18",
           unit="上古健康服务中心 护理部主管", org=org, branch=INCUBATOR)
    _become_activist(s, person, talk="2024-12-16", decided="2024-12-26", branch=INCUBATOR,
                     mentors=("黄敏", "郭强"), decided_by="branch_committee")
    _reports(s, person, ("2025-03-20",), INCUBATOR)
    _reports(s, person, ("2025-06-20", "2025-09-19", "2025-12-19", "2026-03-20",
                         "2026-07-20", "2026-10-20", "2027-01-20"), SHANGGU)
    _assess(s, person, "2025-06-20", SHANGGU)
    _assess(s, person, "2025-12-12", SHANGGU)
    s.on("2025-12-29", fire(person, "propose_development_target", actor=SHANGGU))
    s.on("2026-01-09 10:00", fire(person, "decide_development_target", {
        "decision_date": TODAY, "sponsors": ["黄敏", "林晓"],
        "sponsors_are_full_members": True}, actor=SHANGGU))
    s.on("2026-01-09 11:00", tick(person, "target_filed", "报金洲社区党委备案", actor=SHANGGU))
    s.on("2026-01-20", tick(person, "political_review", "政治审查报告：政治审查合格",
                            actor=SHANGGU))
    s.on("2026-03-20", fire(person, "record_training", {
        "completed_on": TODAY, "days": 3, "hours": 24}, actor=COMMITTEE,
        comment="金山街道党工委发展对象培训班"))
    s.on("2026-03-23", fire(person, "submit_for_review", actor=SHANGGU))
    s.on("2026-03-24", fire(person, "pass_branch_review", actor=SHANGGU))
    s.on("2026-03-27", fire(person, "pass_pre_review", actor=COMMITTEE))
    s.on("2026-04-08", tick(person, "application_form_completed", "入党志愿书已填写",
                            actor=SHANGGU))
    s.on("2026-04-10 15:30", fire(person, "hold_admission_vote", {
        "meeting_date": TODAY, "entitled": 6, "present": 6, "yes_votes": 6}, actor=SHANGGU))
    s.on("2026-04-20", fire(person, "complete_interview", actor=COMMITTEE))
    s.on("2026-05-08", fire(person, "approve_admission", {"approved_on": TODAY},
                            actor=COMMITTEE))
    s.on("2026-05-12", tick(person, "admission_filed", "报仓山区委组织部备案", actor=SHANGGU))
    s.on("2026-05-12 10:00", tick(person, "assigned_to_group", "编入上古健康服务中心支部",
                                  actor=SHANGGU))
    s.on("2026-07-01 10:00", tick(person, "oath_taken", "七一入党宣誓", actor=SHANGGU))
    _assess(s, person, "2026-10-15", SHANGGU)
    # The story forward: probation ends on 10 April 2027 by its timer, the conversion notice
    # runs, the branch meeting votes, the community party committee approves.
    s.on("2027-03-15", tick(person, "conversion_applied", "本人提出书面转正申请",
                            actor=SHANGGU))
    _assess(s, person, "2027-03-15 10:00", SHANGGU)
    s.on("2027-04-20 15:00", fire(person, "hold_conversion_vote", {
        "meeting_date": TODAY, "entitled": 6, "present": 6, "yes_votes": 6}, actor=SHANGGU))
    s.on("2027-05-10", fire(person, "approve_conversion", {"approved_on": TODAY},
                            actor=COMMITTEE))
    s.on("2027-05-12", tick(person, "records_archived", "入党材料归入本人档案",
                            actor=SHANGGU))


def _activists(s: Script, org: str) -> None:
    _apply(s, "2025-09-01", "md:wufang", name="吴芳", born="1996-01-20",
           unit="上古健康服务中心 护士", org=org, branch=SHANGGU)
    _become_activist(s, "md:wufang", talk="2025-09-10", decided="2025-09-24", branch=SHANGGU,
                     mentors=("林晓", "王磊"), decided_by="branch_general_meeting")
    _reports(s, "md:wufang", ("2025-12-15", "2026-03-16", "2026-06-15", "2026-09-14",
                              "2026-12-14", "2027-03-15", "2027-06-14"), SHANGGU)
    for day in ("2026-03-16", "2026-09-14", "2027-03-15"):
        _assess(s, "md:wufang", f"{day} 15:00", SHANGGU)
    _apply(s, "2026-03-02", "md:zhengkai", name="郑凯", born="1999-07-07",
           unit="上古健康服务中心 康复治疗师", org=org, branch=SHANGGU)
    _become_activist(s, "md:zhengkai", talk="2026-03-20", decided="2026-04-01",
                     branch=SHANGGU, mentors=("郭强",), decided_by="branch_general_meeting")
    _reports(s, "md:zhengkai", ("2026-06-20", "2026-09-25", "2026-12-20", "2027-03-20",
                                "2027-06-20"), SHANGGU)
    for day in ("2026-09-25", "2027-03-25"):
        _assess(s, "md:zhengkai", f"{day} 15:00", SHANGGU)


def _small_party_record(s: Script, key: str, *, name: str, organization: str, when: str,
                        member: tuple[str, ...], joined_branch: str, instructor: str) -> None:
    """An organization with one member, in the incubator joint branch."""
    person, member_name, born, unit, joined, since, letter = member
    s.on(when, together(
        start(key, "party_organization", {"name": name,
                                          "social_organization": Ref(organization)},
              actor=COMMITTEE),
        link(key, organization, "social_organization", actor=COMMITTEE)))
    _transfer_in(s, f"{when} 10:00", person, name=member_name, born=born,
                 unit=f"{name} {unit}", org=key, joined=joined, full_since=since,
                 came_from="中共福州大学某学院学生党支部", letter=letter, issued=when,
                 branch=INCUBATOR)
    s.on(f"{when} 14:00", fire(key, "register_without_branch", {"registered_on": TODAY},
                               actor=COMMITTEE))
    s.on(joined_branch, fire(key, "join_joint_branch", {
        "joint_branch_name": JOINT_BRANCH, "units_before": 2, "joined_on": TODAY},
        actor=COMMITTEE))
    s.on(f"{joined_branch} 10:00", tick(key, "instructor_assigned",
                                        f"下派党建指导员：社区党委委员{instructor}",
                                        actor=COMMITTEE))


def other_party_records(s: Script) -> None:
    _small_party_record(
        s, "po:letan", name="乐探机器人工作室", organization="soi:letan", when="2025-04-02",
        member=("mt:lina", "李娜", "1993-04-16", "课程主管", "2015-06-01", "2016-06-01",
                "闽仓组转〔2025〕030号"),
        joined_branch="2025-04-14", instructor="徐丽")
    _small_party_record(
        s, "po:qinghe", name="青禾社工", organization="soi:qinghe", when="2025-11-10",
        member=("mt:zhaolei", "赵磊", "1991-04-03", "项目主管", "2014-07-01", "2015-07-01",
                "闽仓组转〔2025〕168号"),
        joined_branch="2025-11-24", instructor="徐丽")
