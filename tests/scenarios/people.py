"""People in the scenarios: applicants developed through the five stages, and members whose
membership is transferred in, each linked to their organization's party-organization record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.timers.calendar import CHINA_TZ
from scenarios.conftest import HIGHER, SECRETARY, Community

DECIDED_BY_MEETING = "branch_general_meeting"


def apply_for_membership(w: Community, name: str, *, born: str = "1994-05-18",
                         organization: str | None = None) -> str:
    """An applicant handing in the application today, linked to the organization's record."""
    values: dict[str, Any] = {"name": name, "birth_date": born, "application_date": w.today}
    if organization is not None:
        values["party_organization"] = organization
    person = w.start("member_development", values, SECRETARY)
    if organization is not None:
        w.link(person, organization, "party_organization", actor=SECRETARY)
    return person


def make_activist(w: Community, person: str) -> None:
    """The talk a week after the application, the notice, and the branch's decision."""
    w.advance(timedelta(days=7))
    w.fire(person, "record_talk", {"talk_date": w.today}, actor=SECRETARY)
    w.fire(person, "recommend_activist", {"method": "party_members"}, actor=SECRETARY)
    w.until_left(person, "activist_notice")
    w.fire(person, "decide_activist", {
        "decision_date": w.today, "decided_by": DECIDED_BY_MEETING,
        "mentors": ["王芳", "陈明"], "mentors_are_full_members": True}, actor=SECRETARY)
    w.tick(person, "activist_filed", "报社区党委备案", actor=SECRETARY)


def make_development_target(w: Community, person: str) -> None:
    """A year of assessments, the notice, the decision, the review and the training."""
    since = datetime.fromisoformat(w.data(person)["activist_since"]).replace(
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
    w.fire(person, "record_training", {"completed_on": w.today, "days": 3, "hours": 24},
           actor=SECRETARY)


def admit(w: Community, person: str, entitled: int = 5) -> None:
    """Review, notice, the admitting branch meeting and the higher committee's approval."""
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


def convert(w: Community, person: str, entitled: int = 5) -> None:
    """From probation to full membership: the year ends, the notice, the vote, the approval."""
    tick_probation(w, person)
    ends = datetime.fromisoformat(w.data(person)["probation_ends_on"])
    w.advance(to=max(ends.replace(hour=12, tzinfo=CHINA_TZ), w.clock.now()))
    w.until_left(person, "conversion_notice")
    w.fire(person, "hold_conversion_vote", {"meeting_date": w.today, "entitled": entitled,
                                            "present": entitled, "yes_votes": entitled},
           actor=SECRETARY)
    w.advance(timedelta(days=14))
    w.fire(person, "approve_conversion", {"approved_on": w.today}, actor=HIGHER)


def transfer_in(w: Community, organization: str | None, name: str, *,
                joined: str = "2010-07-01", full_since: str | None = "2011-07-01",
                born: str = "1985-03-08", letter_issued: str | None = None) -> str:
    """A member who joined elsewhere: the letter arrives, they report today, the branch
    accepts them with their true dates (a full member unless `full_since` is None)."""
    values: dict[str, Any] = {
        "name": name, "birth_date": born, "joined_on": joined,
        "status_on_arrival": "full_member" if full_since else "probationary",
        "from_organization": "中共福州市鼓楼区某医院支部委员会",
        "letter_number": f"闽鼓组转〔2024〕{len(name)}号",
        "letter_issued_on": letter_issued or w.today}
    if full_since is not None:
        values["full_member_since"] = full_since
    if organization is not None:
        values["party_organization"] = organization
    person = w.start("membership_transfer", values, SECRETARY)
    if organization is not None:
        w.link(person, organization, "party_organization", actor=SECRETARY)
    w.fire(person, "accept", {"reported_on": w.today}, actor=SECRETARY)
    return person
