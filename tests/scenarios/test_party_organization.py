"""The party organization in a social organization (社会组织党组织孵化) through the one door:
the ladder moved by the linked members' records, registration at the rung reached, elections,
the committee at seven, the flag below three, general branches and grassroots committees, and
the 三会一课 register judged on calendar months."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.timers.calendar import CHINA_TZ
from scenarios.conftest import (
    AUTO,
    COMMITTEE,
    HIGHER,
    SECRETARY,
    STREET,
    TIMER,
    Community,
    at,
    day_before,
    designers_refusal,
)
from scenarios.people import (
    admit,
    apply_for_membership,
    convert,
    make_activist,
    make_development_target,
    transfer_in,
)

JOINT = "金洲社区非公企业和社会组织“孵化器”党支部"
BRANCH = "中共福州市仓山区上古健康服务中心支部委员会"


def new_record(w: Community, name: str = "上古健康服务中心") -> str:
    return w.start("party_organization", {"name": name}, COMMITTEE)


def register_without_branch(w: Community, org: str) -> None:
    w.fire(org, "register_without_branch", {"registered_on": w.today}, actor=COMMITTEE)


def members(w: Community, org: str, count: int, prefix: str = "党员") -> list[str]:
    return [transfer_in(w, org, f"{prefix}{n}") for n in range(count)]


def election(w: Community, *, entitled: int, present: int | None = None,
             lowest: int | None = None, **more: Any) -> dict[str, Any]:
    present = entitled if present is None else present
    return {"election_date": w.today, "candidates_approved_on": w.today,
            "entitled": entitled, "present": present,
            "lowest_winner_votes": present if lowest is None else lowest,
            "secretary": "黄敏", **more}


def registered_branch(w: Community, full_members: int, *, committee: int = 0) -> str:
    """An organization arriving with a branch of its own and `full_members` members."""
    org = new_record(w)
    members(w, org, full_members)
    w.fire(org, "register_existing_branch", {
        "registered_on": w.today, "branch_name": BRANCH, "approved_on": "2023-04-08",
        "approval_reference": "金街工委〔2023〕9号", "election_date": "2023-04-20",
        "secretary": "黄敏", "committee_size": committee, "has_groups": False},
        actor=COMMITTEE)
    return org


def test_the_party_organization_moves_as_its_members_records_progress(w: Community) -> None:
    # Given the Shanggu centre's record, registered without a party organization (Jan 2024)
    w.advance(to=at(2024, 1, 8))
    org = new_record(w)
    register_without_branch(w, org)
    assert w.state(org) == "no_members"

    # When a full member's membership is transferred in, it has members, by itself
    transfer_in(w, org, "黄敏")
    assert w.state(org) == "has_members"
    assert (w.last(org).trigger, w.last(org).actor) == ("first_member_joins", AUTO)
    # and an applicant starts her development there while a second member transfers in
    developing = apply_for_membership(w, "陈静", organization=org)
    transfer_in(w, org, "郭强")

    # Then a joint branch already covering 5 units cannot take it, one of 3 can
    join = {"joint_branch_name": JOINT, "joined_on": w.today}
    full = w.refused_fire(org, "join_joint_branch", {**join, "units_before": 5},
                          actor=COMMITTEE)
    assert full.zh == "联合党支部覆盖单位一般不超过5个，该联合党支部已有5个。"
    w.fire(org, "join_joint_branch", {**join, "units_before": 3}, actor=COMMITTEE)
    w.tick(org, "instructor_assigned", "下派党建指导员：社区党委委员陈红", actor=COMMITTEE)
    assert (w.state(org), w.data(org)["joint_branch_units"]) == ("joint_branch", 4)

    # While the applicant becomes an activist, a target and a probationary member,
    # the organization stays in the joint branch: probationary members are not counted
    make_activist(w, developing)
    make_development_target(w, developing)
    admit(w, developing)
    assert w.state(org) == "joint_branch"

    # When her conversion is approved, the same call moves the organization
    convert(w, developing, entitled=2)
    assert w.state(developing) == "full_member"
    assert w.state(org) == "independent_eligible"
    assert w.data(org)["eligible_since"] == w.today
    # and it may now apply for a branch of its own
    w.fire(org, "apply_for_branch", {"application_date": w.today}, actor=COMMITTEE)
    assert w.state(org) == "awaiting_approval"


def test_a_member_in_any_step_of_her_probation_is_counted_by_the_stage(w: Community) -> None:
    # Given two members admitted elsewhere in June 2023, transferred in before the records
    # of their organizations were started, whose probation ended on 2024-06-01
    w.advance(to=at(2024, 3, 4))
    first = transfer_in(w, None, "陈静", joined="2023-06-01", full_since=None)
    second = transfer_in(w, None, "林芳", joined="2023-06-01", full_since=None)
    for person in (first, second):
        for item in ("assigned_to_group", "conversion_applied"):
            w.tick(person, item, "记录在案", actor=SECRETARY)
    w.advance(to=at(2024, 6, 3))
    assert (w.state(first), w.state(second)) == ("conversion_vote", "conversion_vote")
    # When one is linked from her own record to a new organization's record, and the other
    # from the organization's record
    linked_by_member, linked_by_org = new_record(w, "甲组织"), new_record(w, "乙组织")
    register_without_branch(w, linked_by_member)
    register_without_branch(w, linked_by_org)
    w.link(first, linked_by_member, "party_organization", actor=SECRETARY)
    w.link(linked_by_org, second, "member", actor=COMMITTEE)
    # Then both organizations have members: `linked(..., "probation_stage")` counts a member
    # whose record rests in a step inside that stage (the conversion meeting)
    assert (w.state(linked_by_member), w.state(linked_by_org)) == ("has_members",
                                                                    "has_members")
    assert w.last(linked_by_member).trigger == "first_member_joins"


def test_an_organization_that_already_has_a_branch_enters_the_ladder_at_that_rung(
        w: Community) -> None:
    # Given an organization arriving with a branch approved in 2023 and three members
    w.advance(to=at(2024, 3, 4))
    org = new_record(w)
    branch = {"registered_on": w.today, "branch_name": BRANCH, "approved_on": "2023-04-08",
              "approval_reference": "金街工委〔2023〕9号", "election_date": "2023-04-20",
              "secretary": "黄敏", "committee_size": 0, "has_groups": False}
    # When it is registered before its members' records are linked, it is refused
    early = w.refused_fire(org, "register_existing_branch", branch, actor=COMMITTEE)
    assert early.zh == ("须先关联其正式党员的档案：已有党支部的组织须有3名以上正式党员"
                        "（按关联的党员档案统计）。")
    members(w, org, 3)
    # and an election before the approval, or a registration tomorrow, is refused, each
    # with its own reason
    before = w.refused_fire(org, "register_existing_branch",
                            {**branch, "election_date": "2023-04-01"}, actor=COMMITTEE)
    assert before.zh == "批准成立日期（2023-04-08）不能晚于本届选举日期（2023-04-01）。"
    future = w.refused_fire(org, "register_existing_branch",
                            {**branch, "registered_on": w.tomorrow}, actor=COMMITTEE)
    assert future.zh == "登记日期不能晚于今天。"
    # Then it enters at the rung it has reached: a branch of its own
    w.fire(org, "register_existing_branch", branch, actor=COMMITTEE)
    data = w.data(org)
    assert w.state(org) == "independent_branch"
    assert (data["founded_on"], data["register_started_on"]) == ("2023-04-20", "2024-03-04")


def test_an_organization_arriving_in_a_joint_branch_or_with_a_mechanism_keeps_its_rung(
        w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    in_joint = new_record(w, "青禾社工")
    transfer_in(w, in_joint, "赵磊")
    w.fire(in_joint, "register_in_joint_branch", {
        "registered_on": w.today, "joint_branch_name": JOINT, "units": 3,
        "joined_on": "2023-11-24"}, actor=COMMITTEE)
    assert w.state(in_joint) == "joint_branch"

    with_mechanism = new_record(w, "熠家心理工作室")
    members(w, with_mechanism, 4)
    w.fire(with_mechanism, "register_branch_with_mechanism", {
        "registered_on": w.today, "branch_name": "中共熠家心理工作室支部委员会",
        "approved_on": "2021-05-06", "approval_reference": "金街工委〔2021〕3号",
        "election_date": "2024-01-12", "secretary": "林晓", "committee_size": 0,
        "has_groups": False, "mechanism_evidence": "2023年度三会一课记录本"}, actor=COMMITTEE)
    data = w.data(with_mechanism)
    assert (w.state(with_mechanism), data["has_mechanism"]) == ("mechanism_established", True)


def _branch_set_up(w: Community) -> str:
    """A record in branch_election: 3 full members, applied, approved."""
    org = new_record(w)
    register_without_branch(w, org)
    members(w, org, 3)
    w.tick(org, "instructor_assigned", "下派党建指导员", actor=COMMITTEE)
    w.advance(timedelta(days=3))
    w.fire(org, "apply_for_branch", {"application_date": w.today}, actor=COMMITTEE)
    w.advance(timedelta(days=10))
    w.fire(org, "approve_branch", {"approved_on": w.today, "branch_name": BRANCH,
                                   "approval_reference": "金街工委〔2024〕9号"}, actor=STREET)
    w.advance(timedelta(days=7))
    return org


def test_each_date_of_setting_up_a_branch_follows_the_one_before(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = new_record(w)
    register_without_branch(w, org)
    members(w, org, 3)
    w.tick(org, "instructor_assigned", "下派党建指导员", actor=COMMITTEE)
    w.advance(timedelta(days=3))
    eligible = w.data(org)["eligible_since"]
    early = w.refused_fire(org, "apply_for_branch", {"application_date": day_before(eligible)},
                           actor=COMMITTEE)
    assert early.zh == (f"申请日期（{day_before(eligible)}）不能早于正式党员达到3人之日"
                        f"（{eligible}）。")
    # a future date is refused for its date, not for the members (issue 13, 5)
    future = w.refused_fire(org, "apply_for_branch", {"application_date": w.tomorrow},
                            actor=COMMITTEE)
    assert (future.zh, future.en) == (
        f"申请日期（{w.tomorrow}）不能晚于今天。",
        f"The application ({w.tomorrow}) cannot lie in the future.")
    w.fire(org, "apply_for_branch", {"application_date": w.today}, actor=COMMITTEE)
    w.advance(timedelta(days=10))
    approval = {"approval_reference": "金街工委〔2024〕9号", "branch_name": BRANCH}
    applied = w.data(org)["application_date"]
    early = w.refused_fire(org, "approve_branch",
                           {**approval, "approved_on": day_before(applied)}, actor=STREET)
    assert early.zh == f"批复日期（{day_before(applied)}）不能早于申请日期（{applied}）。"
    future = w.refused_fire(org, "approve_branch", {**approval, "approved_on": w.tomorrow},
                            actor=STREET)
    assert future.zh == f"批复日期（{w.tomorrow}）不能晚于今天。"
    w.fire(org, "approve_branch", {**approval, "approved_on": w.today}, actor=STREET)
    w.advance(timedelta(days=7))
    vote = election(w, entitled=3, committee_size=0, has_groups=False)
    approved = w.data(org)["approved_on"]
    early = w.refused_fire(org, "elect_branch",
                           {**vote, "candidates_approved_on": day_before(approved)},
                           actor=SECRETARY)
    assert early.zh == (f"候选人批复日期（{day_before(approved)}）不能早于党支部批准成立日期"
                        f"（{approved}）。")
    # a future election is refused for its date, not for the committee's size
    future = w.refused_fire(org, "elect_branch", {
        **vote, "election_date": w.tomorrow, "candidates_approved_on": w.tomorrow},
        actor=SECRETARY)
    assert future.zh == f"选举日期（{w.tomorrow}）不能晚于今天。"


def test_a_branch_election_needs_four_fifths_present_and_winners_above_half_of_them(
        w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = _branch_set_up(w)
    # Of 10 entitled, 7 present is short of four fifths
    assert w.refused_fire(org, "elect_branch", election(
        w, entitled=10, present=7, committee_size=0, has_groups=False),
        actor=SECRETARY).zh == ("选举无效：有选举权的到会党员须达到应到会人数的五分之四"
                                "（应到10人，实到7人）。")
    # a winner with 4 of 8 present has not more than half of those present
    assert w.refused_fire(org, "elect_branch", election(
        w, entitled=10, present=8, lowest=4, committee_size=0, has_groups=False),
        actor=SECRETARY).zh == ("选举无效：当选人的赞成票须超过实到会人数的半数"
                                "（实到8人，最少的赞成票4票）。")
    # fewer than 7 full members elect no committee
    assert w.refused_fire(org, "elect_branch", election(
        w, entitled=3, committee_size=3, has_groups=False), actor=SECRETARY).zh == (
        "正式党员不足7人的党支部不设支部委员会，只选书记（委员人数填0）。")
    # Then 8 present of 10 with the lowest winner at 5 is a valid election of a secretary
    w.fire(org, "elect_branch", election(w, entitled=10, present=8, lowest=5,
                                         committee_size=0, has_groups=False), actor=SECRETARY)
    assert (w.state(org), w.data(org)["has_committee"]) == ("independent_branch", False)


def test_seven_full_members_make_the_branch_elect_a_committee(w: Community) -> None:
    # Given a branch of 6 full members, with a probationary member about to convert
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 6)
    w.tick(org, "election_filed", "备案", actor=COMMITTEE)
    w.tick(org, "shared_venue", "共享活动室", actor=COMMITTEE)
    probationary = transfer_in(w, org, "陈静", joined="2024-01-10", full_since=None,
                               letter_issued="2024-03-01")
    for item in ("assigned_to_group", "conversion_applied"):
        w.tick(probationary, item, "记录在案", actor=SECRETARY)

    # When her probation ends and her conversion is approved
    w.advance(to=at(2025, 1, 13))
    w.fire(probationary, "hold_conversion_vote", {
        "meeting_date": w.today, "entitled": 6, "present": 6, "yes_votes": 6}, actor=SECRETARY)
    converted = w.fire(probationary, "approve_conversion", {"approved_on": w.today},
                       actor=HIGHER)
    # Then the branch, now of 7 full members, must elect a committee, by itself
    assert w.state(org) == "committee_due"
    assert [(e.case_id, e.trigger) for e in converted.automatic] == [(org, "committee_needed")]
    assert w.data(org)["reorganization_since"] == w.today
    # and a committee of 2, or candidates approved before it was due, are refused
    w.advance(timedelta(days=20))
    vote = election(w, entitled=7, committee_size=3)
    assert w.refused_fire(org, "elect_committee", {**vote, "committee_size": 2},
                          actor=SECRETARY).code == "input_invalid"
    late = w.refused_fire(org, "elect_committee", {
        **vote, "candidates_approved_on": day_before(w.data(org)["reorganization_since"])},
        actor=SECRETARY)
    since = w.data(org)["reorganization_since"]
    assert late.zh == (f"候选人批复日期（{day_before(since)}）不能早于正式党员达到7人之日"
                       f"（{since}）。")
    w.fire(org, "elect_committee", vote, actor=SECRETARY)
    data = w.data(org)
    assert (w.state(org), data["has_committee"], data["committee_size"]) == (
        "independent_branch", True, 3)

    # When a member transfers out and the branch falls below 7
    w.advance(timedelta(days=30))
    leaving = next(c for c in w.service.list_cases(workflow_id="membership_transfer")[0]
               if c.state == "full_member")
    w.tick(leaving.id, "records_received", "档案", actor=SECRETARY)
    w.fire(leaving.id, "transfer_out", {"transfer_letter": "闽仓组转〔2025〕3号",
                                        "transferred_on": w.today}, actor=SECRETARY)
    # then the committee gives way to a secretary, decided by the general meeting
    assert w.state(org) == "secretary_only_due"
    w.fire(org, "stand_down_committee", {"decided_on": w.today, "secretary": "黄敏"},
           actor=SECRETARY)
    assert (w.state(org), w.data(org)["has_committee"]) == ("independent_branch", False)


def _term_ends(w: Community, org: str) -> list[str]:
    """When the pending reminders that the term is over fall due (China dates)."""
    timers, _ = w.service.list_timers(case_id=org)
    return [t.due_at.astimezone(CHINA_TZ).date().isoformat() for t in timers
            if t.timer_id == "term_end" and t.status == "pending"]


def test_a_committee_elected_mid_term_starts_a_new_term(w: Community) -> None:
    # Given a branch elected on 20 April 2023, its term of three years ending in 2026
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 6)
    assert _term_ends(w, org) == ["2026-04-20"]
    # When a seventh full member arrives and the committee is elected on 25 March 2024
    members(w, org, 1, prefix="新党员")
    assert w.state(org) == "committee_due"
    w.advance(to=at(2024, 3, 25))
    w.fire(org, "elect_committee", election(w, entitled=7, committee_size=3),
           actor=SECRETARY)
    # Then the reminder moves with the election date: the new term ends in March 2027,
    # and the old reminder is gone
    assert w.data(org)["election_date"] == "2024-03-25"
    assert _term_ends(w, org) == ["2027-03-25"]


def test_a_branch_below_three_full_members_is_flagged_until_it_recovers(w: Community) -> None:
    # Given a branch of 3 full members
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 3)
    people = [c.id for c in w.service.list_cases(workflow_id="membership_transfer")[0]]

    # When one of them transfers out, the branch is flagged by itself
    w.advance(timedelta(days=30))
    w.tick(people[0], "records_received", "档案", actor=SECRETARY)
    w.fire(people[0], "transfer_out", {"transfer_letter": "闽仓组转〔2024〕5号",
                                       "transferred_on": w.today}, actor=SECRETARY)
    assert w.state(org) == "too_few_members"
    # and it cannot be restored while it has 2
    refusal = w.refused_fire(org, "restore_branch", actor=COMMITTEE)
    assert refusal.zh == "正式党员仍不足3人（按关联的党员档案统计）。"
    # Then a new member's arrival lets the committee restore it
    transfer_in(w, org, "刘洋")
    w.fire(org, "restore_branch", actor=COMMITTEE)
    assert w.state(org) == "independent_branch"


def test_a_flagged_branch_may_be_dissolved_into_a_joint_branch(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 3)
    person = w.service.list_cases(workflow_id="membership_transfer")[0][0].id
    w.advance(timedelta(days=30))
    w.tick(person, "records_received", "档案", actor=SECRETARY)
    w.fire(person, "transfer_out", {"transfer_letter": "闽仓组转〔2024〕6号",
                                    "transferred_on": w.today}, actor=SECRETARY)
    join = {"joint_branch_name": JOINT, "units_before": 2}
    backdated = w.refused_fire(org, "dissolve_into_joint_branch", {
        **join, "joined_on": day_before(w.data(org)["reorganization_since"])}, actor=COMMITTEE)
    since = w.data(org)["reorganization_since"]
    assert backdated.zh == (f"参加日期（{day_before(since)}）不能早于正式党员不足3人之日"
                            f"（{since}）。")
    w.fire(org, "dissolve_into_joint_branch", {**join, "joined_on": w.today}, actor=COMMITTEE)
    assert (w.state(org), w.data(org)["has_committee"]) == ("joint_branch", False)


def test_more_than_fifty_and_more_than_a_hundred_full_members_call_for_a_bigger_organization(
        w: Community) -> None:
    # Given a branch with a committee and 50 full members
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 50, committee=5)
    assert w.state(org) == "independent_branch"
    # When the 51st arrives, a general branch is due
    transfer_in(w, org, "第五十一名党员")
    assert w.state(org) == "upgrade_due"
    # and a grassroots committee is refused while there are not more than 100
    w.advance(timedelta(days=14))
    upgrade = {"approved_on": w.today, "approval_reference": "金街工委〔2024〕21号",
               "branch_name": "中共上古健康服务中心总支部委员会"}
    too_early = w.refused_fire(org, "reorganize", {**upgrade, "new_form": "grassroots_committee"},
                               actor=STREET)
    assert too_early.zh == "正式党员超过100人的才能成立基层党委（按关联的党员档案统计）。"
    w.fire(org, "reorganize", {**upgrade, "new_form": "general_branch"}, actor=STREET)
    assert (w.state(org), w.data(org)["org_form"]) == ("independent_branch", "general_branch")

    # When 50 more arrive (101 in all), a grassroots committee is due
    members(w, org, 50, prefix="新党员")
    assert w.state(org) == "upgrade_due"
    w.fire(org, "reorganize", {**upgrade, "new_form": "grassroots_committee",
                               "branch_name": "中共上古健康服务中心委员会"}, actor=STREET)
    assert w.data(org)["org_form"] == "grassroots_committee"


def test_a_reelection_needs_approved_candidates_four_fifths_present_and_majorities(
        w: Community) -> None:
    # Given a branch elected in April 2023 with a term of three years
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 5)
    # When the term is over, the committee is reminded
    w.advance(to=at(2026, 4, 21))
    assert any(e.kind == "escalation" and e.input.get("timer") == "branch_formed:term_end"
               for e in w.history(org))
    vote = election(w, entitled=5, committee_size=0)
    # then candidates approved before the last election, a quorum under four fifths,
    # a winner without more than half of those present, and tomorrow's date are refused,
    # each for its own reason
    for wrong, reason in (
            ({"candidates_approved_on": "2023-04-19"},
             "候选人批复日期（2023-04-19）不能早于上届选举日期（2023-04-20）。"),
            ({"present": 3},
             "选举无效：有选举权的到会党员须达到应到会人数的五分之四（应到5人，实到3人）。"),
            ({"present": 4, "lowest_winner_votes": 2},
             "选举无效：当选人的赞成票须超过实到会人数的半数（实到4人，最少的赞成票2票）。"),
            ({"election_date": w.tomorrow, "candidates_approved_on": w.tomorrow},
             f"选举日期（{w.tomorrow}）不能晚于今天。")):
        found = w.refused_fire(org, "hold_reelection", {**vote, **wrong}, actor=SECRETARY)
        assert found.zh == reason, wrong
    w.fire(org, "hold_reelection", {**vote, "secretary": "郭强"}, actor=SECRETARY)
    assert (w.data(org)["election_date"], w.data(org)["secretary"]) == (w.today, "郭强")
    # and at the next term's end, candidates approved before this re-election (though after
    # the founding) belong to the old term: refused
    elected = w.today
    w.advance(to=at(2029, 4, 21))
    stale = w.refused_fire(org, "hold_reelection", {
        **election(w, entitled=5, committee_size=0), "candidates_approved_on": "2026-04-01"},
        actor=SECRETARY)
    assert stale.zh == f"候选人批复日期（2026-04-01）不能早于上届选举日期（{elected}）。"


# ---- the 三会一课 register -----------------------------------------------------------------


def _meeting(w: Community, org: str, kind: str, present: int, **more: Any) -> None:
    w.fire(org, "record_meeting", {
        "kind": kind, "held_on": w.today, "topic": "学习贯彻党的二十届三中全会精神",
        "present": [f"党员{n}" for n in range(present)], "minutes": "会议记录见记录本",
        **more}, actor=SECRETARY)


def _month(w: Community, org: str, year: int, month: int, *, members: int) -> None:
    """The meetings of one calendar month: a themed party day; a general meeting and a
    party lecture in each quarter's last month; a life meeting and democratic appraisal in
    December."""
    w.advance(to=max(at(year, month, 10, 14), w.clock.now()))
    _meeting(w, org, "themed_party_day", members)
    if month % 3 == 0:
        _meeting(w, org, "general_meeting", members)
        _meeting(w, org, "party_lecture", members)
    if month == 12:
        _meeting(w, org, "life_meeting", members)
        _meeting(w, org, "democratic_appraisal", members)


def _registered_for_the_register(w: Community) -> str:
    w.advance(to=at(2024, 3, 4))
    org = registered_branch(w, 3)
    w.tick(org, "election_filed", "备案", actor=COMMITTEE)
    w.tick(org, "shared_venue", "共享活动室", actor=COMMITTEE)
    return org


def test_twelve_calendar_months_on_schedule_give_the_mechanism(w: Community) -> None:
    # Given a branch registered on 4 March 2024 (March is not judged: the register began)
    org = _registered_for_the_register(w)
    # When it holds every meeting on schedule from April 2024 to March 2025
    for n in range(12):
        year, month = 2024 + (3 + n) // 12, (3 + n) % 12 + 1
        _month(w, org, year, month, members=3)
    w.advance(to=at(2025, 4, 3))
    assert w.state(org) == "independent_branch"
    # Then the check of the twelfth month recognises the mechanism by itself
    w.advance(to=at(2025, 4, 5))
    data = w.data(org)
    assert (w.state(org), data["months_on_schedule"], data["missed_months"]) == (
        "mechanism_established", 12, 0)
    assert data["mechanism_since"] == "2025-04-04"
    recognised = [e for e in w.history(org) if e.trigger == "recognise_mechanism"]
    assert [e.actor for e in recognised] == [AUTO]


def test_a_missed_month_restarts_the_count_and_a_branch_with_a_mechanism_loses_it(
        w: Community) -> None:
    org = _registered_for_the_register(w)
    # Given eleven months on schedule, the general meeting of the quarter to March missing
    for n in range(12):
        year, month = 2024 + (3 + n) // 12, (3 + n) % 12 + 1
        if (year, month) == (2025, 3):
            w.advance(to=at(2025, 3, 10, 14))
            _meeting(w, org, "themed_party_day", 3)
            _meeting(w, org, "party_lecture", 3)
            continue
        _month(w, org, year, month, members=3)
    # When the check of March comes
    w.advance(to=at(2025, 4, 5))
    # Then the count starts again and the branch has no mechanism yet
    data = w.data(org)
    assert (w.state(org), data["months_on_schedule"], data["missed_months"]) == (
        "independent_branch", 0, 1)
    off = [e for e in w.history(org) if e.trigger == "close_month"][-1]
    assert (off.actor, off.changes["months_on_schedule"]) == (TIMER, 0)


def test_a_branch_with_a_mechanism_that_misses_a_month_loses_it(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = new_record(w, "熠家心理工作室")
    members(w, org, 3)
    w.fire(org, "register_branch_with_mechanism", {
        "registered_on": w.today, "branch_name": "中共熠家心理工作室支部委员会",
        "approved_on": "2021-05-06", "approval_reference": "金街工委〔2021〕3号",
        "election_date": "2024-01-12", "secretary": "林晓", "committee_size": 0,
        "has_groups": False, "mechanism_evidence": "2023年度三会一课记录本"}, actor=COMMITTEE)
    _month(w, org, 2024, 4, members=3)
    # When May passes without a themed party day
    w.advance(to=at(2024, 6, 5))
    # Then the mechanism lapses and guidance resumes
    assert (w.state(org), w.data(org)["has_mechanism"]) == ("independent_branch", False)


def test_a_whole_branch_meeting_accounts_for_every_member(w: Community) -> None:
    org = _registered_for_the_register(w)
    w.advance(timedelta(days=7))
    # Two of three members listed, or an absence without its reason, are refused
    for wrong, reason in (
            ({"present": ["党员0", "党员1"]},
             "支部党员大会、党课、主题党日、组织生活会和民主评议党员须列明每名党员"
             "（含预备党员）出席或缺席。"),
            ({"present": ["党员0", "党员1"], "absent": ["党员2"]},
             "有党员缺席的，须写明缺席原因。")):
        found = w.refused_fire(org, "record_meeting", {
            "kind": "general_meeting", "held_on": w.today, "topic": "支部党员大会",
            "minutes": "记录", **wrong}, actor=SECRETARY)
        assert found.zh == reason
    # and a meeting dated before the register began, or tomorrow
    started = w.data(org)["register_started_on"]
    for day, reason in (
            (day_before(started),
             f"会议日期（{day_before(started)}）不能早于三会一课登记起始日期（{started}）。"),
            (w.tomorrow, f"会议日期（{w.tomorrow}）不能晚于今天。")):
        found = w.refused_fire(org, "record_meeting", {
            "kind": "themed_party_day", "held_on": day, "topic": "主题党日",
            "present": ["党员0", "党员1", "党员2"], "minutes": "记录"}, actor=SECRETARY)
        assert found.zh == reason
    # Then an absence with its reason is recorded
    _meeting(w, org, "general_meeting", 2, absent=["党员2"], absence_reasons="出差")
    assert w.data(org)["general_meetings"] == ["2024-03"]


def test_a_registration_cannot_be_dated_in_the_future(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = new_record(w)
    refusal = w.refused_fire(org, "register_without_branch", {"registered_on": w.tomorrow},
                             actor=COMMITTEE)
    assert (refusal.zh, refusal.en) == designers_refusal("party_organization",
                                                         "register_without_branch")


def test_a_registration_cannot_be_dated_before_the_record_was_opened(w: Community) -> None:
    # Given a record opened at half past midnight, China time, on 4 March 2024 (still the
    # 3rd in UTC), and taken up a week later
    w.advance(to=at(2024, 3, 4, 0, 30))
    org = new_record(w)
    w.advance(to=at(2024, 3, 11))
    # When the registration is dated the day before the record was opened, it is refused
    # with its own reason, not the future-date text
    early = w.refused_fire(org, "register_without_branch", {"registered_on": "2024-03-03"},
                           actor=COMMITTEE)
    assert early.zh == ("登记日期（2024-03-03）不能早于建立本档案的日期：登记前的经历请填在"
                        "参加联合党支部、批准成立、选举等日期栏内。")
    assert early.en == ("The registration (2024-03-03) cannot precede the day this record was "
                        "opened: earlier history goes in the dates of joining, approval and "
                        "election.")
    # Then the day it was opened, on the China calendar, is accepted
    w.fire(org, "register_without_branch", {"registered_on": "2024-03-04"}, actor=COMMITTEE)
    assert (w.state(org), w.data(org)["registered_on"]) == ("no_members", "2024-03-04")


def test_a_registration_at_a_rung_reached_cannot_be_backdated_either(w: Community) -> None:
    # Given an organization with a branch of three members, its record opened on 4 March
    w.advance(to=at(2024, 3, 4))
    org = new_record(w)
    members(w, org, 3)
    w.advance(to=at(2024, 3, 11))
    branch = {"registered_on": "2024-03-01", "branch_name": BRANCH, "approved_on": "2023-04-08",
              "approval_reference": "金街工委〔2023〕9号", "election_date": "2023-04-20",
              "secretary": "黄敏", "committee_size": 0, "has_groups": False}
    joint = {"registered_on": "2024-03-01", "joint_branch_name": JOINT, "units": 3,
             "joined_on": "2023-06-01"}
    # When any registration is dated before the record was opened, it is refused
    for trigger, values in (("register_existing_branch", branch),
                            ("register_branch_with_mechanism",
                             {**branch, "mechanism_evidence": "2023年三会一课记录"}),
                            ("register_in_joint_branch", joint)):
        found = w.refused_fire(org, trigger, values, actor=COMMITTEE)
        assert found.zh.startswith("登记日期（2024-03-01）不能早于建立本档案的日期"), trigger
    # Then the same registration dated the day the record was opened enters the ladder
    w.fire(org, "register_existing_branch", {**branch, "registered_on": "2024-03-04"},
           actor=COMMITTEE)
    assert w.state(org) == "independent_branch"


def test_joining_a_joint_branch_cannot_precede_the_first_member(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = new_record(w)
    register_without_branch(w, org)
    transfer_in(w, org, "赵磊")
    since = w.data(org)["members_since"]
    for wrong, reason in (
            (day_before(since), f"参加日期（{day_before(since)}）不能早于有党员之日（{since}）。"),
            (w.tomorrow, f"参加日期（{w.tomorrow}）不能晚于今天。")):
        found = w.refused_fire(org, "join_joint_branch", {
            "joint_branch_name": JOINT, "units_before": 2, "joined_on": wrong},
            actor=COMMITTEE)
        assert found.zh == reason

