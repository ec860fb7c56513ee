"""Residents' self-organizations (群众自组织) through the one door: the three ones, registration
(登记备案), activities counted, a quiet half-year noticed, and dates that cannot be backdated."""

from __future__ import annotations

from datetime import timedelta

from scenarios.conftest import (
    CASEWORKER,
    COMMITTEE,
    TIMER,
    Community,
    at,
)


def forming(w: Community) -> str:
    return w.start("self_organization", {"name": "金洲社区邻里互助志愿服务队",
                                         "kind": "volunteering", "leader": "王德明",
                                         "founded_on": "2024-02-20"}, COMMITTEE)


def test_a_self_organization_is_registered_with_the_three_ones_and_watched(
        w: Community) -> None:
    # Given a volunteer team being formed with the party committee's guidance
    w.advance(to=at(2024, 3, 1))
    team = forming(w)
    w.tick(team, "charter", "《邻里互助志愿服务队章程》", actor=COMMITTEE)
    w.tick(team, "venue", "社区党群服务中心志愿者之家", actor=COMMITTEE)
    registration = {"recognised_on": w.today, "venue": "志愿者之家", "members": 140}

    # When it is registered with one of the three ones missing, it is refused
    missing = w.refused_fire(team, "recognise", registration, actor=COMMITTEE)
    assert (missing.code, missing.details["missing"]) == ("checklist_incomplete",
                                                          ["incentive_mechanism"])
    w.tick(team, "incentive_mechanism", "志愿服务积分兑换办法", actor=COMMITTEE)
    w.fire(team, "recognise", registration, actor=COMMITTEE)

    # Then its activities are counted, and only a quiet half-year is noticed by the timer
    w.advance(timedelta(days=10))
    w.fire(team, "record_activity", {"held_on": w.today, "title": "邻里互助日",
                                     "participants": 28}, actor=CASEWORKER)
    w.advance(timedelta(days=170))
    assert w.data(team)["quiet_periods"] == 0
    w.advance(timedelta(days=200))
    data = w.data(team)
    assert (data["quiet_periods"], data["activities"], data["participants"]) == (1, 1, 28)
    quiet = [e for e in w.history(team) if e.trigger == "no_recent_activity"]
    assert [e.actor for e in quiet] == [TIMER]

    # When it dissolves, the record ends with the reason
    w.fire(team, "dissolve", {"reason": "负责人迁出，队员并入党员志愿者服务队"}, actor=COMMITTEE)
    assert w.case(team).outcome == "dissolved"


def test_registration_and_activities_cannot_be_backdated(w: Community) -> None:
    w.advance(to=at(2024, 3, 1))
    team = forming(w)
    for item in ("charter", "venue", "incentive_mechanism"):
        w.tick(team, item, "已落实", actor=COMMITTEE)
    registration = {"venue": "志愿者之家", "members": 40}
    w.refuses_dates_outside(team, "recognise", registration, "recognised_on", "2024-02-20",
                            actor=COMMITTEE)
    w.fire(team, "recognise", {**registration, "recognised_on": w.today}, actor=COMMITTEE)
    w.advance(timedelta(days=5))
    w.refuses_dates_outside(team, "record_activity", {"title": "邻里互助日", "participants": 10},
                            "held_on", w.data(team)["recognised_on"], actor=CASEWORKER)
