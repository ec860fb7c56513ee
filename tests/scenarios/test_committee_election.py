"""Part-time committee members (三推一选一承诺) through the one door: three recommendations,
the street committee's review, an election counted on those present, the pledge, a term,
and dates that cannot be backdated."""

from __future__ import annotations

from typing import Any

from scenarios.conftest import (
    CASEWORKER,
    COMMITTEE,
    COMMUNITY,
    STREET,
    TIMER,
    Community,
    at,
)


def candidate(w: Community, name: str = "周敏", **more: Any) -> str:
    return w.start("committee_election", {"candidate_name": name, "unit_name": "金山幼儿园",
                                          "position": "党支部书记", "round_opened_on": w.today,
                                          **more}, COMMITTEE)


def recommended(w: Community, member: str, *sources: str) -> None:
    for source in sources:
        w.fire(member, "record_recommendation", {"source": source, "recommended_on": w.today},
               actor=COMMITTEE)


ALL_SOURCES = ("party_members", "residents", "unit_party_organizations")


def test_a_part_time_member_is_recommended_elected_pledged_and_serves_a_term(
        w: Community) -> None:
    # Given the head of the kindergarten's party branch, put forward in January 2025
    w.advance(to=at(2025, 1, 6))
    member = candidate(w)

    # When only party members and residents have recommended her, she cannot go forward
    recommended(w, member, "party_members", "residents", "residents")
    assert w.data(member)["sources_recommended"] == ["party_members", "residents"]
    two = w.refused_fire(member, "submit_candidate", actor=COMMITTEE)
    assert two.zh == "候选人须获得3个不同来源的推荐（默认党员、居民、辖区单位党组织三方均须推荐）。"
    # and a source the community does not recognise is refused
    w.service.set_parameter("committee_election", "recommendation_sources",
                            "party_members,residents,unit_party_organizations",
                            community=COMMUNITY)
    unknown = w.refused_fire(member, "record_recommendation",
                             {"source": "co_building_units", "recommended_on": w.today},
                             actor=COMMITTEE)
    # (the refusal names the source by its title, never its code)
    assert (unknown.zh, unknown.en) == (
        "本社区的推荐来源不含“共建单位推荐”（推荐来源见流程参数）。",
        'This community\'s recommendation sources do not include "Recommended by co-building '
        'units" (see the workflow\'s parameters).')
    recommended(w, member, "unit_party_organizations")
    w.fire(member, "submit_candidate", actor=COMMITTEE)

    # Then only the street committee reviews, and the election needs four fifths present
    assert w.refused_fire(member, "approve_candidate", actor=COMMITTEE).code == "role_missing"
    w.fire(member, "approve_candidate", actor=STREET)
    assert w.refused_fire(member, "hold_election", {
        "election_date": w.today, "entitled": 126, "present": 95, "yes_votes": 90},
        actor=COMMITTEE).zh == ("选举无效：到会人数须达到应到会有选举权人数的80%"
                                "（应到126人，实到95人）。")
    w.fire(member, "hold_election", {"election_date": w.today, "entitled": 126,
                                     "present": 108, "yes_votes": 104}, actor=COMMITTEE)
    assert w.state(member) == "elected"

    # When she would take office before signing the pledge, it is refused
    unpledged = w.refused_fire(member, "take_office", {"term_start": w.today}, actor=COMMITTEE)
    assert unpledged.zh == "当选后须先签订承诺书才能正式任职。"
    w.tick(member, "pledge_signed", "《兼职委员承诺书》", actor=COMMITTEE)
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
    assert (case.state, case.data["sources_recommended"], case.data["round_opened_on"]) == (
        "recommendation", [], w.today)


def test_the_election_counts_a_majority_of_those_present(w: Community) -> None:
    # Given a candidate before the community party members' meeting: 126 entitled
    w.advance(to=at(2025, 1, 6))
    member = candidate(w)
    recommended(w, member, *ALL_SOURCES)
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    w.fire(member, "approve_candidate", actor=STREET)
    # When 108 are present and 60 vote for her: more than half of those present (54), though
    # not of the entitled (63)
    outcome = w.fire(member, "hold_election", {"election_date": w.today, "entitled": 126,
                                               "present": 108, "yes_votes": 60},
                     actor=COMMITTEE)
    # Then she is elected
    assert outcome.case.state == "elected"


def test_an_election_without_a_majority_of_those_present_ends_the_candidacy(
        w: Community) -> None:
    w.service.set_parameter("committee_election", "street_review", False, community=COMMUNITY)
    w.service.set_parameter("committee_election", "required_sources", 1, community=COMMUNITY)
    w.advance(to=at(2025, 1, 6))
    member = candidate(w, "孙经理", unit_name="石油公司")
    recommended(w, member, "party_members")
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    outcome = w.fire(member, "hold_election", {"election_date": w.today, "entitled": 10,
                                               "present": 10, "yes_votes": 5}, actor=COMMITTEE)
    assert (outcome.case.state, outcome.case.status) == ("not_elected", "closed")
    assert outcome.case.data["closing_reason"] == "赞成票未超过实到会人数的半数，未当选"


def test_a_community_switches_off_the_unconfirmed_steps_of_the_election(w: Community) -> None:
    # Given a community that recognises two sources, no street review and no pledge
    for name, value in (("recommendation_sources", "party_members,unit_party_organizations"),
                        ("required_sources", 2), ("street_review", False),
                        ("pledge_required", False)):
        w.service.set_parameter("committee_election", name, value, community=COMMUNITY)
    w.advance(to=at(2025, 1, 6))
    member = candidate(w, "钱峰", unit_name="金山派出所")
    assert w.refused_fire(member, "record_recommendation",
                          {"source": "residents", "recommended_on": w.today},
                          actor=COMMITTEE).code == "guard_false"
    recommended(w, member, "party_members", "unit_party_organizations")

    # When he is put forward, elected and takes office
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    assert w.state(member) == "election"
    w.fire(member, "hold_election", {"election_date": w.today, "entitled": 10, "present": 10,
                                     "yes_votes": 6}, actor=COMMITTEE)
    w.fire(member, "take_office", {"term_start": w.today}, actor=COMMITTEE)

    # Then he serves without a street review or a pledge on file
    assert w.state(member) == "serving"
    assert "approve_candidate" not in w.triggers(member)


def test_every_date_of_the_election_follows_the_event_before_it(w: Community) -> None:
    w.advance(to=at(2025, 1, 6))
    member = candidate(w)
    # a recommendation: not before the round opened, not in the future
    w.refuses_dates_outside(member, "record_recommendation", {"source": "residents"},
                            "recommended_on", w.today, actor=COMMITTEE)
    w.advance(to=at(2025, 1, 8))
    recommended(w, member, *ALL_SOURCES)
    w.fire(member, "submit_candidate", actor=COMMITTEE)
    w.fire(member, "approve_candidate", actor=STREET)
    w.advance(to=at(2025, 1, 10))
    vote = {"entitled": 126, "present": 108, "yes_votes": 104}
    # the election: not before the last recommendation
    w.refuses_dates_outside(member, "hold_election", vote, "election_date",
                            w.data(member)["last_recommended_on"], actor=COMMITTEE)
    w.fire(member, "hold_election", {**vote, "election_date": w.today}, actor=COMMITTEE)
    w.tick(member, "pledge_signed", "承诺书", actor=COMMITTEE)
    w.advance(to=at(2025, 1, 13))
    # the term: not before the election
    w.refuses_dates_outside(member, "take_office", {}, "term_start",
                            w.data(member)["election_date"], actor=COMMITTEE)
    w.fire(member, "take_office", {"term_start": w.today}, actor=COMMITTEE)
    w.advance(to=at(2025, 4, 15))
    # a joint meeting: not before the term began
    w.refuses_dates_outside(member, "record_joint_meeting", {}, "held_on",
                            w.data(member)["term_start"], actor=CASEWORKER)
