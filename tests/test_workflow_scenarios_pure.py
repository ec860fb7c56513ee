"""The shipped workflows walked through as caseworkers meet them, on the pure decision function.

Each scenario reads like the procedure it models (given / when / then), including the
refusals a caseworker meets on the way. `tests/scenario.py` plays the shell: no database,
a frozen clock moved by hand, timers fired as they fall due, automatic transitions taken
after every change. Working-day notices use 2023-2025 dates: the official calendar of the
installed `holidays` package ends in 2026.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from scenario import WORKFLOWS, Case, Community

from engine.core.decision import Actor
from engine.definitions.loader import load_file
from engine.errors import Refusal, Refused
from engine.language.spec import StateSpec, Text, WorkflowSpec
from engine.timers.calendar import CHINA_TZ, add_duration, parse_duration

CASEWORKER = Actor("caseworker-chen", frozenset({"caseworker"}))
SECRETARY = Actor("branch-secretary-lin", frozenset({"branch"}))
HIGHER = Actor("higher-committee-zhao", frozenset({"higher_committee"}))
COMMITTEE = Actor("community-committee-wang", frozenset({"party_committee"}))
STREET = Actor("street-committee-liu", frozenset({"street_committee"}))

SHIPPED = ["member_development", "party_organization", "self_organization",
           "co_building_agreement", "committee_election"]


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    """A moment in China Standard Time."""
    return datetime(year, month, day, hour, tzinfo=CHINA_TZ)


def on(day: str, hour: int = 9) -> datetime:
    """A stored date (`YYYY-MM-DD`) at `hour` o'clock in China."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CHINA_TZ)


def today(w: Community) -> str:
    """The current date in China, as case data stores dates."""
    return w.now.astimezone(CHINA_TZ).date().isoformat()


def refused(w: Community, case: Case, trigger: str, values: dict[str, object] | None = None, *,
            actor: Actor) -> Refusal:
    """Fire a trigger the workflow must refuse; the refusal, with the case unchanged."""
    before = (case.state, dict(case.data))
    with pytest.raises(Refused) as caught:
        w.fire(case, trigger, values, actor=actor)
    assert (case.state, case.data) == before
    return caught.value.refusal


def until_left(w: Community, case: Case, state: str, limit_days: int = 30) -> None:
    """Let days pass until the case has left `state` by itself (a notice period, say)."""
    for _ in range(limit_days):
        if not case.within(state):
            return
        w.advance(timedelta(days=1))
    raise AssertionError(f"{case.id} still in {state} after {limit_days} days")


# ---- definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_workflow_loads_without_errors_or_warnings(path: Path) -> None:
    result = load_file(path)
    assert result.compiled is not None and result.errors == [], [d.format() for d in result.errors]
    if path.stem in SHIPPED:
        assert result.warnings == [], [d.format() for d in result.warnings]


def _labels(spec: WorkflowSpec) -> list[tuple[str, object]]:
    """Every label a designer owes the reader: where it is, and what it is."""
    found: list[tuple[str, object]] = [("title", spec.title), ("description", spec.description)]
    found += [(f"parameter {n}", p.title) for n, p in spec.parameters.items()]
    found += [(f"field {n}", f.title) for n, f in spec.fields.items()]

    def walk(states: dict[str, StateSpec]) -> None:
        for sid, state in states.items():
            found.append((f"state {sid}", state.title))
            found.extend((f"item {i}", c.title) for i, c in state.checklist.items())
            found.extend((f"timer {t.id}", t.title) for t in state.timers)
            walk(state.states)

    walk(spec.states)
    for t in spec.transitions:
        found.append((f"transition {t.trigger}", t.title))
        found += [(f"input {t.trigger}.{n}", f.title) for n, f in t.input.items()]
    return found


@pytest.mark.parametrize("workflow_id", SHIPPED)
def test_every_label_is_given_in_chinese_and_english(workflow_id: str) -> None:
    spec = load_file(WORKFLOWS / f"{workflow_id}.yaml").spec
    assert spec is not None
    missing = [where for where, label in _labels(spec)
               if not (isinstance(label, Text) and label.zh and label.en)]
    assert missing == []


# ---- member development: helpers that walk one person through a stage --------------------------


def apply_for_membership(w: Community, name: str, *, born: str = "1992-06-01",
                         organization: Case | None = None) -> Case:
    values: dict[str, object] = {"name": name, "birth_date": born, "application_date": today(w)}
    if organization is not None:
        values["party_organization"] = organization.id
    person = w.start("member_development", values, CASEWORKER)
    if organization is not None:
        w.link(person, organization, "party_organization")
    return person


def make_activist(w: Community, person: Case) -> None:
    w.advance(timedelta(days=7))
    w.fire(person, "record_talk", {"talk_date": today(w)}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    until_left(w, person, "activist_notice")
    w.fire(person, "decide_activist", {"decision_date": today(w), "mentors": ["王芳", "陈明"]},
           actor=SECRETARY)
    w.tick(person, "activist_filed", "备案回执 2023-017", actor=SECRETARY)


def make_development_target(w: Community, person: Case) -> None:
    since = on(person.data["activist_since"])
    for months in (5, 11):
        w.advance(to=since + timedelta(days=30 * months))
        w.fire(person, "record_assessment", {"assessed_on": today(w), "result": "good"},
               actor=SECRETARY)
    w.advance(to=since + timedelta(days=366))
    w.fire(person, "propose_development_target", actor=SECRETARY)
    until_left(w, person, "target_notice")
    w.fire(person, "decide_development_target",
           {"decision_date": today(w), "sponsors": ["王芳", "陈明"],
            "sponsors_are_full_members": True}, actor=SECRETARY)
    w.tick(person, "target_filed", "备案回执", actor=SECRETARY)
    w.tick(person, "political_review", "政审材料", actor=SECRETARY)
    w.advance(timedelta(days=20))
    w.fire(person, "record_training", {"days": 3, "hours": 24}, actor=SECRETARY)


def admit(w: Community, person: Case) -> None:
    w.fire(person, "submit_for_review", actor=SECRETARY)
    w.fire(person, "pass_branch_review", actor=SECRETARY)
    w.fire(person, "pass_pre_review", actor=HIGHER)
    until_left(w, person, "admission_notice")
    w.tick(person, "application_form_completed", "入党志愿书", actor=SECRETARY)
    w.fire(person, "hold_admission_vote",
           {"meeting_date": today(w), "entitled": 5, "present": 5, "yes_votes": 5},
           actor=SECRETARY)
    w.fire(person, "complete_interview", actor=HIGHER)
    w.advance(timedelta(days=20))
    w.fire(person, "approve_admission", {"approved_on": today(w)}, actor=HIGHER)


def tick_probation(w: Community, person: Case) -> None:
    for item in ("admission_filed", "assigned_to_group", "oath_taken", "conversion_applied"):
        w.tick(person, item, "记录", actor=SECRETARY)


def convert(w: Community, person: Case) -> None:
    tick_probation(w, person)
    w.advance(to=on(person.data["probation_ends_on"]))
    assert person.state == "conversion_notice"
    until_left(w, person, "conversion_notice")
    w.fire(person, "hold_conversion_vote",
           {"meeting_date": today(w), "entitled": 5, "present": 4, "yes_votes": 4},
           actor=SECRETARY)
    w.advance(timedelta(days=15))
    w.fire(person, "approve_conversion", {"approved_on": today(w)}, actor=HIGHER)
    w.tick(person, "records_archived", "档案室接收单", actor=SECRETARY)


# ---- member development scenarios ----------------------------------------------------------------


def test_member_development_from_application_to_full_member() -> None:
    # Given an applicant who hands in her application on 1 March 2023
    w = Community(at(2023, 3, 1))
    person = apply_for_membership(w, "林晓", born="1996-04-12")
    assert person.state == "applicant" and person.within("application_stage")

    # When the branch talks with her within the month, nominates her and publishes the notice
    w.advance(timedelta(days=13))
    w.fire(person, "record_talk", {"talk_date": "2023-03-14"}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    assert person.state == "activist_notice"
    # then the notice cannot be cut short by hand
    early = refused(w, person, "notice_ends", actor=SECRETARY)
    assert early.zh == "公示期未满，不能进入下一步。"
    # and once it has run its five working days the case moves on by itself
    until_left(w, person, "activist_notice")
    assert person.state == "activist_decision"
    assert "talk_due" not in person.overdue

    # When the branch committee names her an activist with two different mentors
    same_mentor = refused(w, person, "decide_activist",
                          {"decision_date": today(w), "mentors": ["王芳", "王芳"]},
                          actor=SECRETARY)
    assert same_mentor.code == "guard_false"
    w.fire(person, "decide_activist", {"decision_date": today(w), "mentors": ["王芳", "陈明"]},
           actor=SECRETARY)
    w.tick(person, "activist_filed", "街道党工委备案 2023-017", actor=SECRETARY)
    assert person.state == "activist" and person.data["activist_since"] == "2023-03-21"

    # Then she is assessed every six months, so the six-monthly check finds nothing missed
    w.advance(to=at(2023, 8, 20))
    w.fire(person, "record_assessment", {"assessed_on": "2023-08-20", "result": "good"},
           actor=SECRETARY)
    w.advance(to=at(2024, 2, 19))
    assert person.data["missed_assessments"] == 0
    w.fire(person, "record_assessment", {"assessed_on": "2024-02-19", "result": "good"},
           actor=SECRETARY)

    # When the branch tries to make her a development target after eleven months
    w.advance(to=at(2024, 2, 21))
    too_soon = refused(w, person, "propose_development_target", actor=SECRETARY)
    # then it is refused with the designer's words
    assert too_soon.code == "guard_false"
    assert too_soon.zh.startswith("入党积极分子须经过一年以上培养教育和考察")
    assert "counted from the branch committee's decision" in too_soon.en
    # and after twelve months it is allowed
    w.advance(to=at(2024, 3, 21))
    w.fire(person, "propose_development_target", actor=SECRETARY)
    assert person.state == "target_notice"
    until_left(w, person, "target_notice")

    # When the development target is named, her sponsors must be two different full members
    one_sponsor = refused(w, person, "decide_development_target",
                          {"decision_date": today(w), "sponsors": ["王芳"],
                           "sponsors_are_full_members": True}, actor=SECRETARY)
    assert one_sponsor.code == "input_invalid"
    w.fire(person, "decide_development_target",
           {"decision_date": today(w), "sponsors": ["王芳", "陈明"],
            "sponsors_are_full_members": True}, actor=SECRETARY)
    w.tick(person, "target_filed", "备案回执", actor=SECRETARY)
    w.tick(person, "political_review", "政审材料", actor=SECRETARY)

    # and she cannot go forward before a centralized training of 3 days or 24 class hours
    no_training = refused(w, person, "submit_for_review", actor=SECRETARY)
    assert "集中培训" in no_training.zh
    short = refused(w, person, "record_training", {"days": 2, "hours": 16}, actor=SECRETARY)
    assert short.zh.startswith("发展对象的集中培训时间一般不少于3天")
    w.fire(person, "record_training", {"days": 2, "hours": 24}, actor=SECRETARY)

    # When the branch reviews, the higher committee pre-reviews and the notice runs
    w.fire(person, "submit_for_review", actor=SECRETARY)
    w.fire(person, "pass_branch_review", actor=SECRETARY)
    branch_cannot = refused(w, person, "pass_pre_review", actor=SECRETARY)
    assert branch_cannot.code == "role_missing"
    w.fire(person, "pass_pre_review", actor=HIGHER)
    until_left(w, person, "admission_notice")
    w.tick(person, "application_form_completed", "入党志愿书", actor=SECRETARY)

    # then a meeting without a quorum cannot admit her
    no_quorum = refused(w, person, "hold_admission_vote",
                        {"meeting_date": today(w), "entitled": 9, "present": 4, "yes_votes": 4},
                        actor=SECRETARY)
    assert no_quorum.zh.startswith("表决无效")
    # and a valid meeting with more than half of the entitled members in favour does
    w.fire(person, "hold_admission_vote",
           {"meeting_date": today(w), "entitled": 9, "present": 8, "yes_votes": 6},
           actor=SECRETARY)
    admitted_on = person.data["admission_date"]
    w.fire(person, "complete_interview", actor=HIGHER)
    assert person.state == "admission_approval"

    # When the higher committee lets three months pass, the approval is marked overdue
    meeting = on(admitted_on)
    w.advance(to=meeting + timedelta(days=100))
    assert "approval_due" in person.overdue
    # and approving it later needs a special reason
    late = refused(w, person, "approve_admission", {"approved_on": today(w)}, actor=HIGHER)
    assert late.zh.startswith("上级党委应在支部大会通过后三个月内审批")
    w.fire(person, "approve_admission",
           {"approved_on": today(w), "special_reason": "党委换届，审批会议推迟"}, actor=HIGHER)
    assert person.state == "probationary"
    assert person.data["probation_ends_on"][5:] == admitted_on[5:]

    # Then probation ends one year after the admitting meeting, not a day earlier
    tick_probation(w, person)
    w.advance(to=meeting + timedelta(days=364))
    assert person.state == "probationary"
    assert refused(w, person, "probation_ends", actor=SECRETARY).zh.startswith("预备期为一年")
    w.advance(to=meeting + timedelta(days=366))
    assert person.state == "conversion_notice"
    until_left(w, person, "conversion_notice")

    # When the branch votes on conversion and the higher committee approves in time
    w.fire(person, "hold_conversion_vote",
           {"meeting_date": today(w), "entitled": 10, "present": 9, "yes_votes": 9},
           actor=SECRETARY)
    w.advance(timedelta(days=30))
    w.fire(person, "approve_conversion", {"approved_on": today(w)}, actor=HIGHER)

    # Then she is a full member from the end of her probation, and the history says how
    assert person.state == "full_member"
    assert person.data["full_member_since"] == person.data["probation_ends_on"]
    assert person.triggers() == [
        None, "record_talk", "recommend_activist", "notice_ends", "decide_activist",
        "record_assessment", "record_assessment", "propose_development_target", "notice_ends",
        "decide_development_target", "record_training", "submit_for_review",
        "pass_branch_review", "pass_pre_review", "notice_ends", "hold_admission_vote",
        "complete_interview", "approve_admission", "probation_ends", "notice_ends",
        "hold_conversion_vote", "approve_conversion",
    ]
    by_timer = [e["trigger"] for e in person.history
                if e["kind"] == "transition" and e["actor"] == "system:timer"]
    assert by_timer == ["notice_ends", "notice_ends", "notice_ends", "probation_ends",
                        "notice_ends"]


def test_the_talk_is_due_within_a_month_and_applicants_must_be_eighteen() -> None:
    # Given two applications handed in on 6 March 2023, one by a 17-year-old
    w = Community(at(2023, 3, 6))
    adult = apply_for_membership(w, "郑一", born="2000-01-01")
    minor = apply_for_membership(w, "郑二", born="2005-09-01")

    # When nobody talks with them for more than a month
    w.advance(to=at(2023, 4, 10))
    # then both talks are marked overdue
    assert "talk_due" in adult.overdue and "talk_due" in minor.overdue
    # and a late talk needs a reason
    assert refused(w, adult, "record_talk", {"talk_date": "2023-04-10"},
                   actor=SECRETARY).code == "guard_false"
    w.fire(adult, "record_talk", {"talk_date": "2023-04-10", "late_reason": "申请人出差"},
           actor=SECRETARY)
    assert adult.state == "talked"
    # When the application of someone under 18 is taken up, it is refused and can be declined
    under_age = refused(w, minor, "record_talk", {"talk_date": "2023-04-10",
                                                  "late_reason": "—"}, actor=SECRETARY)
    assert "年满十八周岁" in under_age.zh
    w.fire(minor, "decline_application", {"reason": "递交申请时未满十八周岁"}, actor=SECRETARY)
    assert minor.final and minor.state == "not_admitted"


def test_an_activist_not_assessed_for_six_months_is_recorded_by_the_timer() -> None:
    # Given an activist named in spring 2023
    w = Community(at(2023, 3, 1))
    person = apply_for_membership(w, "邱平")
    make_activist(w, person)
    named = w.now

    # When six months pass without an assessment
    w.advance(to=named + timedelta(days=186))
    # then the six-monthly check records it, as the system
    assert person.data["missed_assessments"] == 1
    assert person.history[-1]["trigger"] == "assessment_missed"
    assert person.history[-1]["actor"] == "system:timer"
    # and once assessed, the next check finds nothing missed
    w.fire(person, "record_assessment", {"assessed_on": today(w), "result": "fair"},
           actor=SECRETARY)
    w.advance(to=named + timedelta(days=366))
    assert person.data["missed_assessments"] == 1


def test_probation_can_be_extended_only_once_by_six_to_twelve_months() -> None:
    # Given a probationary member admitted by the branch meeting in 2023
    w = Community(at(2022, 3, 1))
    person = apply_for_membership(w, "何静")
    make_activist(w, person)
    make_development_target(w, person)
    admit(w, person)
    assert person.state == "probationary"
    first_end = person.data["probation_ends_on"]

    # When the probation ends and the branch, after the notice, extends it
    tick_probation(w, person)
    w.advance(to=on(first_end, 10))
    until_left(w, person, "conversion_notice")
    assert person.state == "conversion_vote"
    too_long = refused(w, person, "extend_probation",
                       {"meeting_date": today(w), "months": 13, "reason": "考察不足"},
                       actor=SECRETARY)
    assert too_long.code == "input_invalid"
    w.fire(person, "extend_probation",
           {"meeting_date": today(w), "months": 6, "reason": "考察不足"}, actor=SECRETARY)

    # then the probation runs six more months from its original end
    assert person.state == "probation_extended"
    six_months_later = add_duration(date.fromisoformat(first_end), parse_duration("P6M"))
    assert person.data["probation_ends_on"] == six_months_later.isoformat()
    w.tick(person, "extension_approved", "上级党委批复", actor=HIGHER)
    w.tick(person, "extended_conversion_applied", "转正申请书", actor=SECRETARY)

    # When it ends, the notice runs, and the branch tries to extend a second time
    w.advance(to=on(person.data["probation_ends_on"], 10))
    assert person.state == "conversion_notice"
    until_left(w, person, "conversion_notice")
    twice = refused(w, person, "extend_probation",
                    {"meeting_date": today(w), "months": 6, "reason": "再延"}, actor=SECRETARY)
    # then it is refused: only conversion or cancellation remain
    assert twice.zh.startswith("预备期只能延长一次")
    w.fire(person, "cancel_probation",
           {"meeting_date": today(w), "approved_on": today(w), "reason": "仍不具备条件"},
           actor=SECRETARY)
    assert person.state == "cancelled" and person.final


def test_a_notice_period_skips_the_national_day_holiday() -> None:
    # Given an applicant nominated as activist on Friday 26 September 2025, when the notice opens
    w = Community(at(2025, 9, 1))
    person = apply_for_membership(w, "吴越")
    w.advance(to=at(2025, 9, 26, 10))
    w.fire(person, "record_talk", {"talk_date": today(w)}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    assert person.state == "activist_notice"

    # When the holiday comes (1-8 October; Sunday 28 September is a working day)
    w.advance(to=at(2025, 10, 9, 12))
    # then five working days have not passed yet: 28, 29, 30 September and 9 October
    assert person.state == "activist_notice"
    assert refused(w, person, "notice_ends", actor=SECRETARY).code == "guard_false"
    # and the notice ends on Friday 10 October at the hour it opened
    w.advance(to=at(2025, 10, 10, 12))
    assert person.state == "activist_decision"
    assert person.entered_at == at(2025, 10, 10, 10)


def test_a_seven_calendar_day_notice_is_a_local_setting() -> None:
    # Given a community whose rule is a notice of 7 days, holidays included
    w = Community(at(2025, 9, 1), params={"member_development": {
        "notice_working_days": 0, "notice_calendar_period": "P7D"}})
    person = apply_for_membership(w, "钱塘")
    w.advance(to=at(2025, 9, 26, 10))
    w.fire(person, "record_talk", {"talk_date": today(w)}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)

    # When seven days have passed, the National Day holiday notwithstanding
    w.advance(to=at(2025, 10, 3, 9))
    assert person.state == "activist_notice"
    w.advance(to=at(2025, 10, 3, 10))
    # then the notice is over
    assert person.state == "activist_decision"


# ---- party organization -------------------------------------------------------------------------


def transfer_in(w: Community, organization: Case, name: str) -> Case:
    """A full member who joined elsewhere, recorded so that the organization counts her."""
    person = apply_for_membership(w, name, organization=organization)
    w.fire(person, "transfer_in_full_member",
           {"transfer_letter": f"闽组转字 {name}", "full_member_since": "2015-07-01"},
           actor=HIGHER)
    w.tick(person, "records_archived", "档案转入", actor=SECRETARY)
    return person


def test_party_organization_grows_with_its_members_cases() -> None:
    # Given the Shanggu Health Service Centre, incubated with no party member in 2023
    w = Community(at(2023, 1, 9))
    org = w.start("party_organization", {"name": "上古健康服务中心"}, COMMITTEE)
    assert org.state == "no_members"

    # When a full member transfers in, the organization has members, by itself
    transfer_in(w, org, "黄敏")
    assert org.state == "has_members"
    # and an applicant starts her development there
    developing = apply_for_membership(w, "林晓", organization=org)
    transfer_in(w, org, "郭强")
    assert org.state == "has_members"

    # When the committee tries to set up a branch with 2 full members, it is refused
    two = refused(w, org, "apply_for_branch", {"application_date": today(w)}, actor=COMMITTEE)
    assert two.zh.startswith("正式党员须有3人以上才能单独成立党支部")
    # and a joint branch that already covers 5 units cannot take it
    full = refused(w, org, "join_joint_branch",
                   {"joint_branch_name": "金山街道社会组织联合党支部", "units_before": 5},
                   actor=COMMITTEE)
    assert full.zh.startswith("联合党支部覆盖单位一般不超过5个")
    w.fire(org, "join_joint_branch",
           {"joint_branch_name": "金洲社区非公企业和社会组织联合党支部", "units_before": 3},
           actor=COMMITTEE)
    assert org.state == "joint_branch" and org.data["joint_branch_units"] == 4
    w.tick(org, "instructor_assigned", "下派党建指导员：社区党委委员陈红", actor=COMMITTEE)

    # Then as the applicant moves on, the organization stays in the joint branch
    make_activist(w, developing)
    make_development_target(w, developing)
    admit(w, developing)
    assert developing.state == "probationary" and org.state == "joint_branch"
    assert refused(w, org, "apply_for_branch", {"application_date": today(w)},
                   actor=COMMITTEE).code == "guard_false"

    # When she becomes the third full member, the organization is eligible by itself
    convert(w, developing)
    assert developing.state == "full_member"
    assert org.state == "independent_eligible"
    assert org.history[-1]["trigger"] == "reaches_three_full_members"
    assert org.history[-1]["actor"] == "system:auto"

    # When it applies and the street committee takes more than a month to reply
    w.fire(org, "apply_for_branch", {"application_date": today(w)}, actor=COMMITTEE)
    assert org.within("branch_setup")
    assert refused(w, org, "approve_branch", {"approved_on": today(w),
                                              "approval_reference": "x", "branch_name": "x"},
                   actor=COMMITTEE).code == "role_missing"
    w.advance(timedelta(days=35))
    assert "approval_due" in org.overdue
    w.fire(org, "approve_branch",
           {"approved_on": today(w), "approval_reference": "金山街工委〔2025〕12号",
            "branch_name": "中共福州市仓山区上古健康服务中心支部委员会"}, actor=STREET)

    # Then with fewer than 7 full members the meeting elects a secretary, not a committee
    committee = refused(w, org, "elect_branch",
                        {"election_date": today(w), "secretary": "黄敏", "committee_size": 3,
                         "has_groups": False}, actor=SECRETARY)
    assert committee.zh.startswith("正式党员7人以上的党支部设立支部委员会")
    w.fire(org, "elect_branch", {"election_date": today(w), "secretary": "黄敏",
                                 "committee_size": 0, "has_groups": False}, actor=SECRETARY)
    assert org.state == "independent_branch"
    w.tick(org, "election_filed", "报金山街道党工委备案", actor=COMMITTEE)
    w.tick(org, "shared_venue", "社区党群服务中心会议室", actor=COMMITTEE)
    elected = on(org.data["election_date"])

    # When the branch skips its themed party days for the first months
    w.advance(to=elected + timedelta(days=75))
    # then the monthly check records a meeting overdue
    assert org.data["overdue_checks"] >= 1
    assert refused(w, org, "recognise_mechanism", actor=COMMITTEE).zh.startswith(
        "各项组织生活须按期开展")

    # When from then on every meeting is held on schedule for a year
    start = w.now
    for month in range(13):
        w.advance(to=start + timedelta(days=30 * month))
        w.fire(org, "record_meeting", {"kind": "themed_party_day", "held_on": today(w)},
               actor=SECRETARY)
        if month % 3 == 0:
            for kind in ("general_meeting", "party_lecture"):
                w.fire(org, "record_meeting", {"kind": kind, "held_on": today(w)},
                       actor=SECRETARY)
        if month == 10:
            w.fire(org, "record_meeting", {"kind": "life_meeting", "held_on": today(w)},
                   actor=SECRETARY)
    last_overdue = org.data["last_overdue_on"]
    w.advance(timedelta(days=10))
    assert org.data["last_overdue_on"] == last_overdue

    # Then the community party committee recognises the mechanism
    w.fire(org, "recognise_mechanism", actor=COMMITTEE)
    assert org.state == "mechanism_established" and org.within("branch_formed")

    # and the monthly checks keep watching after it: a skipped quarter is recorded
    checks = org.data["overdue_checks"]
    w.advance(timedelta(days=130))
    assert org.state == "mechanism_established"
    assert org.data["overdue_checks"] > checks


# ---- self-organization, co-building, part-time committee members -------------------------------


def test_a_self_organization_is_recognised_with_the_three_ones() -> None:
    # Given a Peking opera club being formed with the party committee's guidance
    w = Community(at(2024, 3, 1))
    club = w.start("self_organization", {"name": "安公京剧社", "kind": "culture",
                                         "leader": "周老师"}, COMMITTEE)
    w.tick(club, "charter", "《京剧社章程》", actor=COMMITTEE)
    w.tick(club, "venue", "党群服务中心二楼活动室", actor=COMMITTEE)

    # When it is recognised with one of the three ones missing, it is refused
    missing = refused(w, club, "recognise",
                      {"recognised_on": today(w), "venue": "活动室", "members": 36},
                      actor=COMMITTEE)
    assert missing.code == "checklist_incomplete"
    assert missing.details["missing"] == ["incentive_mechanism"]
    w.tick(club, "incentive_mechanism", "积分激励办法", actor=COMMITTEE)
    w.fire(club, "recognise", {"recognised_on": today(w), "venue": "活动室", "members": 36},
           actor=COMMITTEE)
    assert club.state == "recognised"

    # Then its activities are counted, and a quiet half-year is noticed
    w.advance(timedelta(days=10))
    w.fire(club, "record_activity", {"held_on": today(w), "title": "周末票友会",
                                     "participants": 28}, actor=CASEWORKER)
    w.advance(timedelta(days=170))
    assert club.data["quiet_periods"] == 0
    w.advance(timedelta(days=200))
    assert club.data["quiet_periods"] == 1
    assert club.data["activities"] == 1 and club.data["participants"] == 28

    # When it dissolves, the case ends with the reason
    w.fire(club, "dissolve", {"reason": "负责人迁出，会员并入读书会"}, actor=COMMITTEE)
    assert club.final


def test_a_co_building_agreement_is_reviewed_every_year_and_renewed() -> None:
    # Given a proposal to co-build with the Jinshan kindergarten
    w = Community(at(2023, 5, 4))
    deal = w.start("co_building_agreement", {"unit_name": "金山幼儿园", "scope": "within_area"},
                   COMMITTEE)
    w.fire(deal, "draft_terms", actor=COMMITTEE)

    # When it is signed before the four joint terms are written, it is refused
    early = refused(w, deal, "sign", {"signed_on": today(w), "planned_activities": 40},
                    actor=COMMITTEE)
    assert early.code == "checklist_incomplete"
    for item, evidence in (("organization_building", "结对共建"),
                           ("joint_activities", "每周绘本阅读"),
                           ("shared_resources", "省图书馆金洲分馆"),
                           ("member_management", "在职党员到社区报到")):
        w.tick(deal, item, evidence, actor=COMMITTEE)
    w.advance(to=at(2023, 5, 10))
    w.fire(deal, "sign", {"signed_on": today(w), "planned_activities": 40}, actor=COMMITTEE)
    assert deal.data["expires_on"] == "2026-05-10"

    # Then activities are recorded and each year a review falls due
    w.fire(deal, "record_activity", {"held_on": today(w), "title": "阅读进社区，书香飘万家"},
           actor=CASEWORKER)
    assert refused(w, deal, "record_annual_review",
                   {"result": "effective", "summary": "—"}, actor=COMMITTEE).code == "guard_false"
    w.advance(to=at(2024, 5, 10, 12))
    assert deal.data["review_due"] is True
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "每周一次，孩子踊跃"},
           actor=COMMITTEE)
    w.advance(to=at(2025, 5, 10, 12))
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "持续开展"},
           actor=COMMITTEE)

    # When the term ends, renewal waits for the term's review
    w.advance(to=at(2026, 5, 10, 12))
    assert deal.state == "expiring"
    unreviewed = refused(w, deal, "renew", {"renewed_on": today(w), "planned_activities": 40},
                         actor=COMMITTEE)
    assert unreviewed.zh.startswith("续签前须先完成本期的评估")
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "三年总结"},
           actor=COMMITTEE)
    w.fire(deal, "renew", {"renewed_on": today(w), "planned_activities": 45}, actor=COMMITTEE)

    # Then it is in force for another term
    assert deal.state == "in_force"
    assert deal.data["renewals"] == 1 and deal.data["expires_on"] == "2029-05-10"


def test_a_part_time_member_is_recommended_elected_and_pledged() -> None:
    # Given the head of a local school's party organization, put forward in 2024
    w = Community(at(2024, 1, 8))
    member = w.start("committee_election", {"candidate_name": "郑校长", "unit_name": "金山小学"},
                     COMMITTEE)

    # When only party members and residents have recommended him, he cannot go forward
    for source in ("party_members", "residents", "residents"):
        w.fire(member, "record_recommendation", {"source": source, "recommended_on": today(w)},
               actor=COMMITTEE)
    assert member.data["sources_recommended"] == ["party_members", "residents"]
    assert refused(w, member, "submit_candidate", actor=COMMITTEE).code == "guard_false"
    unknown = refused(w, member, "record_recommendation",
                      {"source": "volunteers", "recommended_on": today(w)}, actor=COMMITTEE)
    assert unknown.zh.startswith("推荐来源须是本流程参数列出的来源之一")
    w.fire(member, "record_recommendation",
           {"source": "unit_party_organizations", "recommended_on": today(w)}, actor=COMMITTEE)
    w.fire(member, "submit_candidate", actor=COMMITTEE)

    # Then the street committee reviews and the election needs four fifths present
    assert member.state == "street_review"
    w.fire(member, "approve_candidate", actor=STREET)
    assert refused(w, member, "hold_election",
                   {"election_date": today(w), "entitled": 60, "present": 45, "yes_votes": 40},
                   actor=COMMITTEE).zh.startswith("选举无效")
    w.fire(member, "hold_election",
           {"election_date": today(w), "entitled": 60, "present": 52, "yes_votes": 49},
           actor=COMMITTEE)
    assert member.state == "elected"

    # When he would take office before signing the pledge of duties, it is refused
    assert refused(w, member, "take_office", {"term_start": today(w)},
                   actor=COMMITTEE).zh.startswith("当选后须先签订履职承诺书")
    w.tick(member, "pledge_signed", "《兼职委员履职承诺书》", actor=COMMITTEE)
    w.fire(member, "take_office", {"term_start": today(w)}, actor=COMMITTEE)

    # Then he serves until the term ends, and may stand again
    w.advance(to=at(2029, 1, 7))
    assert member.state == "serving"
    w.advance(to=at(2029, 1, 9))
    assert member.state == "term_ended" and member.data["terms_served"] == 1
    w.fire(member, "stand_again", actor=COMMITTEE)
    assert member.state == "recommendation" and member.data["sources_recommended"] == []


def test_unconfirmed_election_steps_can_be_switched_off() -> None:
    # Given a community that recognises two sources, no street review and no pledge
    w = Community(at(2024, 1, 8), params={"committee_election": {
        "recommendation_sources": "party_members,unit_party_organizations",
        "required_sources": 2, "street_review": False, "pledge_required": False}})
    member = w.start("committee_election", {"candidate_name": "钱主任", "unit_name": "派出所"},
                     COMMITTEE)
    assert refused(w, member, "record_recommendation",
                   {"source": "residents", "recommended_on": today(w)},
                   actor=COMMITTEE).code == "guard_false"
    for source in ("party_members", "unit_party_organizations"):
        w.fire(member, "record_recommendation", {"source": source, "recommended_on": today(w)},
               actor=COMMITTEE)

    # When he is put forward, elected and takes office
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    assert member.state == "election"
    w.fire(member, "hold_election",
           {"election_date": today(w), "entitled": 10, "present": 10, "yes_votes": 6},
           actor=COMMITTEE)
    w.fire(member, "take_office", {"term_start": today(w)}, actor=COMMITTEE)

    # Then he serves without a pledge on file
    assert member.state == "serving"


def test_an_election_without_a_majority_ends_the_candidacy() -> None:
    w = Community(at(2024, 1, 8), params={"committee_election": {"street_review": False,
                                                                 "required_sources": 1}})
    member = w.start("committee_election", {"candidate_name": "孙经理", "unit_name": "石油公司"},
                     COMMITTEE)
    w.fire(member, "record_recommendation",
           {"source": "party_members", "recommended_on": today(w)}, actor=COMMITTEE)
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    outcome = w.fire(member, "hold_election",
                     {"election_date": today(w), "entitled": 10, "present": 9, "yes_votes": 5},
                     actor=COMMITTEE)
    assert outcome.to_state == "not_elected" and member.final
