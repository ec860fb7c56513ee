"""Co-building agreements (共建联建协议) through the one door: the four joint terms, joint
activities, the annual review, renewal, and dates that cannot be backdated."""

from __future__ import annotations

from datetime import timedelta

from scenarios.conftest import (
    CASEWORKER,
    COMMITTEE,
    COMMUNITY,
    TIMER,
    Community,
    at,
    designers_refusal,
)

TERMS = (("organization_building", "结对共建"), ("joint_activities", "每周绘本阅读"),
         ("shared_resources", "省图书馆金洲分馆"), ("member_management", "在职党员到社区报到"))


def proposed(w: Community) -> str:
    deal = w.start("co_building_agreement", {"unit_name": "金山幼儿园",
                                             "scope": "within_area"}, COMMITTEE)
    w.fire(deal, "draft_terms", actor=COMMITTEE)
    return deal


def test_a_co_building_agreement_is_reviewed_every_year_and_renewed(w: Community) -> None:
    # Given a community whose agreements run two years, and a proposal to co-build with
    # the Jinshan kindergarten
    w.service.set_parameter("co_building_agreement", "agreement_term", "P2Y",
                            community=COMMUNITY)
    w.advance(to=at(2024, 5, 6))
    deal = proposed(w)

    # When it is signed before the four joint terms are written, it is refused
    early = w.refused_fire(deal, "sign", {"signed_on": w.today, "planned_activities": 40},
                           actor=COMMITTEE)
    assert early.code == "checklist_incomplete"
    for item, evidence in TERMS:
        w.tick(deal, item, evidence, actor=COMMITTEE)
    w.advance(to=at(2024, 5, 10))
    w.fire(deal, "sign", {"signed_on": w.today, "planned_activities": 40}, actor=COMMITTEE)
    assert w.data(deal)["expires_on"] == "2026-05-10"

    # Then activities are recorded, and a review can be recorded only when one is due
    w.fire(deal, "record_activity", {"held_on": w.today, "title": "阅读进社区，书香飘万家"},
           actor=CASEWORKER)
    not_due = w.refused_fire(deal, "record_annual_review",
                             {"result": "effective", "summary": "—"}, actor=COMMITTEE)
    assert (not_due.zh, not_due.en) == designers_refusal("co_building_agreement",
                                                         "record_annual_review")
    w.advance(to=at(2025, 5, 10, 12))
    assert w.data(deal)["review_due"] is True
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "每周一次，孩子踊跃"},
           actor=COMMITTEE)

    # When the term ends, the agreement moves to renewal by itself, and renewal waits for
    # the term's review
    w.advance(to=at(2026, 5, 10, 12))
    assert w.state(deal) == "expiring"
    assert w.last(deal).actor == TIMER
    unreviewed = w.refused_fire(deal, "renew", {"renewed_on": w.today,
                                                "planned_activities": 40}, actor=COMMITTEE)
    assert unreviewed.zh == "续签前须先完成本期的年度评估。"
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "两年总结"},
           actor=COMMITTEE)
    w.fire(deal, "renew", {"renewed_on": w.today, "planned_activities": 45}, actor=COMMITTEE)

    # Then it is in force for another term
    data = w.data(deal)
    assert (w.state(deal), data["renewals"], data["expires_on"]) == ("in_force", 1,
                                                                     "2028-05-10")


def test_the_dates_of_an_agreement_follow_the_events_before_them(w: Community) -> None:
    w.advance(to=at(2024, 5, 6))
    deal = proposed(w)
    for item, evidence in TERMS:
        w.tick(deal, item, evidence, actor=COMMITTEE)
    w.advance(timedelta(days=4))
    # the signature: not before the terms were drafted, not in the future
    w.refuses_dates_outside(deal, "sign", {"planned_activities": 4}, "signed_on",
                            w.data(deal)["terms_drafted_on"], actor=COMMITTEE)
    w.fire(deal, "sign", {"signed_on": w.today, "planned_activities": 4}, actor=COMMITTEE)
    w.advance(timedelta(days=10))
    # a joint activity: not before the signature
    w.refuses_dates_outside(deal, "record_activity", {"title": "讲座"}, "held_on",
                            w.data(deal)["signed_on"], actor=CASEWORKER)
    # a renewal: not before the expiry
    w.advance(to=at(2027, 5, 10, 12))
    assert w.state(deal) == "expiring"
    w.fire(deal, "record_annual_review", {"result": "effective", "summary": "三年总结"},
           actor=COMMITTEE)
    w.refuses_dates_outside(deal, "renew", {"planned_activities": 4}, "renewed_on",
                            w.data(deal)["expired_on"], actor=COMMITTEE)
