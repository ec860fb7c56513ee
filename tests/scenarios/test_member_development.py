"""Member development (发展党员) through the one door: the five stages, the dates that cannot
be backdated, one or two mentors, and thought reports on schedule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from engine.timers.calendar import CHINA_TZ, add_duration, parse_duration
from scenarios.conftest import (
    COMMUNITY,
    HIGHER,
    SECRETARY,
    TIMER,
    Community,
    at,
    day_before,
    designers_refusal,
)
from scenarios.people import (
    DECIDED_BY_MEETING,
    admit,
    apply_for_membership,
    make_activist,
    make_development_target,
    tick_probation,
)

MENTORS = {"decided_by": DECIDED_BY_MEETING, "mentors_are_full_members": True}


def test_a_person_goes_through_the_five_stages_to_full_membership(w: Community) -> None:
    # Given an applicant who hands in her application on 1 March 2024
    w.advance(to=at(2024, 3, 1))
    person = apply_for_membership(w, "林晓", born="1996-04-12")
    assert w.state(person) == "applicant"

    # When the branch talks with her within the month and publishes the activist notice
    w.advance(to=at(2024, 3, 14))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "mass_organizations"}, actor=SECRETARY)
    # then the notice cannot be cut short by hand
    early = w.refused_fire(person, "notice_ends", actor=SECRETARY)
    assert early.zh == "公示期未满，不能进入下一步。"
    # and once five working days have passed it ends by itself, on the day it ends
    w.advance(to=at(2024, 3, 21, 12))
    assert w.state(person) == "activist_decision"
    ended = w.last(person)
    assert (ended.trigger, ended.actor) == ("notice_ends", TIMER)
    assert w.data(person)["notice_ended_on"] == "2024-03-21"

    # When the branch general meeting (the branch has no committee) names her an activist
    w.fire(person, "decide_activist", {"decision_date": w.today, "mentors": ["王芳", "陈明"],
                                       **MENTORS}, actor=SECRETARY)
    w.tick(person, "activist_filed", "街道党工委备案 2024-017", actor=SECRETARY)
    data = w.data(person)
    assert (data["activist_since"], data["activist_decided_by"]) == ("2024-03-21",
                                                                      DECIDED_BY_MEETING)

    # Then she is assessed every six months, so the six-monthly checks find nothing missed
    for day in (at(2024, 8, 20), at(2025, 2, 19)):
        w.advance(to=day)
        w.fire(person, "record_assessment", {"assessed_on": w.today, "result": "good"},
               actor=SECRETARY)
    assert w.data(person)["missed_assessments"] == 0

    # When the branch tries to make her a development target after eleven months
    w.advance(to=at(2025, 2, 21))
    too_soon = w.refused_fire(person, "propose_development_target", actor=SECRETARY)
    # then it is refused with the designer's text
    assert (too_soon.zh, too_soon.en) == designers_refusal("member_development",
                                                           "propose_development_target")
    # and after twelve months it is allowed
    w.advance(to=at(2025, 3, 21, 12))
    w.fire(person, "propose_development_target", actor=SECRETARY)
    w.until_left(person, "target_notice")

    # When she is named a development target, she needs two sponsors
    one = w.refused_fire(person, "decide_development_target",
                         {"decision_date": w.today, "sponsors": ["王芳"],
                          "sponsors_are_full_members": True}, actor=SECRETARY)
    assert one.code == "input_invalid"
    w.fire(person, "decide_development_target",
           {"decision_date": w.today, "sponsors": ["王芳", "陈明"],
            "sponsors_are_full_members": True}, actor=SECRETARY)
    w.tick(person, "target_filed", "备案回执", actor=SECRETARY)
    w.tick(person, "political_review", "政审材料", actor=SECRETARY)
    # and she cannot go forward before a centralized training of 3 days or 24 class hours
    assert "集中培训" in w.refused_fire(person, "submit_for_review", actor=SECRETARY).zh
    short = w.refused_fire(person, "record_training",
                           {"completed_on": w.today, "days": 2, "hours": 16}, actor=SECRETARY)
    assert short.zh == "发展对象的集中培训时间一般不少于3天（或不少于24个学时）。"
    w.fire(person, "record_training", {"completed_on": w.today, "days": 2, "hours": 24},
           actor=SECRETARY)

    # When the branch reviews, the higher committee pre-reviews and the notice runs
    w.fire(person, "submit_for_review", actor=SECRETARY)
    w.fire(person, "pass_branch_review", actor=SECRETARY)
    assert w.refused_fire(person, "pass_pre_review", actor=SECRETARY).code == "role_missing"
    w.fire(person, "pass_pre_review", actor=HIGHER)
    w.until_left(person, "admission_notice")
    w.tick(person, "application_form_completed", "入党志愿书", actor=SECRETARY)
    # then a meeting without a quorum cannot admit her
    no_quorum = w.refused_fire(person, "hold_admission_vote", {
        "meeting_date": w.today, "entitled": 9, "present": 4, "yes_votes": 4}, actor=SECRETARY)
    assert no_quorum.zh == ("表决无效：有表决权的到会人数须超过应到会有表决权人数的半数"
                            "（应到9人，实到4人）。")
    # and a valid one with more than half of the entitled members in favour does
    w.fire(person, "hold_admission_vote", {
        "meeting_date": w.today, "entitled": 9, "present": 8, "yes_votes": 6}, actor=SECRETARY)
    admitted_on = w.data(person)["admission_date"]
    w.fire(person, "complete_interview", actor=HIGHER)

    # When the higher committee lets three months pass, the approval is marked overdue
    meeting = datetime.fromisoformat(admitted_on).replace(hour=9, tzinfo=CHINA_TZ)
    w.advance(to=meeting + timedelta(days=100))
    overdue = [e for e in w.history(person) if e.kind == "overdue"]
    assert [(e.actor, e.input["timer"]) for e in overdue] == [
        (TIMER, "admission_approval:approval_due")]
    # and approving it later needs a special reason
    late = w.refused_fire(person, "approve_admission", {"approved_on": w.today}, actor=HIGHER)
    assert late.zh == ("上级党委应在支部大会后三个月内审批（期限见流程参数）；"
                       "超过的，须说明特殊情况。")
    w.fire(person, "approve_admission",
           {"approved_on": w.today, "special_reason": "党委换届，审批会议推迟"}, actor=HIGHER)
    assert w.state(person) == "probationary"

    # Then probation ends one year after the admitting meeting, not a day earlier
    tick_probation(w, person)
    w.advance(to=meeting + timedelta(days=364))
    assert w.refused_fire(person, "probation_ends", actor=SECRETARY).zh.startswith(
        "预备期为一年")
    w.advance(to=meeting + timedelta(days=366))
    assert w.state(person) == "conversion_notice"
    w.until_left(person, "conversion_notice")

    # When the branch votes on conversion and the higher committee approves in time
    w.fire(person, "hold_conversion_vote", {
        "meeting_date": w.today, "entitled": 10, "present": 9, "yes_votes": 9}, actor=SECRETARY)
    w.advance(timedelta(days=30))
    w.fire(person, "approve_conversion", {"approved_on": w.today}, actor=HIGHER)
    w.tick(person, "records_archived", "档案室接收单", actor=SECRETARY)

    # Then she is a full member from the end of her probation, and the history says how
    case = w.case(person)
    assert case.state == "full_member"
    assert case.data["full_member_since"] == case.data["probation_ends_on"]
    by_timer = [e.trigger for e in w.history(person)
                if e.kind == "transition" and e.actor == TIMER and e.from_state != e.to_state]
    assert by_timer == ["notice_ends", "notice_ends", "notice_ends", "probation_ends",
                        "notice_ends"]


def test_a_branch_decision_cannot_be_backdated_to_shorten_the_activist_year(
        w: Community) -> None:
    # Given a person who applied on 4 March 2024 and whose activist notice has ended
    w.advance(to=at(2024, 3, 4))
    person = apply_for_membership(w, "吴芳")
    w.advance(to=at(2024, 3, 8))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    w.until_left(person, "activist_notice")

    # When the branch enters its decision as taken on 1 January 2022
    backdated = w.refused_fire(person, "decide_activist", {
        "decision_date": "2022-01-01", "mentors": ["王芳"], **MENTORS}, actor=SECRETARY)
    # then it is refused: the decision cannot precede the end of the notice
    notice_end = w.data(person)["notice_ended_on"]
    assert backdated.zh == f"确定日期（2022-01-01）不能早于公示期满之日（{notice_end}）。"
    # and with the true date, three weeks later she is still years from conversion
    w.fire(person, "decide_activist", {"decision_date": w.today, "mentors": ["王芳"],
                                       **MENTORS}, actor=SECRETARY)
    w.tick(person, "activist_filed", "备案", actor=SECRETARY)
    w.advance(timedelta(days=21))
    assert w.refused_fire(person, "propose_development_target",
                          actor=SECRETARY).code == "guard_false"
    assert w.state(person) == "activist"


def _backdate(w: Community, person: str, trigger: str, values: dict[str, Any], field: str,
              bound: str, *, future: bool = True) -> None:
    """The day before `bound` and tomorrow are both refused, each saying its own reason:
    the date entered and the event it cannot precede, or that it lies in the future."""
    actor = HIGHER if trigger.startswith("approve") else SECRETARY
    early = w.refused_fire(person, trigger, {**values, field: day_before(bound)}, actor=actor)
    assert f"（{day_before(bound)}）不能早于" in early.zh, (trigger, early.zh)
    assert early.zh.endswith(f"（{bound}）。"), (trigger, early.zh)
    if future:
        later = w.refused_fire(person, trigger, {**values, field: w.tomorrow}, actor=actor)
        assert later.zh.endswith(f"（{w.tomorrow}）不能晚于今天。"), (trigger, later.zh)


def test_every_typed_date_lies_between_the_event_it_follows_and_today(w: Community) -> None:
    # Given an applicant of 4 March 2024
    w.advance(to=at(2024, 3, 4))
    person = apply_for_membership(w, "郑凯")
    w.advance(timedelta(days=3))
    # the talk: not before the application, not in the future
    _backdate(w, person, "record_talk", {}, "talk_date", w.data(person)["application_date"])
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "the_public"}, actor=SECRETARY)
    w.until_left(person, "activist_notice")
    notice_end = w.data(person)["notice_ended_on"]
    # the activist decision: not before the end of the notice
    _backdate(w, person, "decide_activist", {"mentors": ["王芳"], **MENTORS},
              "decision_date", notice_end)
    w.fire(person, "decide_activist", {"decision_date": w.today, "mentors": ["王芳"],
                                       **MENTORS}, actor=SECRETARY)
    w.tick(person, "activist_filed", "备案", actor=SECRETARY)
    since = w.data(person)["activist_since"]
    w.advance(timedelta(days=40))
    # assessments and thought reports of an activist: not before the decision
    _backdate(w, person, "record_assessment", {"result": "good"}, "assessed_on", since)
    _backdate(w, person, "record_thought_report", {}, "submitted_on", since)

    make_development_target(w, person)
    target_since = w.data(person)["target_since"]
    # the target decision (the notice before it), assessments, reports and the training
    assert target_since == w.data(person)["notice_ended_on"]
    _backdate(w, person, "record_assessment", {"result": "good"}, "assessed_on", target_since)
    _backdate(w, person, "record_thought_report", {}, "submitted_on", target_since)
    _backdate(w, person, "record_training", {"days": 3, "hours": 24}, "completed_on",
              target_since)
    w.fire(person, "submit_for_review", actor=SECRETARY)
    w.fire(person, "pass_branch_review", actor=SECRETARY)
    w.fire(person, "pass_pre_review", actor=HIGHER)
    w.until_left(person, "admission_notice")
    w.tick(person, "application_form_completed", "入党志愿书", actor=SECRETARY)
    vote = {"entitled": 5, "present": 5, "yes_votes": 5}
    # the admitting meeting: not before the end of the admission notice
    _backdate(w, person, "hold_admission_vote", vote, "meeting_date",
              w.data(person)["notice_ended_on"])
    w.fire(person, "hold_admission_vote", {"meeting_date": w.today, **vote}, actor=SECRETARY)
    w.fire(person, "complete_interview", actor=HIGHER)
    admitted = w.data(person)["admission_date"]
    w.advance(timedelta(days=10))
    # the approval: not before the meeting
    _backdate(w, person, "approve_admission", {}, "approved_on", admitted)
    w.fire(person, "approve_admission", {"approved_on": w.today}, actor=HIGHER)
    w.advance(timedelta(days=10))
    # a probationary member's assessments and reports: not before the admitting meeting
    _backdate(w, person, "record_assessment", {"result": "good"}, "assessed_on", admitted)
    _backdate(w, person, "record_thought_report", {}, "submitted_on", admitted)
    # cancelling the probation: the meeting not before the admission, nor after the approval
    _backdate(w, person, "cancel_probation", {"approved_on": w.today, "reason": "—"},
              "meeting_date", admitted, future=False)
    reversed_order = w.refused_fire(person, "cancel_probation", {
        "meeting_date": w.today, "approved_on": day_before(w.today), "reason": "—"},
        actor=SECRETARY)
    assert reversed_order.zh == (
        "取消预备党员资格须先经支部大会讨论、再由上级党委批准："
        f"批准日期（{day_before(w.today)}）不能早于支部大会（{w.today}）。")

    tick_probation(w, person)
    w.advance(to=datetime.fromisoformat(w.data(person)["probation_ends_on"]).replace(
        hour=12, tzinfo=CHINA_TZ))
    # extending the probation: not before the probation ended
    _backdate(w, person, "extend_probation", {"months": 6, "reason": "—"}, "meeting_date",
              w.data(person)["probation_ends_on"])
    w.until_left(person, "conversion_notice")
    # the conversion meeting: not before the end of the conversion notice
    _backdate(w, person, "hold_conversion_vote", vote, "meeting_date",
              w.data(person)["notice_ended_on"])
    w.fire(person, "hold_conversion_vote", {"meeting_date": w.today, **vote}, actor=SECRETARY)
    w.advance(timedelta(days=7))
    # the conversion's approval: not before its meeting
    _backdate(w, person, "approve_conversion", {}, "approved_on",
              w.data(person)["conversion_meeting_date"])
    w.fire(person, "approve_conversion", {"approved_on": w.today}, actor=HIGHER)
    w.tick(person, "records_archived", "档案", actor=SECRETARY)
    w.advance(timedelta(days=30))
    # a transfer out: not before the approval of the conversion
    _backdate(w, person, "transfer_out", {"transfer_letter": "闽仓组转〔2026〕1号"},
              "transferred_on", w.data(person)["conversion_approved_on"])
    w.fire(person, "transfer_out", {"transfer_letter": "闽仓组转〔2026〕1号",
                                    "transferred_on": w.today}, actor=SECRETARY)
    assert w.state(person) == "transferred_out"


def test_an_activist_has_one_or_two_mentors_who_are_full_members(w: Community) -> None:
    # Given a person whose activist notice has ended
    w.advance(to=at(2024, 3, 4))
    person = apply_for_membership(w, "赵磊")
    w.advance(timedelta(days=3))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    w.until_left(person, "activist_notice")
    decision = {"decision_date": w.today, **MENTORS}

    # When no mentor, three, the same person twice, or mentors who are not full members
    # are named, it is refused
    for mentors in ([], ["王芳", "陈明", "郭强"]):
        refusal = w.refused_fire(person, "decide_activist", {**decision, "mentors": mentors},
                                 actor=SECRETARY)
        assert refusal.code == "input_invalid"
    for wrong, reason in (({"mentors": ["王芳", "王芳"]}, "两名培养联系人须为不同的人。"),
                          ({"mentors": ["王芳"], "mentors_are_full_members": False},
                           "培养联系人须为正式党员。")):
        refusal = w.refused_fire(person, "decide_activist", {**decision, **wrong},
                                 actor=SECRETARY)
        assert (refusal.code, refusal.zh) == ("guard_false", reason)
    # Then a single mentor is enough
    w.fire(person, "decide_activist", {**decision, "mentors": ["陈明"]}, actor=SECRETARY)
    assert w.data(person)["mentors"] == ["陈明"]


def test_thought_reports_fall_due_each_quarter_and_an_overdue_one_is_counted(
        w: Community) -> None:
    # Given an activist named on 21 March 2024, in a branch that asks for quarterly reports
    w.advance(to=at(2024, 3, 1))
    person = apply_for_membership(w, "陈静")
    make_activist(w, person)
    named = w.clock.now()

    # When she hands in a report within the first quarter
    w.advance(to=named + timedelta(days=60))
    w.fire(person, "record_thought_report", {"submitted_on": w.today}, actor=SECRETARY)
    # then the quarter's check finds nothing overdue (the timer's firing is refused)
    w.advance(to=named + timedelta(days=95))
    assert w.data(person)["thought_reports_missed"] == 0
    # and when the next quarter passes without a report, the timer counts one overdue
    w.advance(to=named + timedelta(days=190))
    data = w.data(person)
    assert (data["thought_reports"], data["thought_reports_missed"]) == (1, 1)
    missed = [e for e in w.history(person) if e.trigger == "thought_report_missed"]
    assert [e.actor for e in missed] == [TIMER]


def test_a_community_asks_for_a_thought_report_every_month(w: Community) -> None:
    # Given a community whose branches ask for monthly reports
    w.service.set_parameter("member_development", "thought_report_interval", "P1M",
                            community=COMMUNITY)
    w.advance(to=at(2024, 3, 1))
    person = apply_for_membership(w, "周敏")
    make_activist(w, person)

    # When three months pass without a report, three are counted overdue
    w.advance(timedelta(days=95))
    assert w.data(person)["thought_reports_missed"] == 3


def test_the_talk_is_due_within_a_month_and_applicants_must_be_eighteen(w: Community) -> None:
    # Given two applications handed in on 6 March 2024, one by a 17-year-old
    w.advance(to=at(2024, 3, 6))
    adult = apply_for_membership(w, "郑一", born="2000-01-01")
    minor = apply_for_membership(w, "郑二", born="2006-09-01")

    # When nobody talks with them for more than a month
    w.advance(to=at(2024, 4, 10))
    # then both talks are marked overdue by the timer
    assert w.overdue(adult) == w.overdue(minor) == ["applicant:talk_due"]
    # and a late talk needs a reason
    assert w.refused_fire(adult, "record_talk", {"talk_date": w.today},
                          actor=SECRETARY).code == "guard_false"
    w.fire(adult, "record_talk", {"talk_date": w.today, "late_reason": "申请人出差"},
           actor=SECRETARY)
    assert w.state(adult) == "talked"

    # When the application of someone under 18 is taken up, it is refused
    under_age = w.refused_fire(minor, "record_talk", {"talk_date": w.today,
                                                      "late_reason": "—"}, actor=SECRETARY)
    assert "年满十八周岁" in under_age.zh
    # and the branch declines it, which ends the record
    w.fire(minor, "decline_application", {"reason": "递交申请时未满十八周岁"}, actor=SECRETARY)
    case = w.case(minor)
    assert (case.state, case.status) == ("not_admitted", "closed")


def test_an_activist_not_assessed_for_six_months_is_recorded_by_the_timer(
        w: Community) -> None:
    # Given an activist named in spring 2024
    w.advance(to=at(2024, 3, 1))
    person = apply_for_membership(w, "邱平")
    make_activist(w, person)
    named = w.clock.now()

    # When six months pass without an assessment
    w.advance(to=named + timedelta(days=186))
    # then the six-monthly check records it, as the system
    assert w.data(person)["missed_assessments"] == 1
    missed = [e for e in w.history(person) if e.trigger == "assessment_missed"]
    assert [e.actor for e in missed] == [TIMER]
    # and once assessed, the next check finds nothing missed
    w.fire(person, "record_assessment", {"assessed_on": w.today, "result": "fair"},
           actor=SECRETARY)
    w.advance(to=named + timedelta(days=366))
    assert w.data(person)["missed_assessments"] == 1


def test_probation_can_be_extended_only_once_by_six_to_twelve_months(w: Community) -> None:
    # Given a probationary member whose story began in March 2022
    w.begins_on(at(2022, 3, 1))
    person = apply_for_membership(w, "何静")
    make_activist(w, person)
    make_development_target(w, person)
    admit(w, person)
    assert w.state(person) == "probationary"
    first_end = w.data(person)["probation_ends_on"]

    # When the probation ends and, after the notice, the branch extends it
    tick_probation(w, person)
    w.advance(to=datetime.fromisoformat(first_end).replace(hour=10, tzinfo=CHINA_TZ))
    w.until_left(person, "conversion_notice")
    assert w.state(person) == "conversion_vote"
    too_long = w.refused_fire(person, "extend_probation",
                              {"meeting_date": w.today, "months": 13, "reason": "考察不足"},
                              actor=SECRETARY)
    assert too_long.code == "input_invalid"
    w.fire(person, "extend_probation",
           {"meeting_date": w.today, "months": 6, "reason": "考察不足"}, actor=SECRETARY)

    # then the probation runs six more months from its original end
    assert w.state(person) == "probation_extended"
    six_months_later = add_duration(date.fromisoformat(first_end), parse_duration("P6M"))
    assert w.data(person)["probation_ends_on"] == six_months_later.isoformat()
    w.tick(person, "extension_approved", "上级党委批复", actor=HIGHER)
    w.tick(person, "extended_conversion_applied", "转正申请书", actor=SECRETARY)

    # When it ends, the notice runs, and the branch tries to extend a second time
    w.advance(to=datetime.fromisoformat(w.data(person)["probation_ends_on"]).replace(
        hour=10, tzinfo=CHINA_TZ))
    assert w.state(person) == "conversion_notice"
    w.until_left(person, "conversion_notice")
    twice = w.refused_fire(person, "extend_probation",
                           {"meeting_date": w.today, "months": 6, "reason": "再延"},
                           actor=SECRETARY)
    # then it is refused: only conversion or cancellation remain
    assert twice.zh.startswith("预备期只能延长一次")
    w.fire(person, "cancel_probation",
           {"meeting_date": w.today, "approved_on": w.today, "reason": "仍不具备条件"},
           actor=SECRETARY)
    case = w.case(person)
    assert (case.state, case.status) == ("cancelled", "closed")


def test_a_notice_period_skips_the_national_day_holiday(w: Community) -> None:
    # Given an applicant nominated as activist on Friday 26 September 2025
    w.advance(to=at(2025, 9, 1))
    person = apply_for_membership(w, "吴越")
    w.advance(to=at(2025, 9, 26, 10))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    assert w.state(person) == "activist_notice"

    # When the holiday comes (1-8 October; Sunday 28 September is a working day)
    w.advance(to=at(2025, 10, 9, 12))
    # then five working days have not passed yet: 28, 29, 30 September and 9 October
    assert w.state(person) == "activist_notice"
    assert w.refused_fire(person, "notice_ends", actor=SECRETARY).code == "guard_false"
    # and the notice ends on Friday 10 October at the hour it opened
    w.advance(to=at(2025, 10, 10, 12))
    case = w.case(person)
    assert (case.state, case.entered_at) == ("activist_decision", at(2025, 10, 10, 10))


def test_a_seven_calendar_day_notice_is_a_local_setting(w: Community) -> None:
    # Given a community whose rule is a notice of 7 days, holidays included
    w.service.set_parameter("member_development", "notice_working_days", 0,
                            community=COMMUNITY)
    w.service.set_parameter("member_development", "notice_calendar_period", "P7D",
                            community=COMMUNITY)
    w.advance(to=at(2025, 9, 1))
    person = apply_for_membership(w, "钱塘")
    w.advance(to=at(2025, 9, 26, 10))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)

    # When seven days have passed, the National Day holiday notwithstanding
    w.advance(to=at(2025, 10, 3, 9))
    assert w.state(person) == "activist_notice"
    w.advance(to=at(2025, 10, 3, 10))
    # then the notice is over
    assert w.state(person) == "activist_decision"
