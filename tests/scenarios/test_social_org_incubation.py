"""Social-organization incubation (社会组织孵化) through the one door, with the dual incubation:
the selection queue read from the party-organization record, the four ones with their
resources and deadline, delivery against the agreement, the party-building rung at
evaluations and graduation, and the party record closed or handed over on the way out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scenarios.conftest import (
    AUTO,
    CASEWORKER,
    COMMITTEE,
    COMMUNITY,
    TIMER,
    Community,
    at,
    day_before,
    designers_refusal,
)
from scenarios.people import transfer_in

FOUR_ONES = {"venue": "社区青少年活动室", "startup_funds": "启动资金1万元（拨付凭证）",
             "party_instructor": "党建指导员：社区党委委员陈红",
             "incubation_plan": "《孵化方案》"}


def apply_for_incubation(w: Community, name: str, **data: Any) -> str:
    return w.start("social_org_incubation",
                   {"name": name, "residents_need": "青少年课后科技教育", **data}, COMMITTEE)


def agreement(w: Community, *, sessions: int = 4, due_in_days: int = 30) -> dict[str, Any]:
    due = (w.clock.now() + timedelta(days=due_in_days)).date().isoformat()
    return {"services": "青少年机器人编程与科创课程", "activity_sessions": sessions,
            "expected_effect": "每学期两期编程课，参与青少年不少于60人",
            "agreement_date": w.today, "venue": "社区青少年活动室",
            "startup_funds_yuan": 10000, "instructor": "陈红", "resources_due": due}


def in_cultivation(w: Community, name: str = "乐探机器人工作室", *, sessions: int = 4) -> str:
    org = apply_for_incubation(w, name)
    w.fire(org, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE)
    w.advance(timedelta(days=7))
    w.fire(org, "sign_agreement", agreement(w, sessions=sessions), actor=COMMITTEE)
    for item, evidence in FOUR_ONES.items():
        w.tick(org, item, evidence, actor=COMMITTEE)
    return org


def deliver(w: Community, org: str, count: int, *, people: int = 20,
            kind: str = "activity") -> None:
    for _ in range(count):
        w.advance(timedelta(days=7))
        w.fire(org, "record_delivery", {
            "delivered_on": w.today, "kind": kind, "title": "机器人编程课",
            "people_served": people, "evidence": "签到表、活动照片"}, actor=CASEWORKER)


def party_record(w: Community, org: str, *, members: int) -> str:
    """The organization's party-organization record, linked to it, with `members` full
    members transferred in."""
    record = w.start("party_organization", {"name": "乐探机器人工作室",
                                            "social_organization": org}, COMMITTEE)
    w.link(record, org, "social_organization", actor=COMMITTEE)
    for n in range(members):
        transfer_in(w, record, f"党员{n}")
    w.fire(record, "register_without_branch", {"registered_on": w.today}, actor=COMMITTEE)
    return record


def evaluated(w: Community, org: str, result: str = "good") -> None:
    w.fire(org, "record_evaluation", {"evaluated_on": w.today, "result": result,
                                      "services_as_agreed": True,
                                      "effect_achieved": "achieved"}, actor=COMMITTEE)


def final(w: Community, org: str, result: str) -> None:
    w.fire(org, "record_final_result", {"evaluated_on": w.today, "result": result,
                                        "services_as_agreed": True,
                                        "effect_achieved": "achieved"}, actor=COMMITTEE)


def test_the_selection_queue_follows_the_party_record_in_the_same_call(w: Community) -> None:
    # Given two organizations waiting for selection, the later one with a party-organization
    # record that has no members yet
    w.advance(to=at(2024, 3, 4))
    science = apply_for_incubation(w, "自然科学馆")
    w.advance(timedelta(days=1))
    letan = apply_for_incubation(w, "乐探机器人工作室")
    record = w.start("party_organization", {"name": "乐探机器人工作室",
                                            "social_organization": letan}, COMMITTEE)
    w.link(record, letan, "social_organization", actor=COMMITTEE)
    w.fire(record, "register_without_branch", {"registered_on": w.today}, actor=COMMITTEE)

    def queue() -> list[tuple[str, float]]:
        waiting, _ = w.service.list_cases(workflow_id="social_org_incubation",
                                          state="selection", order="priority")
        return [(case.id, case.priority) for case in waiting]

    assert queue() == [(science, 0.0), (letan, 0.0)]
    # When a member's membership is transferred in: only the member's record is changed by
    # the caller, the party record moves to "has members" by itself
    transfer_in(w, record, "黄敏")
    assert w.state(record) == "has_members"
    # Then the organization with party members comes first, without an event of its own
    # (its history shows only the link the party record made, written on both records)
    assert queue() == [(letan, 1.0), (science, 0.0)]
    assert [(e.kind, e.input.get("direction")) for e in w.history(letan)] == [
        ("start", None), ("link", "incoming")]
    # and when the party record is closed, it falls back
    w.fire(record, "close", {"reason": "党员组织关系转出"}, actor=COMMITTEE)
    assert queue() == [(science, 0.0), (letan, 0.0)]


def test_an_organization_is_selected_confirmed_and_cultivated_with_the_four_ones(
        w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    letan = apply_for_incubation(w, "乐探机器人工作室")

    # When the committee leaves it unanswered for five working days, it is overdue
    w.advance(to=at(2024, 3, 11, 12))
    assert w.overdue(letan) == ["selection:reply_due"]
    # and selecting it without checking the abnormal-activity lists is refused
    unchecked = w.refused_fire(letan, "select", {"not_on_abnormal_lists": False},
                               actor=COMMITTEE)
    assert (unchecked.zh, unchecked.en) == designers_refusal("social_org_incubation", "select")
    w.fire(letan, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE)
    assert w.data(letan)["selected_on"] == "2024-03-11"

    # When the agreement is signed: the services, the sessions and the effect, and the four
    # ones it promises: the premises, the amount, the instructor by name, and by when
    empty = w.refused_fire(letan, "sign_agreement", actor=COMMITTEE)
    assert {e["field"] for e in empty.details["errors"]} == {
        "services", "activity_sessions", "expected_effect", "agreement_date", "venue",
        "startup_funds_yuan", "instructor", "resources_due"}
    w.advance(to=at(2024, 3, 15))
    w.fire(letan, "sign_agreement", agreement(w, sessions=36), actor=COMMITTEE)
    data = w.data(letan)
    assert (data["venue"], data["startup_funds_yuan"], data["instructor"]) == (
        "社区青少年活动室", 10000.0, "陈红")

    # Then three of the four ones are given in time, the instructor is not
    for item in ("venue", "startup_funds", "incubation_plan"):
        w.tick(letan, item, FOUR_ONES[item], actor=COMMITTEE)
    w.advance(to=at(2024, 4, 15, 12))
    # and the deadline records the four ones as late
    assert w.data(letan)["four_ones_late"] is True
    late = [e for e in w.history(letan) if e.trigger == "four_ones_overdue"]
    assert [e.actor for e in late] == [TIMER]
    # and leaving cultivation waits for the missing one, named
    evaluated(w, letan)
    missing = w.refused_fire(letan, "begin_final_evaluation", actor=COMMITTEE)
    assert (missing.code, missing.details["missing"]) == ("checklist_incomplete",
                                                          ["party_instructor"])


def test_the_four_ones_given_in_time_are_not_recorded_late(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = in_cultivation(w)
    w.advance(timedelta(days=40))
    assert w.data(org)["four_ones_late"] is False


def test_services_and_activities_are_recorded_against_the_agreement_and_evaluated(
        w: Community) -> None:
    # Given an organization whose agreement promises 4 activity sessions
    w.advance(to=at(2024, 3, 4))
    org = in_cultivation(w, sessions=4)
    # When it delivers 3 activities and a home service, each with its evidence
    deliver(w, org, 3)
    deliver(w, org, 1, people=2, kind="service")
    data = w.data(org)
    assert (data["activities_delivered"], data["services_delivered"], data["people_served"]) \
        == (3, 1, 62)
    # Then the evaluation records 75% of the agreed sessions and the party-building rung
    evaluated(w, org)
    data = w.data(org)
    assert (data["delivery_percent"], data["party_building_rung"]) == (75, "no_members")
    # and a delivery dated before the agreement, or tomorrow, is refused
    w.refuses_dates_outside(org, "record_delivery", {
        "kind": "activity", "title": "课", "people_served": 5, "evidence": "签到表"},
        "delivered_on", data["agreement_date"], actor=CASEWORKER)


def test_graduation_needs_the_agreed_sessions_delivered(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = in_cultivation(w, sessions=4)
    deliver(w, org, 3)
    evaluated(w, org)
    w.fire(org, "begin_final_evaluation", actor=COMMITTEE)
    final(w, org, "passed")
    # When 3 of 4 sessions were delivered, it cannot graduate
    short = w.refused_fire(org, "graduate", actor=COMMITTEE)
    assert (short.zh, short.en) == ("协议活动场次须完成100%才能出壳：约定4场，已开展3场。",
                                    "100% of the agreed sessions must be delivered to graduate: "
                                    "3 of 4.")
    # and a community that asks for 75% lets it graduate
    w.service.set_parameter("social_org_incubation", "min_delivery_percent", 75,
                            community=COMMUNITY)
    w.fire(org, "graduate", actor=COMMITTEE)
    assert w.case(org).outcome == "graduated"


def test_graduation_can_require_the_party_building_rung(w: Community) -> None:
    # Given a community that requires a branch of its own before graduation
    w.service.set_parameter("social_org_incubation", "graduation_party_rung", 2,
                            community=COMMUNITY)
    w.advance(to=at(2024, 3, 4))
    org = in_cultivation(w, sessions=1)
    record = party_record(w, org, members=2)
    deliver(w, org, 1)
    evaluated(w, org)
    # then the evaluation shows its rung: party members, no branch yet
    assert w.data(org)["party_building_rung"] == "has_members"
    w.fire(org, "begin_final_evaluation", actor=COMMITTEE)
    final(w, org, "passed")
    # When it would graduate with members but no branch, it is refused
    assert w.refused_fire(org, "graduate", actor=COMMITTEE).zh == (
        "本社区要求出壳时已成立独立党支部（按关联的党组织孵化档案）。")
    # and with "members and an instructor" it may
    w.service.set_parameter("social_org_incubation", "graduation_party_rung", 1,
                            community=COMMUNITY)
    done = w.fire(org, "graduate", actor=COMMITTEE)
    # Then its party-organization record is handed over in the same call, as the system
    assert [(e.case_id, e.trigger, e.actor) for e in done.automatic] == [
        (record, "organization_graduated", AUTO)]
    assert (w.state(record), w.case(record).outcome) == ("handed_over", "handed_over")
    assert w.data(record)["handed_over_on"] == w.today


def test_an_organization_that_exits_closes_its_party_organization_record(
        w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = in_cultivation(w)
    record = party_record(w, org, members=1)
    # When it is removed and returns its premises
    w.fire(org, "remove", {"reason": "未按协议开展服务"}, actor=COMMITTEE)
    w.tick(org, "premises_returned", "活动室钥匙已交还", actor=CASEWORKER)
    w.fire(org, "close_exit", actor=CASEWORKER)
    # Then the party-organization record is closed too, with its reason, by the system
    closing = w.last(record)
    assert (closing.trigger, closing.actor, closing.to_state) == ("organization_exited",
                                                                  AUTO, "closed")
    assert w.data(record)["closing_reason"] == "所在社会组织退出孵化"


def test_an_organization_renewed_once_then_failing_returns_its_premises_and_exits(
        w: Community) -> None:
    # Given a psychology studio in cultivation since March 2024 with the four ones
    w.advance(to=at(2024, 3, 4))
    yijia = in_cultivation(w, "熠家心理工作室", sessions=2)
    deliver(w, yijia, 2)
    w.advance(to=at(2024, 9, 20))
    evaluated(w, yijia)

    # When the incubation period of one year ends, the timer moves it to the final evaluation
    w.advance(to=at(2025, 3, 12, 12))
    assert w.state(yijia) == "final_evaluation"
    moved = [e for e in w.history(yijia) if e.trigger == "incubation_period_ends"]
    assert [(e.actor, e.role) for e in moved] == [(TIMER, None)]

    # When the final result is "renew", a renewal dated before it is refused
    final(w, yijia, "renew")
    renewal = {"activity_sessions": 2, "resources_due": w.today}
    early = w.refused_fire(yijia, "renew", {**renewal,
                                            "agreement_date": day_before(w.today)},
                           actor=COMMITTEE)
    assert early.zh == f"续签日期（{day_before(w.today)}）不能早于终期评估日期（{w.today}）。"
    w.fire(yijia, "renew", {**renewal, "agreement_date": w.today}, actor=COMMITTEE)
    # then a new period begins: delivery counted afresh, the four ones confirmed afresh
    data = w.data(yijia)
    assert (w.state(yijia), data["renewals"], data["activities_delivered"]) == (
        "cultivation", 1, 0)
    for item, evidence in FOUR_ONES.items():
        w.tick(yijia, item, f"续驻：{evidence}", actor=COMMITTEE)
    w.advance(to=at(2025, 9, 20))
    evaluated(w, yijia, "poor")

    # When the second period ends, a second renewal is refused by the local cap
    w.advance(to=at(2026, 3, 16))
    final(w, yijia, "renew")
    assert w.refused_fire(yijia, "renew", {**renewal, "agreement_date": w.today},
                          actor=COMMITTEE).zh == "已续驻1次，达到本地允许的续驻次数（1次）。"
    # and failing, it is removed, and is overdue after fifteen working days
    final(w, yijia, "failed")
    w.fire(yijia, "remove", {"reason": "终期评估未通过"}, actor=COMMITTEE)
    w.advance(timedelta(days=24))
    assert w.case(yijia).overdue
    w.tick(yijia, "premises_returned", "沙盘室钥匙已交还", actor=CASEWORKER)
    w.fire(yijia, "close_exit", actor=CASEWORKER)
    assert w.case(yijia).outcome == "exited"


def test_every_typed_date_of_the_incubation_is_bounded(w: Community) -> None:
    w.advance(to=at(2024, 3, 4))
    org = apply_for_incubation(w, "青禾社工")
    w.fire(org, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE)
    w.advance(timedelta(days=7))
    w.refuses_dates_outside(org, "sign_agreement", agreement(w), "agreement_date",
                            w.data(org)["selected_on"], actor=COMMITTEE)
    due = w.refused_fire(org, "sign_agreement", {
        **agreement(w), "resources_due": day_before(w.today)}, actor=COMMITTEE)
    assert due.zh == f"“四个一”落实期限（{day_before(w.today)}）不能早于签订日期（{w.today}）。"
    w.fire(org, "sign_agreement", agreement(w), actor=COMMITTEE)
    for item, evidence in FOUR_ONES.items():
        w.tick(org, item, evidence, actor=COMMITTEE)
    w.advance(timedelta(days=30))
    evaluation = {"result": "good", "services_as_agreed": True, "effect_achieved": "achieved"}
    w.refuses_dates_outside(org, "record_evaluation", evaluation, "evaluated_on",
                            w.data(org)["agreement_date"], actor=COMMITTEE)
    evaluated(w, org)
    w.fire(org, "begin_final_evaluation", actor=COMMITTEE)
    w.refuses_dates_outside(org, "record_final_result", {**evaluation, "result": "passed"},
                            "evaluated_on", w.data(org)["agreement_date"], actor=COMMITTEE)
