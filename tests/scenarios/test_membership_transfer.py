"""Transfer of membership in (党员组织关系转入) through the one door: a member who joined
elsewhere arrives with their true dates, reports within the letter's validity, and a
probationary member's probation continues here."""

from __future__ import annotations

from datetime import timedelta

from scenarios.conftest import (
    HIGHER,
    SECRETARY,
    TIMER,
    Community,
    at,
)

LETTER = {"from_organization": "中共福州市鼓楼区某医院支部委员会",
          "letter_number": "闽鼓组转〔2024〕31号"}


def _letter(w: Community, name: str, **values: object) -> str:
    return w.start("membership_transfer", {"name": name, "birth_date": "1985-03-08",
                                           **LETTER, **values}, SECRETARY)


def test_a_full_member_arrives_with_the_dates_of_her_admission_and_conversion(
        w: Community) -> None:
    # Given the letter of a member admitted in 2010 and converted in 2011, issued today
    w.advance(to=at(2024, 4, 1))
    member = _letter(w, "王磊", status_on_arrival="full_member", joined_on="2010-07-01",
                     full_member_since="2011-07-01", letter_issued_on=w.today)
    # When she reports a week later and the branch accepts her
    w.advance(timedelta(days=7))
    w.fire(member, "accept", {"reported_on": w.today}, actor=SECRETARY)
    w.tick(member, "records_received", "党员档案已转入", actor=SECRETARY)
    # Then she is a full member here with her own dates, not the date of the transfer
    case = w.case(member)
    assert case.state == "full_member"
    assert (case.data["joined_on"], case.data["full_member_since"],
            case.data["reported_on"]) == ("2010-07-01", "2011-07-01", "2024-04-08")


def test_dates_that_contradict_each_other_are_refused_on_arrival(w: Community) -> None:
    w.advance(to=at(2024, 4, 1))
    wrong = (
        # admitted before she was 18
        ({"joined_on": "2002-07-01", "full_member_since": "2003-07-01"},
         "入党时须年满十八周岁：请核对出生日期和入党日期。"),
        # converted less than a year after admission
        ({"joined_on": "2010-07-01", "full_member_since": "2011-03-01"},
         "转正日期（2011-03-01）不能早于入党满一年（入党日期2010-07-01）：请核对介绍信上的日期。"),
        # converted after the letter was issued
        ({"joined_on": "2023-07-01", "full_member_since": "2024-07-02"},
         f"转正日期（2024-07-02）不能晚于介绍信开具日期（{w.today}）。"),
    )
    for dates, reason in wrong:
        member = _letter(w, "王磊", status_on_arrival="full_member", letter_issued_on=w.today,
                         **dates)
        refusal = w.refused_fire(member, "accept", {"reported_on": w.today}, actor=SECRETARY)
        assert refusal.zh == reason, dates
    # and a report before the letter was issued, or tomorrow, is refused too
    member = _letter(w, "张丽", status_on_arrival="full_member", joined_on="2014-06-30",
                     full_member_since="2015-06-30", letter_issued_on=w.today)
    w.refuses_dates_outside(member, "accept", {}, "reported_on", w.today, actor=SECRETARY)


def test_a_member_who_does_not_report_while_the_letter_is_valid_is_marked_overdue(
        w: Community) -> None:
    # Given a letter issued on 1 April 2024, valid three months
    w.advance(to=at(2024, 4, 1))
    member = _letter(w, "刘洋", status_on_arrival="full_member", joined_on="2013-07-01",
                     full_member_since="2014-07-01", letter_issued_on=w.today)
    # When three months pass without her reporting
    w.advance(to=at(2024, 7, 2))
    # then the record is overdue, and the branch returns the letter
    assert w.case(member).overdue
    assert w.last(member).actor == TIMER
    w.fire(member, "return_letter", {"reason": "逾期未报到，介绍信退回原单位"}, actor=SECRETARY)
    assert w.case(member).outcome == "not_reported"


def test_a_probationary_member_transferred_in_is_converted_by_the_receiving_branch(
        w: Community) -> None:
    # Given a probationary member admitted on 10 January 2024 elsewhere, arriving in March
    w.advance(to=at(2024, 3, 4))
    member = _letter(w, "吴芳", status_on_arrival="probationary", joined_on="2024-01-10",
                     letter_issued_on="2024-03-01")
    w.fire(member, "accept", {"reported_on": w.today}, actor=SECRETARY)
    assert w.state(member) == "probationary"
    for item in ("assigned_to_group", "conversion_applied"):
        w.tick(member, item, "记录在案", actor=SECRETARY)

    # When her year of probation ends, counted from her admission elsewhere
    w.advance(to=at(2025, 1, 10, 12))
    assert w.state(member) == "conversion_vote"
    # then a meeting dated before the end of probation is refused
    vote = {"entitled": 7, "present": 6, "yes_votes": 6}
    early = w.refused_fire(member, "hold_conversion_vote",
                           {"meeting_date": "2025-01-09", **vote}, actor=SECRETARY)
    assert early.zh == "会议日期（2025-01-09）不能早于预备期满之日（2025-01-10）。"
    # and the branch's vote and the higher committee's approval make her a full member
    w.advance(timedelta(days=4))
    w.fire(member, "hold_conversion_vote", {"meeting_date": w.today, **vote}, actor=SECRETARY)
    w.advance(timedelta(days=10))
    w.fire(member, "approve_conversion", {"approved_on": w.today}, actor=HIGHER)
    data = w.data(member)
    assert (w.state(member), data["full_member_since"]) == ("full_member", "2025-01-10")


def test_a_transfer_out_cannot_precede_the_arrival(w: Community) -> None:
    w.advance(to=at(2024, 4, 1))
    member = _letter(w, "郭强", status_on_arrival="full_member", joined_on="2011-06-20",
                     full_member_since="2012-06-20", letter_issued_on=w.today)
    w.fire(member, "accept", {"reported_on": w.today}, actor=SECRETARY)
    w.tick(member, "records_received", "档案", actor=SECRETARY)
    w.advance(timedelta(days=60))
    out = {"transfer_letter": "闽仓组转〔2024〕88号"}
    w.refuses_dates_outside(member, "transfer_out", out, "transferred_on",
                            w.data(member)["reported_on"], actor=SECRETARY)
    w.fire(member, "transfer_out", {**out, "transferred_on": w.today}, actor=SECRETARY)
    assert w.case(member).outcome == "transferred_out"
