"""The shipped workflows walked end to end through the one door, on a real database.

Each scenario reads like the procedure it models (given / when / then), including the
refusals a caseworker meets on the way, and runs through `CaseService` on SQLite (and on
PostgreSQL when the suite is asked to: see tests/conftest.py). The service's `FrozenClock`
is moved with `engine.demo.advance`, which stops at every timer's due time and fires it
with `engine.timers.fire_due`, as `system:timer`, like a worker that never sleeps.

The last scenario replays the Shanggu Health Service Centre's whole story, from its
selection to an independent branch with a mechanism, and reads its history as an auditor
would: ordered events, who acted under which role, triggers and states, and the hash chain.

Dates lie in 2024-2026: working-day deadlines need the official holiday calendar, which the
installed `holidays` package knows until 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import COMMUNITY, SHIPPED_WORKFLOWS, store_snapshot

from engine.clock import FrozenClock
from engine.contrib.demo import advance
from engine.core.decision import Actor
from engine.definitions.loader import load_file
from engine.definitions.registry import WorkflowRegistry
from engine.errors import Refusal, Refused
from engine.service.door import CaseService, CaseView, EventView, FireResult, verify_store
from engine.timers.calendar import CHINA_TZ, add_duration, parse_duration

COMMITTEE = Actor("chen.hong", frozenset({"party_committee"}))
"""A member of the Jinzhou community party committee."""
HIGHER = Actor("lin.committee", frozenset({"higher_committee"}))
"""The community party committee acting as the higher committee that approves admissions."""
SECRETARY = Actor("huang.min", frozenset({"branch"}))
"""A branch secretary."""
STREET = Actor("liu.jian", frozenset({"street_committee"}))
"""The Jinshan street party working committee."""
CASEWORKER = Actor("wang.fang", frozenset({"caseworker"}))
TIMER = "system:timer"
AUTO = "system:auto"


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in China Standard Time."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def designers_refusal(workflow_id: str, trigger: str) -> tuple[str, str]:
    """The (zh, en) refusal text the designer wrote for `trigger` in the shipped YAML."""
    spec = load_file(SHIPPED_WORKFLOWS / f"{workflow_id}.yaml").spec
    assert spec is not None
    found = next(t for t in spec.transitions if t.trigger == trigger and t.refusal is not None)
    assert found.refusal is not None and not isinstance(found.refusal, str)
    return found.refusal.get("zh"), found.refusal.get("en")


class Community:
    """A caseworker's view of the community: the one door, the clock, and the store."""

    def __init__(self, service: CaseService, clock: FrozenClock, engine: sa.Engine) -> None:
        self.service = service
        self.clock = clock
        self.engine = engine

    # -- time --------------------------------------------------------------------------

    def begins_on(self, moment: datetime) -> None:
        """Set the clock for a story that begins before the fixture's date (nothing has
        happened in this community yet, so no timer is skipped)."""
        assert self.service.list_cases()[0] == []
        self.clock.set(moment)

    @property
    def today(self) -> str:
        return self.clock.now().astimezone(CHINA_TZ).date().isoformat()

    def advance(self, delta: timedelta | None = None, *, to: datetime | None = None) -> None:
        """Move the clock, firing every timer that falls due on the way."""
        advance(self.service, self.clock, to if to is not None else self.clock.now() + delta)

    def until_left(self, case_id: str, state: str, limit_days: int = 30) -> None:
        """Let days pass until the case has left `state` by itself (a notice period, say)."""
        for _ in range(limit_days):
            if self.case(case_id).state != state:
                return
            self.advance(timedelta(days=1))
        raise AssertionError(f"{case_id} still in {state} after {limit_days} days")

    # -- the one door --------------------------------------------------------------------

    def start(self, workflow_id: str, data: dict[str, Any], actor: Actor) -> str:
        return self.service.start_case(workflow_id, data, actor=actor,
                                       community=COMMUNITY).case.id

    def fire(self, case_id: str, trigger: str, values: dict[str, Any] | None = None, *,
             actor: Actor, comment: str | None = None) -> FireResult:
        return self.service.fire(case_id, trigger, input=values or {}, actor=actor,
                                 comment=comment)

    def tick(self, case_id: str, item: str, evidence: str, *, actor: Actor) -> None:
        self.service.tick(case_id, item, evidence=evidence, actor=actor)

    def link(self, case_id: str, other: str, relation: str, *, actor: Actor) -> None:
        self.service.link(case_id, other, relation=relation, actor=actor)

    def refused(self, call: Any) -> Refusal:
        """Run a change that must be refused; the refusal, with nothing at all written."""
        before = store_snapshot(self.engine)
        with pytest.raises(Refused) as caught:
            call()
        assert store_snapshot(self.engine) == before
        return caught.value.refusal

    def refused_fire(self, case_id: str, trigger: str, values: dict[str, Any] | None = None,
                     *, actor: Actor) -> Refusal:
        return self.refused(lambda: self.fire(case_id, trigger, values, actor=actor))

    # -- reading -------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseView:
        return self.service.get_case(case_id)

    def state(self, case_id: str) -> str:
        return self.case(case_id).state

    def history(self, case_id: str) -> list[EventView]:
        return self.service.history(case_id)

    def triggers(self, case_id: str) -> list[str | None]:
        """The transitions recorded so far, in order (the start is None)."""
        return [e.trigger for e in self.history(case_id) if e.kind in ("start", "transition")]

    def last(self, case_id: str) -> EventView:
        return self.history(case_id)[-1]

    def overdue(self, case_id: str) -> list[str]:
        """The timers (`state:timer`) that marked the case overdue, in order."""
        return [e.input["timer"] for e in self.history(case_id) if e.kind == "overdue"]


@pytest.fixture
def clock() -> FrozenClock:
    """The community's clock, from Tuesday 2 January 2024; scenarios move it forward."""
    return FrozenClock(at(2024, 1, 2))


@pytest.fixture
def w(engine: sa.Engine, clock: FrozenClock) -> Iterator[Community]:
    registry = WorkflowRegistry(engine, clock)
    registry.sync_directory(SHIPPED_WORKFLOWS)
    yield Community(CaseService(engine, registry, clock), clock, engine)
    assert verify_store(engine) == []


# ---- social-organization incubation ------------------------------------------------------------


def apply_for_incubation(w: Community, name: str, **data: Any) -> str:
    return w.start("social_org_incubation",
                   {"name": name, "residents_need": "青少年课后科技教育", **data}, COMMITTEE)


AGREEMENT = {"services": "青少年机器人编程与科创课程", "activity_sessions": 36,
             "expected_effect": "每学期两期编程课，参与青少年不少于60人"}
FOUR_ONES = {"venue": "社区青少年活动室", "startup_funds": "启动资金1万元",
             "party_instructor": "党建指导员：社区党委委员陈红",
             "incubation_plan": "《孵化方案》"}


def test_an_organization_is_selected_confirmed_by_agreement_and_cultivated_until_it_graduates(
        w: Community) -> None:
    # Given two organizations applying in March 2024, one of them with a party member
    w.advance(to=at(2024, 3, 4))
    letan = apply_for_incubation(w, "乐探机器人工作室")
    w.advance(timedelta(minutes=30))
    qinghe = apply_for_incubation(w, "青禾社工", residents_need="困境家庭帮扶",
                                  party_member_count=1)
    # then the one with party presence comes first in the committee's queue
    queue, _ = w.service.list_cases(workflow_id="social_org_incubation", state="selection")
    assert [c.id for c in queue] == [qinghe, letan]

    # When the committee leaves them unanswered for five working days
    w.advance(to=at(2024, 3, 11, 12))
    # then both are marked overdue by the timer
    assert w.case(letan).overdue and w.case(qinghe).overdue
    late = w.last(letan)
    assert (late.kind, late.actor, late.input["timer"]) == ("overdue", TIMER, "selection:reply_due")

    # When the committee tries to sign the agreement before selecting the studio
    early = w.refused_fire(letan, "sign_agreement", {**AGREEMENT, "agreement_date": w.today},
                           actor=COMMITTEE)
    assert early.code == "not_allowed_from_state"
    # and selects it without checking the abnormal-activity lists, it is refused in the
    # designer's words
    unchecked = w.refused_fire(letan, "select", {"not_on_abnormal_lists": False},
                               actor=COMMITTEE)
    assert (unchecked.zh, unchecked.en) == designers_refusal("social_org_incubation", "select")
    w.fire(letan, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE)
    assert w.state(letan) == "confirmation" and not w.case(letan).overdue

    # When the committee tries to skip the agreement: the four ones are not given yet,
    assert w.refused(lambda: w.tick(letan, "venue", "活动室", actor=COMMITTEE)).code \
        == "checklist_unknown_item"
    # there is nothing to evaluate,
    assert w.refused_fire(letan, "begin_final_evaluation", actor=COMMITTEE).code \
        == "not_allowed_from_state"
    # and an agreement without its contents is not an agreement
    empty = w.refused_fire(letan, "sign_agreement", actor=COMMITTEE)
    assert empty.code == "input_invalid"
    assert {e["field"] for e in empty.details["errors"]} == {
        "services", "activity_sessions", "expected_effect", "agreement_date"}
    # nor is one below the community's minimum number of sessions
    w.service.set_parameter("social_org_incubation", "minimum_sessions", 12, community=COMMUNITY)
    few = w.refused_fire(letan, "sign_agreement",
                         {**AGREEMENT, "activity_sessions": 6, "agreement_date": w.today},
                         actor=COMMITTEE)
    assert (few.zh, few.en) == designers_refusal("social_org_incubation", "sign_agreement")

    # When the agreement states the services, the sessions and the expected effect
    w.advance(to=at(2024, 3, 15))
    w.fire(letan, "sign_agreement", {**AGREEMENT, "agreement_date": w.today}, actor=COMMITTEE)
    # then cultivation begins, and three of the four ones are given
    assert w.state(letan) == "cultivation"
    assert w.case(letan).data["activity_sessions"] == 36
    for item in ("venue", "startup_funds", "incubation_plan"):
        w.tick(letan, item, FOUR_ONES[item], actor=COMMITTEE)

    # When six months pass, the committee is reminded to evaluate, and does
    w.advance(to=at(2024, 9, 16))
    reminder = w.last(letan)
    assert (reminder.kind, reminder.actor) == ("escalation", TIMER)
    w.fire(letan, "record_evaluation", {"result": "fair"}, actor=COMMITTEE)

    # When it would leave cultivation with the party-building instructor still missing
    missing = w.refused_fire(letan, "begin_final_evaluation", actor=COMMITTEE)
    # then it is refused, naming the missing "one"
    assert missing.code == "checklist_incomplete"
    assert missing.details["missing"] == ["party_instructor"]
    # and when the incubation period ends, the timer cannot move it either
    w.advance(to=at(2025, 3, 17))
    assert w.state(letan) == "cultivation"
    assert "incubation_period_ends" not in w.triggers(letan)

    # When the instructor is assigned, the final evaluation begins
    w.tick(letan, "party_instructor", FOUR_ONES["party_instructor"], actor=COMMITTEE)
    w.fire(letan, "begin_final_evaluation", actor=COMMITTEE)
    # and graduation waits for the final result
    premature = w.refused_fire(letan, "graduate", actor=COMMITTEE)
    assert (premature.zh, premature.en) == designers_refusal("social_org_incubation", "graduate")
    w.fire(letan, "record_final_result", {"result": "passed"}, actor=COMMITTEE)
    w.fire(letan, "graduate", actor=COMMITTEE)

    # Then the studio has graduated, and its case is closed to every change
    case = w.case(letan)
    assert (case.state, case.status, case.outcome) == ("graduated", "closed", "graduated")
    assert w.refused_fire(letan, "record_evaluation", {"result": "good"},
                          actor=COMMITTEE).code == "case_closed"
    assert w.triggers(letan) == [None, "select", "sign_agreement", "record_evaluation",
                                 "begin_final_evaluation", "record_final_result", "graduate"]


def test_an_organization_renewed_once_then_failing_returns_its_premises_and_exits(
        w: Community) -> None:
    # Given a psychology studio in cultivation since March 2024 with the four ones
    w.advance(to=at(2024, 3, 4))
    yijia = apply_for_incubation(w, "熠家心理工作室", residents_need="青少年自主学习和心理健康")
    w.fire(yijia, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE)
    w.advance(to=at(2024, 3, 15))
    w.fire(yijia, "sign_agreement", {**AGREEMENT, "agreement_date": w.today}, actor=COMMITTEE)
    for item, evidence in FOUR_ONES.items():
        w.tick(yijia, item, evidence, actor=COMMITTEE)
    w.advance(to=at(2024, 9, 20))
    w.fire(yijia, "record_evaluation", {"result": "good"}, actor=COMMITTEE)

    # When the incubation period of one year ends
    w.advance(to=at(2025, 3, 15, 12))
    # then the timer moves it to the final evaluation
    assert w.state(yijia) == "final_evaluation"
    moved = [e for e in w.history(yijia) if e.trigger == "incubation_period_ends"]
    assert [(e.actor, e.role) for e in moved] == [(TIMER, None)]

    # When the final result is "renew", the studio renews its residency
    w.fire(yijia, "record_final_result", {"result": "renew"}, actor=COMMITTEE)
    w.fire(yijia, "renew", {"agreement_date": w.today}, actor=COMMITTEE)
    # then a new period begins, and the four ones are confirmed afresh
    case = w.case(yijia)
    assert (case.state, case.data["renewals"]) == ("cultivation", 1)
    assert not any(entry["ticked"] for entry in case.checklist.values())
    for item, evidence in FOUR_ONES.items():
        w.tick(yijia, item, f"续驻：{evidence}", actor=COMMITTEE)
    w.advance(to=at(2025, 9, 20))
    w.fire(yijia, "record_evaluation", {"result": "poor"}, actor=COMMITTEE)

    # When the second period ends and the committee would renew it again
    w.advance(to=at(2026, 3, 16))
    assert w.state(yijia) == "final_evaluation"
    w.fire(yijia, "record_final_result", {"result": "renew"}, actor=COMMITTEE)
    twice = w.refused_fire(yijia, "renew", {"agreement_date": w.today}, actor=COMMITTEE)
    # then the local cap of one renewal refuses it
    assert (twice.zh, twice.en) == designers_refusal("social_org_incubation", "renew")

    # When it fails the final evaluation and is removed
    w.fire(yijia, "record_final_result", {"result": "failed"}, actor=COMMITTEE)
    w.fire(yijia, "remove", {"reason": "终期评估未通过"}, actor=COMMITTEE)
    assert w.state(yijia) == "exiting"
    # then after fifteen working days without the premises back, it is overdue
    w.advance(timedelta(days=14))
    assert not w.case(yijia).overdue
    w.advance(timedelta(days=10))
    assert w.case(yijia).overdue
    # and the exit closes only once the premises are returned
    kept = w.refused_fire(yijia, "close_exit", actor=CASEWORKER)
    assert kept.details["missing"] == ["premises_returned"]
    w.tick(yijia, "premises_returned", "沙盘室钥匙已交还", actor=CASEWORKER)
    w.fire(yijia, "close_exit", actor=CASEWORKER)
    case = w.case(yijia)
    assert (case.state, case.outcome, case.data["exit_reason"]) == ("exited", "exited",
                                                                     "终期评估未通过")


# ---- member development -------------------------------------------------------------------------


def apply_for_membership(w: Community, name: str, *, born: str = "1994-05-18",
                         organization: str | None = None) -> str:
    values: dict[str, Any] = {"name": name, "birth_date": born, "application_date": w.today}
    if organization is not None:
        values["party_organization"] = organization
    person = w.start("member_development", values, SECRETARY)
    if organization is not None:
        w.link(person, organization, "party_organization", actor=SECRETARY)
    return person


def make_activist(w: Community, person: str) -> None:
    w.advance(timedelta(days=7))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    w.until_left(person, "activist_notice")
    w.fire(person, "decide_activist", {"decision_date": w.today, "mentors": ["王芳", "陈明"]},
           actor=SECRETARY)
    w.tick(person, "activist_filed", "报社区党委备案", actor=SECRETARY)


def make_development_target(w: Community, person: str) -> None:
    since = datetime.fromisoformat(w.case(person).data["activist_since"]).replace(
        hour=10, tzinfo=CHINA_TZ)
    for months in (5, 11):
        w.advance(to=since + timedelta(days=30 * months))
        w.fire(person, "record_assessment", {"assessed_on": w.today, "result": "good"},
               actor=SECRETARY)
    w.advance(to=since + timedelta(days=366))
    w.fire(person, "propose_development_target", actor=SECRETARY)
    w.until_left(person, "target_notice")
    w.fire(person, "decide_development_target",
           {"decision_date": w.today, "sponsors": ["王芳", "陈明"],
            "sponsors_are_full_members": True}, actor=SECRETARY)
    w.tick(person, "target_filed", "报社区党委备案", actor=SECRETARY)
    w.tick(person, "political_review", "政审合格", actor=SECRETARY)
    w.advance(timedelta(days=20))
    w.fire(person, "record_training", {"days": 3, "hours": 24}, actor=SECRETARY)


def admit(w: Community, person: str, entitled: int = 5) -> None:
    w.fire(person, "submit_for_review", actor=SECRETARY)
    w.fire(person, "pass_branch_review", actor=SECRETARY)
    w.fire(person, "pass_pre_review", actor=HIGHER)
    w.until_left(person, "admission_notice")
    w.tick(person, "application_form_completed", "入党志愿书", actor=SECRETARY)
    w.fire(person, "hold_admission_vote", {"meeting_date": w.today, "entitled": entitled,
                                           "present": entitled, "yes_votes": entitled},
           actor=SECRETARY)
    w.fire(person, "complete_interview", actor=HIGHER)
    w.advance(timedelta(days=20))
    w.fire(person, "approve_admission", {"approved_on": w.today}, actor=HIGHER)


def tick_probation(w: Community, person: str) -> None:
    for item in ("admission_filed", "assigned_to_group", "oath_taken", "conversion_applied"):
        w.tick(person, item, "记录在案", actor=SECRETARY)


def test_a_person_goes_through_the_five_stages_to_full_membership(w: Community) -> None:
    # Given an applicant who hands in her application on 1 March 2024
    w.advance(to=at(2024, 3, 1))
    person = apply_for_membership(w, "林晓", born="1996-04-12")
    assert w.state(person) == "applicant"

    # When the branch talks with her within the month and publishes the activist notice
    w.advance(to=at(2024, 3, 14))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    # then the notice cannot be cut short by hand
    early = w.refused_fire(person, "notice_ends", actor=SECRETARY)
    assert early.zh == "公示期未满，不能进入下一步。"
    # and once five working days have passed it ends by itself
    w.advance(to=at(2024, 3, 21, 12))
    assert w.state(person) == "activist_decision"
    ended = w.last(person)
    assert (ended.trigger, ended.actor) == ("notice_ends", TIMER)
    assert not any(e.kind == "overdue" for e in w.history(person))

    # When the branch committee names her an activist, with two different mentors
    same = w.refused_fire(person, "decide_activist",
                          {"decision_date": w.today, "mentors": ["王芳", "王芳"]},
                          actor=SECRETARY)
    assert same.code == "guard_false"
    w.fire(person, "decide_activist", {"decision_date": w.today, "mentors": ["王芳", "陈明"]},
           actor=SECRETARY)
    w.tick(person, "activist_filed", "街道党工委备案 2024-017", actor=SECRETARY)
    assert w.case(person).data["activist_since"] == "2024-03-21"

    # Then she is assessed every six months, so the six-monthly checks find nothing missed
    for day in (at(2024, 8, 20), at(2025, 2, 19)):
        w.advance(to=day)
        w.fire(person, "record_assessment", {"assessed_on": w.today, "result": "good"},
               actor=SECRETARY)
    assert w.case(person).data["missed_assessments"] == 0

    # When the branch tries to make her a development target after eleven months
    w.advance(to=at(2025, 2, 21))
    too_soon = w.refused_fire(person, "propose_development_target", actor=SECRETARY)
    # then it is refused with the designer's text
    assert too_soon.code == "guard_false"
    assert (too_soon.zh, too_soon.en) == designers_refusal("member_development",
                                                           "propose_development_target")
    assert too_soon.zh.startswith("入党积极分子须经过一年以上培养教育和考察")
    # and after twelve months it is allowed
    w.advance(to=at(2025, 3, 21, 12))
    w.fire(person, "propose_development_target", actor=SECRETARY)
    assert w.state(person) == "target_notice"
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
    short = w.refused_fire(person, "record_training", {"days": 2, "hours": 16},
                           actor=SECRETARY)
    assert (short.zh, short.en) == designers_refusal("member_development", "record_training")
    w.fire(person, "record_training", {"days": 2, "hours": 24}, actor=SECRETARY)

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
    assert no_quorum.zh.startswith("表决无效")
    # and a valid one with more than half of the entitled members in favour does
    w.fire(person, "hold_admission_vote", {
        "meeting_date": w.today, "entitled": 9, "present": 8, "yes_votes": 6}, actor=SECRETARY)
    admitted_on = w.case(person).data["admission_date"]
    w.fire(person, "complete_interview", actor=HIGHER)

    # When the higher committee lets three months pass, the approval is marked overdue
    meeting = datetime.fromisoformat(admitted_on).replace(hour=9, tzinfo=CHINA_TZ)
    w.advance(to=meeting + timedelta(days=100))
    overdue = [e for e in w.history(person) if e.kind == "overdue"]
    assert [(e.actor, e.input["timer"]) for e in overdue] == [
        (TIMER, "admission_approval:approval_due")]
    # and approving it later needs a special reason
    late = w.refused_fire(person, "approve_admission", {"approved_on": w.today}, actor=HIGHER)
    assert (late.zh, late.en) == designers_refusal("member_development", "approve_admission")
    w.fire(person, "approve_admission",
           {"approved_on": w.today, "special_reason": "党委换届，审批会议推迟"}, actor=HIGHER)
    assert w.state(person) == "probationary"
    # and the probation is counted from the admitting meeting, not from the approval
    assert w.case(person).data["probation_ends_on"][5:] == admitted_on[5:]

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
    assert w.triggers(person) == [
        None, "record_talk", "recommend_activist", "notice_ends", "decide_activist",
        "record_assessment", "record_assessment", "propose_development_target", "notice_ends",
        "decide_development_target", "record_training", "submit_for_review",
        "pass_branch_review", "pass_pre_review", "notice_ends", "hold_admission_vote",
        "complete_interview", "approve_admission", "probation_ends", "notice_ends",
        "hold_conversion_vote", "approve_conversion"]
    by_timer = [e.trigger for e in w.history(person)
                if e.kind == "transition" and e.actor == TIMER]
    assert by_timer == ["notice_ends", "notice_ends", "notice_ends", "probation_ends",
                        "notice_ends"]


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
    # and the branch declines it, which ends the case
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
    assert w.case(person).data["missed_assessments"] == 1
    missed = w.last(person)
    assert (missed.trigger, missed.actor) == ("assessment_missed", TIMER)
    # and once assessed, the next check finds nothing missed
    w.fire(person, "record_assessment", {"assessed_on": w.today, "result": "fair"},
           actor=SECRETARY)
    w.advance(to=named + timedelta(days=366))
    assert w.case(person).data["missed_assessments"] == 1


def test_probation_can_be_extended_only_once_by_six_to_twelve_months(w: Community) -> None:
    # Given a probationary member whose story began in March 2022 (working-day notices
    # need the official calendar, which ends in 2026)
    w.begins_on(at(2022, 3, 1))
    person = apply_for_membership(w, "何静")
    make_activist(w, person)
    make_development_target(w, person)
    admit(w, person)
    assert w.state(person) == "probationary"
    first_end = w.case(person).data["probation_ends_on"]

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
    assert w.case(person).data["probation_ends_on"] == six_months_later.isoformat()
    w.tick(person, "extension_approved", "上级党委批复", actor=HIGHER)
    w.tick(person, "extended_conversion_applied", "转正申请书", actor=SECRETARY)

    # When it ends, the notice runs, and the branch tries to extend a second time
    w.advance(to=datetime.fromisoformat(w.case(person).data["probation_ends_on"]).replace(
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


# ---- party organization -------------------------------------------------------------------------


def transfer_in(w: Community, organization: str, name: str, since: str = "2012-07-01") -> str:
    """A full member who joined elsewhere, recorded so that the organization counts her."""
    person = apply_for_membership(w, name, organization=organization)
    w.fire(person, "transfer_in_full_member",
           {"transfer_letter": f"闽仓组转 {name}", "full_member_since": since}, actor=HIGHER)
    w.tick(person, "records_archived", "档案转入", actor=SECRETARY)
    return person


def test_the_party_organization_moves_as_its_members_cases_progress(w: Community) -> None:
    # Given the Shanggu centre's party-building case, with no party member, in January 2024
    w.advance(to=at(2024, 1, 8))
    org = w.start("party_organization", {"name": "上古健康服务中心"}, COMMITTEE)
    assert w.state(org) == "no_members"

    # When a full member transfers in, the organization has members, by itself
    transfer_in(w, org, "黄敏")
    assert w.state(org) == "has_members"
    first = w.last(org)
    assert (first.trigger, first.actor) == ("first_member_joins", AUTO)
    # and an applicant starts her development there while a second member transfers in
    developing = apply_for_membership(w, "陈静", organization=org)
    transfer_in(w, org, "郭强")

    # When the committee tries to set up a branch of its own with 2 full members
    two = w.refused_fire(org, "apply_for_branch", {"application_date": w.today},
                         actor=COMMITTEE)
    # then it is refused in the designer's words, and the organization does not move
    assert (two.zh, two.en) == designers_refusal("party_organization", "apply_for_branch")
    assert w.state(org) == "has_members"
    # and a joint branch already covering 5 units cannot take it either
    full = w.refused_fire(org, "join_joint_branch", {
        "joint_branch_name": "金山街道社会组织联合党支部", "units_before": 5}, actor=COMMITTEE)
    assert full.zh.startswith("联合党支部覆盖单位一般不超过5个")
    w.fire(org, "join_joint_branch", {
        "joint_branch_name": "金洲社区非公企业和社会组织“孵化器”党支部", "units_before": 3},
        actor=COMMITTEE)
    w.tick(org, "instructor_assigned", "下派党建指导员：社区党委委员陈红", actor=COMMITTEE)
    assert (w.state(org), w.case(org).data["joint_branch_units"]) == ("joint_branch", 4)

    # Then while the applicant becomes an activist, a target and a probationary member,
    # the organization stays in the joint branch: probationary members are not counted
    make_activist(w, developing)
    make_development_target(w, developing)
    admit(w, developing)
    assert w.state(developing) == "probationary"
    assert w.state(org) == "joint_branch"
    assert w.refused_fire(org, "apply_for_branch", {"application_date": w.today},
                          actor=COMMITTEE).code == "guard_false"

    # When her probation ends and the conversion is approved
    tick_probation(w, developing)
    w.advance(to=datetime.fromisoformat(w.case(developing).data["probation_ends_on"])
              .replace(hour=12, tzinfo=CHINA_TZ))
    w.until_left(developing, "conversion_notice")
    w.fire(developing, "hold_conversion_vote",
           {"meeting_date": w.today, "entitled": 2, "present": 2, "yes_votes": 2},
           actor=SECRETARY)
    w.advance(timedelta(days=14))
    converted = w.fire(developing, "approve_conversion", {"approved_on": w.today},
                       actor=HIGHER)

    # Then the same call moved the organization: three full members, eligible by itself
    assert converted.case.state == "full_member"
    assert [(e.case_id, e.trigger, e.actor) for e in converted.automatic] == [
        (org, "reaches_three_full_members", AUTO)]
    assert w.state(org) == "independent_eligible"
    # and it may now apply for a branch of its own
    w.fire(org, "apply_for_branch", {"application_date": w.today}, actor=COMMITTEE)
    assert w.state(org) == "awaiting_approval"


def test_a_branch_that_skips_its_meetings_is_watched_before_and_after_its_mechanism(
        w: Community) -> None:
    # Given a branch elected in May 2024 by an organization of three full members
    w.advance(to=at(2024, 4, 1))
    org = w.start("party_organization", {"name": "金洲社区卫生服务站"}, COMMITTEE)
    for name in ("黄敏", "郭强", "林晓"):
        transfer_in(w, org, name)
    assert w.state(org) == "independent_eligible"
    w.tick(org, "instructor_assigned", "下派党建指导员：社区党委委员陈红", actor=COMMITTEE)
    w.fire(org, "apply_for_branch", {"application_date": w.today}, actor=COMMITTEE)
    assert w.refused_fire(org, "approve_branch", {
        "approved_on": w.today, "approval_reference": "x", "branch_name": "x"},
        actor=COMMITTEE).code == "role_missing"
    w.fire(org, "approve_branch", {
        "approved_on": w.today, "approval_reference": "金街工委〔2024〕10号",
        "branch_name": "中共金洲社区卫生服务站支部委员会"}, actor=STREET)
    w.fire(org, "elect_branch", {"election_date": w.today, "secretary": "黄敏",
                                 "committee_size": 0, "has_groups": False}, actor=SECRETARY)
    w.tick(org, "election_filed", "报金山街道党工委备案", actor=COMMITTEE)
    w.tick(org, "shared_venue", "社区党群服务中心会议室", actor=COMMITTEE)
    elected = w.clock.now()

    # When the branch holds no themed party day for its first months
    w.advance(to=elected + timedelta(days=75))
    # then the monthly check records a meeting overdue, and the mechanism is not recognised
    assert w.case(org).data["overdue_checks"] >= 1
    assert w.refused_fire(org, "recognise_mechanism", actor=COMMITTEE).zh.startswith(
        "各项组织生活须按期开展")

    # When from then on every meeting is held on schedule for a year
    start = w.clock.now()
    for month in range(13):
        w.advance(to=start + timedelta(days=30 * month))
        kinds = ["themed_party_day"]
        kinds += ["general_meeting", "party_lecture"] if month % 3 == 0 else []
        kinds += ["life_meeting"] if month == 10 else []
        for kind in kinds:
            w.fire(org, "record_meeting", {"kind": kind, "held_on": w.today}, actor=SECRETARY)
    last_overdue = w.case(org).data["last_overdue_on"]
    w.advance(timedelta(days=10))
    assert w.case(org).data["last_overdue_on"] == last_overdue
    # then the committee recognises the mechanism
    w.fire(org, "recognise_mechanism", actor=COMMITTEE)
    assert w.state(org) == "mechanism_established"

    # and the monthly checks keep watching after it: a skipped quarter is recorded
    checks = w.case(org).data["overdue_checks"]
    w.advance(timedelta(days=130))
    assert w.state(org) == "mechanism_established"
    assert w.case(org).data["overdue_checks"] > checks


# ---- self-organization, co-building, part-time committee members ---------------------------


def test_a_self_organization_is_recognised_with_the_three_ones_and_watched(
        w: Community) -> None:
    # Given a volunteer team being formed with the party committee's guidance
    w.advance(to=at(2024, 3, 1))
    team = w.start("self_organization", {"name": "金洲社区邻里互助志愿服务队",
                                         "kind": "volunteering", "leader": "王德明"},
                   COMMITTEE)
    w.tick(team, "charter", "《邻里互助志愿服务队章程》", actor=COMMITTEE)
    w.tick(team, "venue", "社区党群服务中心志愿者之家", actor=COMMITTEE)

    # When it is recognised with one of the three ones missing, it is refused
    missing = w.refused_fire(team, "recognise", {"recognised_on": w.today, "venue": "志愿者之家",
                                                 "members": 140}, actor=COMMITTEE)
    assert missing.code == "checklist_incomplete"
    assert missing.details["missing"] == ["incentive_mechanism"]
    w.tick(team, "incentive_mechanism", "志愿服务积分兑换办法", actor=COMMITTEE)
    w.fire(team, "recognise", {"recognised_on": w.today, "venue": "志愿者之家", "members": 140},
           actor=COMMITTEE)

    # Then its activities are counted, and only a quiet half-year is noticed by the timer
    w.advance(timedelta(days=10))
    w.fire(team, "record_activity", {"held_on": w.today, "title": "邻里互助日",
                                     "participants": 28}, actor=CASEWORKER)
    w.advance(timedelta(days=170))
    assert w.case(team).data["quiet_periods"] == 0
    w.advance(timedelta(days=200))
    data = w.case(team).data
    assert (data["quiet_periods"], data["activities"], data["participants"]) == (1, 1, 28)
    quiet = [e for e in w.history(team) if e.trigger == "no_recent_activity"]
    assert [e.actor for e in quiet] == [TIMER]

    # When it dissolves, the case ends with the reason
    w.fire(team, "dissolve", {"reason": "负责人迁出，队员并入党员志愿者服务队"}, actor=COMMITTEE)
    assert w.case(team).outcome == "dissolved"


def test_a_co_building_agreement_is_reviewed_every_year_and_renewed(w: Community) -> None:
    # Given a community whose agreements run two years, and a proposal to co-build with
    # the Jinshan kindergarten
    w.service.set_parameter("co_building_agreement", "agreement_term", "P2Y",
                            community=COMMUNITY)
    w.advance(to=at(2024, 5, 6))
    deal = w.start("co_building_agreement", {"unit_name": "金山幼儿园",
                                             "scope": "within_area"}, COMMITTEE)
    w.fire(deal, "draft_terms", actor=COMMITTEE)

    # When it is signed before the four joint terms are written, it is refused
    early = w.refused_fire(deal, "sign", {"signed_on": w.today, "planned_activities": 40},
                           actor=COMMITTEE)
    assert early.code == "checklist_incomplete"
    for item, evidence in (("organization_building", "结对共建"),
                           ("joint_activities", "每周绘本阅读"),
                           ("shared_resources", "省图书馆金洲分馆"),
                           ("member_management", "在职党员到社区报到")):
        w.tick(deal, item, evidence, actor=COMMITTEE)
    w.advance(to=at(2024, 5, 10))
    w.fire(deal, "sign", {"signed_on": w.today, "planned_activities": 40}, actor=COMMITTEE)
    assert w.case(deal).data["expires_on"] == "2026-05-10"

    # Then activities are recorded, and a review can be recorded only when one is due
    w.fire(deal, "record_activity", {"held_on": w.today, "title": "阅读进社区，书香飘万家"},
           actor=CASEWORKER)
    not_due = w.refused_fire(deal, "record_annual_review",
                             {"result": "effective", "summary": "—"}, actor=COMMITTEE)
    assert (not_due.zh, not_due.en) == designers_refusal("co_building_agreement",
                                                         "record_annual_review")
    w.advance(to=at(2025, 5, 10, 12))
    assert w.case(deal).data["review_due"] is True
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "每周一次，孩子踊跃"},
           actor=COMMITTEE)

    # When the term ends, the agreement moves to renewal by itself, and renewal waits for
    # the term's review
    w.advance(to=at(2026, 5, 10, 12))
    assert w.state(deal) == "expiring"
    assert w.last(deal).actor == TIMER
    unreviewed = w.refused_fire(deal, "renew", {"renewed_on": w.today,
                                                "planned_activities": 40}, actor=COMMITTEE)
    assert (unreviewed.zh, unreviewed.en) == designers_refusal("co_building_agreement", "renew")
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "两年总结"},
           actor=COMMITTEE)
    w.fire(deal, "renew", {"renewed_on": w.today, "planned_activities": 45}, actor=COMMITTEE)

    # Then it is in force for another term
    data = w.case(deal).data
    assert (w.state(deal), data["renewals"], data["expires_on"]) == ("in_force", 1,
                                                                     "2028-05-10")


def test_a_part_time_member_is_recommended_elected_pledged_and_serves_a_term(
        w: Community) -> None:
    # Given the head of the kindergarten's party branch, put forward in January 2025
    w.advance(to=at(2025, 1, 6))
    member = w.start("committee_election", {"candidate_name": "周敏", "unit_name": "金山幼儿园",
                                            "position": "党支部书记"}, COMMITTEE)

    # When only party members and residents have recommended her, she cannot go forward
    for source in ("party_members", "residents", "residents"):
        w.fire(member, "record_recommendation", {"source": source, "recommended_on": w.today},
               actor=COMMITTEE)
    assert w.case(member).data["sources_recommended"] == ["party_members", "residents"]
    two = w.refused_fire(member, "submit_candidate", actor=COMMITTEE)
    assert (two.zh, two.en) == designers_refusal("committee_election", "submit_candidate")
    unknown = w.refused_fire(member, "record_recommendation",
                             {"source": "volunteers", "recommended_on": w.today},
                             actor=COMMITTEE)
    assert unknown.zh.startswith("推荐来源须是本流程参数列出的来源之一")
    w.fire(member, "record_recommendation",
           {"source": "unit_party_organizations", "recommended_on": w.today}, actor=COMMITTEE)
    w.fire(member, "submit_candidate", actor=COMMITTEE)

    # Then only the street committee reviews, and the election needs four fifths present
    assert w.refused_fire(member, "approve_candidate", actor=COMMITTEE).code == "role_missing"
    w.fire(member, "approve_candidate", actor=STREET)
    assert w.refused_fire(member, "hold_election", {
        "election_date": w.today, "entitled": 126, "present": 95, "yes_votes": 90},
        actor=COMMITTEE).zh.startswith("选举无效")
    w.fire(member, "hold_election", {"election_date": w.today, "entitled": 126,
                                     "present": 108, "yes_votes": 104}, actor=COMMITTEE)
    assert w.state(member) == "elected"

    # When she would take office before signing the pledge of duties, it is refused
    unpledged = w.refused_fire(member, "take_office", {"term_start": w.today}, actor=COMMITTEE)
    assert (unpledged.zh, unpledged.en) == designers_refusal("committee_election", "take_office")
    w.tick(member, "pledge_signed", "《兼职委员履职承诺书》", actor=COMMITTEE)
    w.fire(member, "take_office", {"term_start": w.today}, actor=COMMITTEE)
    w.advance(to=at(2025, 4, 15, 15))
    w.fire(member, "record_joint_meeting", {"held_on": w.today}, actor=CASEWORKER)

    # Then she serves until the five-year term ends by its timer, and may stand again
    w.advance(to=at(2030, 1, 5))
    assert w.state(member) == "serving"
    w.advance(to=at(2030, 1, 7))
    case = w.case(member)
    assert (case.state, case.data["terms_served"]) == ("term_ended", 1)
    assert w.last(member).actor == TIMER
    w.fire(member, "stand_again", actor=COMMITTEE)
    case = w.case(member)
    assert (case.state, case.data["sources_recommended"]) == ("recommendation", [])


def test_a_community_switches_off_the_unconfirmed_steps_of_the_election(w: Community) -> None:
    # Given a community that recognises two sources, no street review and no pledge
    for name, value in (("recommendation_sources", "party_members,unit_party_organizations"),
                        ("required_sources", 2), ("street_review", False),
                        ("pledge_required", False)):
        w.service.set_parameter("committee_election", name, value, community=COMMUNITY)
    w.advance(to=at(2025, 1, 6))
    member = w.start("committee_election", {"candidate_name": "钱峰", "unit_name": "金山派出所"},
                     COMMITTEE)
    assert w.refused_fire(member, "record_recommendation",
                          {"source": "residents", "recommended_on": w.today},
                          actor=COMMITTEE).code == "guard_false"
    for source in ("party_members", "unit_party_organizations"):
        w.fire(member, "record_recommendation", {"source": source, "recommended_on": w.today},
               actor=COMMITTEE)

    # When he is put forward, elected and takes office
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    assert w.state(member) == "election"
    w.fire(member, "hold_election", {"election_date": w.today, "entitled": 10, "present": 10,
                                     "yes_votes": 6}, actor=COMMITTEE)
    w.fire(member, "take_office", {"term_start": w.today}, actor=COMMITTEE)

    # Then he serves without a street review or a pledge on file
    assert w.state(member) == "serving"
    assert "approve_candidate" not in w.triggers(member)


def test_an_election_without_a_majority_ends_the_candidacy(w: Community) -> None:
    w.service.set_parameter("committee_election", "street_review", False, community=COMMUNITY)
    w.service.set_parameter("committee_election", "required_sources", 1, community=COMMUNITY)
    w.advance(to=at(2025, 1, 6))
    member = w.start("committee_election", {"candidate_name": "孙经理", "unit_name": "石油公司"},
                     COMMITTEE)
    w.fire(member, "record_recommendation",
           {"source": "party_members", "recommended_on": w.today}, actor=COMMITTEE)
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    outcome = w.fire(member, "hold_election", {"election_date": w.today, "entitled": 10,
                                               "present": 9, "yes_votes": 5}, actor=COMMITTEE)
    assert (outcome.case.state, outcome.case.status) == ("not_elected", "closed")


# ---- the Shanggu Health Service Centre, from selection to a branch with a mechanism -------------


def test_the_shanggu_centre_from_selection_to_an_independent_branch_with_a_mechanism(
        w: Community) -> None:
    # Given the Shanggu Health Service Centre, brought in for home elderly care (January 2024)
    w.advance(to=at(2024, 1, 8))
    centre = w.start("social_org_incubation", {
        "name": "上古健康服务中心", "residents_need": "辖区老年人居家养老",
        "party_member_count": 2}, COMMITTEE)
    w.advance(to=at(2024, 1, 10))
    w.fire(centre, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE)
    w.advance(to=at(2024, 1, 19))
    w.fire(centre, "sign_agreement", {
        "services": "上门健康监测、慢病管理、康复护理", "activity_sessions": 48,
        "expected_effect": "辖区居家老人建立健康档案，满意度90%以上", "agreement_date": w.today},
        actor=COMMITTEE)
    for item, evidence in (("venue", "社区党群服务中心一楼活动室"),
                           ("startup_funds", "启动资金2万元"),
                           ("party_instructor", "党建指导员：社区党委委员陈红"),
                           ("incubation_plan", "《上古健康服务中心孵化方案》")):
        w.tick(centre, item, evidence, actor=COMMITTEE)

    # and its party-building case, linked to it
    w.advance(to=at(2024, 1, 22))
    org = w.start("party_organization", {"name": "上古健康服务中心",
                                         "social_organization": centre}, COMMITTEE)
    w.link(org, centre, "social_organization", actor=COMMITTEE)

    # When two of its staff transfer in as full members, it joins the incubator joint branch
    w.advance(to=at(2024, 1, 29))
    members = [transfer_in(w, org, "黄敏", "2006-07-01")]
    w.advance(to=at(2024, 2, 26))
    members.append(transfer_in(w, org, "郭强", "2011-06-20"))
    w.advance(to=at(2024, 2, 28))
    assert w.refused_fire(org, "apply_for_branch", {"application_date": w.today},
                          actor=COMMITTEE).code == "guard_false"
    w.fire(org, "join_joint_branch", {
        "joint_branch_name": "金洲社区非公企业和社会组织“孵化器”党支部", "units_before": 2},
        actor=COMMITTEE)
    w.tick(org, "instructor_assigned", "下派党建指导员：社区党委委员陈红", actor=COMMITTEE)

    # When the third full member transfers in, it is eligible by itself, applies, and the
    # street committee approves late (the one-month reply deadline is marked overdue)
    w.advance(to=at(2024, 4, 1))
    members.append(transfer_in(w, org, "林晓", "2008-05-04"))
    assert w.state(org) == "independent_eligible"
    w.advance(to=at(2024, 4, 8))
    w.fire(org, "apply_for_branch", {"application_date": w.today}, actor=COMMITTEE)
    w.advance(to=at(2024, 5, 13))
    assert w.case(org).overdue
    w.fire(org, "approve_branch", {
        "approved_on": w.today, "approval_reference": "金街工委〔2024〕9号",
        "branch_name": "中共福州市仓山区上古健康服务中心支部委员会"}, actor=STREET,
        comment="经仓山区委组织部同意")

    # and the general meeting elects a secretary (fewer than 7 members: no committee)
    w.advance(to=at(2024, 5, 20, 15))
    committee = w.refused_fire(org, "elect_branch", {
        "election_date": w.today, "secretary": "黄敏", "committee_size": 3,
        "has_groups": False}, actor=SECRETARY)
    assert (committee.zh, committee.en) == designers_refusal("party_organization",
                                                             "elect_branch")
    w.fire(org, "elect_branch", {"election_date": w.today, "secretary": "黄敏",
                                 "committee_size": 0, "has_groups": False}, actor=SECRETARY)
    w.tick(org, "election_filed", "选举结果报金山街道党工委备案", actor=COMMITTEE)
    w.tick(org, "shared_venue", "共享社区党群服务中心党员活动室", actor=COMMITTEE)

    # When the branch holds every meeting on schedule for a year (monthly themed party
    # days, a quarterly general meeting and party lecture, a yearly life meeting)
    def meeting(kind: str) -> None:
        w.fire(org, "record_meeting", {"kind": kind, "held_on": w.today}, actor=SECRETARY)

    schedule: list[tuple[datetime, str]] = []
    for n in range(12):
        month, year = (6 + n - 1) % 12 + 1, 2024 + (6 + n - 1) // 12
        schedule.append((at(year, month, 10, 14), "themed_party_day"))
        if n % 3 == 1:
            schedule += [(at(year, month, 10, 15), "general_meeting"),
                         (at(year, month, 10, 16), "party_lecture")]
    schedule.append((at(2025, 1, 17, 15), "life_meeting"))
    for moment, kind in sorted(schedule):
        w.advance(to=moment)
        meeting(kind)
    # then the monthly checks found nothing overdue, and the mechanism is not recognised
    # before the observation year is over
    assert w.case(org).data["overdue_checks"] == 0
    assert w.refused_fire(org, "recognise_mechanism", actor=COMMITTEE).zh.startswith(
        "各项组织生活须按期开展")

    # Meanwhile the incubation year ended by its timer; the centre passed and graduated
    assert w.state(centre) == "final_evaluation"
    w.fire(centre, "record_final_result", {"result": "passed"}, actor=COMMITTEE)
    w.fire(centre, "graduate", actor=COMMITTEE)

    # When the year since the election is over, the committee recognises the mechanism
    w.advance(to=at(2025, 5, 26))
    w.fire(org, "recognise_mechanism", actor=COMMITTEE)

    # Then the centre has an independent branch with a mechanism
    branch = w.case(org)
    assert branch.state == "mechanism_established"
    assert branch.data["branch_name"] == "中共福州市仓山区上古健康服务中心支部委员会"
    assert branch.data["mechanism_since"] == "2025-05-26"
    assert w.case(centre).outcome == "graduated"

    # and the auditor reads the organization's history in order: who, under which role,
    # which trigger, from which state to which
    history = w.history(org)
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert [e.at for e in history] == sorted(e.at for e in history)
    meetings = [("transition", "record_meeting", "independent_branch", "independent_branch",
                 SECRETARY.id, "branch")] * len(schedule)
    assert [(e.kind, e.trigger, e.from_state, e.to_state, e.actor, e.role) for e in history] == [
        ("start", None, None, "no_members", COMMITTEE.id, "party_committee"),
        ("link", None, "no_members", "no_members", COMMITTEE.id, "party_committee"),
        ("transition", "first_member_joins", "no_members", "has_members", AUTO, None),
        ("transition", "join_joint_branch", "has_members", "joint_branch", COMMITTEE.id,
         "party_committee"),
        ("checklist_tick", None, "joint_branch", "joint_branch", COMMITTEE.id,
         "party_committee"),
        ("transition", "reaches_three_full_members", "joint_branch", "independent_eligible",
         AUTO, None),
        ("transition", "apply_for_branch", "independent_eligible", "awaiting_approval",
         COMMITTEE.id, "party_committee"),
        ("overdue", None, "awaiting_approval", "awaiting_approval", TIMER, None),
        ("transition", "approve_branch", "awaiting_approval", "branch_election", STREET.id,
         "street_committee"),
        ("transition", "elect_branch", "branch_election", "independent_branch", SECRETARY.id,
         "branch"),
        ("checklist_tick", None, "independent_branch", "independent_branch", COMMITTEE.id,
         "party_committee"),
        ("checklist_tick", None, "independent_branch", "independent_branch", COMMITTEE.id,
         "party_committee"),
        *meetings,
        ("transition", "recognise_mechanism", "independent_branch", "mechanism_established",
         COMMITTEE.id, "party_committee"),
    ]
    approval = next(e for e in history if e.trigger == "approve_branch")
    assert approval.comment == "经仓山区委组织部同意"
    assert approval.input["approval_reference"] == "金街工委〔2024〕9号"
    assert [e.at for e in history if e.trigger == "reaches_three_full_members"] == [
        w.history(members[2])[-2].at]

    # and the centre's own history, from selection to graduation
    assert [(e.kind, e.trigger, e.to_state, e.actor) for e in w.history(centre)
            if e.kind != "checklist_tick"] == [
        ("start", None, "selection", COMMITTEE.id),
        ("transition", "select", "confirmation", COMMITTEE.id),
        ("transition", "sign_agreement", "cultivation", COMMITTEE.id),
        ("escalation", None, "cultivation", TIMER),
        ("transition", "incubation_period_ends", "final_evaluation", TIMER),
        ("transition", "record_final_result", "final_evaluation", COMMITTEE.id),
        ("transition", "graduate", "graduated", COMMITTEE.id),
    ]

    # and across the community, the milestones come in the order the story tells
    events, _ = w.service.list_events(community_prefix=COMMUNITY, limit=1000)
    milestones = [(e.case_id, e.trigger) for e in events if e.trigger in {
        "select", "sign_agreement", "first_member_joins", "join_joint_branch",
        "reaches_three_full_members", "apply_for_branch", "approve_branch", "elect_branch",
        "incubation_period_ends", "graduate", "recognise_mechanism"}]
    assert milestones == [
        (centre, "select"), (centre, "sign_agreement"), (org, "first_member_joins"),
        (org, "join_joint_branch"), (org, "reaches_three_full_members"),
        (org, "apply_for_branch"), (org, "approve_branch"), (org, "elect_branch"),
        (centre, "incubation_period_ends"), (centre, "graduate"),
        (org, "recognise_mechanism")]

    # and every hash chain verifies, each event chained to the one before it
    for case_id in (centre, org, *members):
        assert verify_store(w.engine, case_id) == []
        chain = w.history(case_id)
        assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
        assert w.case(case_id).head_hash == chain[-1].hash
