"""`hatchery demo`: the Jinzhou demo community, loaded through the real transitions.

The demo is loaded once for the module by the command itself, on a fresh SQLite file, up to
its default end (October 2026); the story told forward (to June 2027) is loaded once more.
Each test then reads what an operator or auditor would find there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import store_snapshot
from typer.testing import CliRunner

from cli.main import app
from engine.clock import FrozenClock
from engine.contrib.demo import (
    DEMO_ACTORS,
    DEMO_COMMUNITY,
    DEMO_END,
    DEMO_START,
    STORY_END,
    summarise,
)
from engine.core.decision import Actor
from engine.service import CaseService, CaseView, build_service, verify_store
from engine.settings import Settings

SYSTEM = {"system:timer", "system:auto"}


def _run_demo(url: str, data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["demo", *args], env={"DATABASE_URL": url,
                                                           "HATCHERY_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The database URL the demo was loaded into, what the command said, and its data dir."""
    data_dir = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{data_dir / 'hatchery.db'}"
    yield url, _run_demo(url, data_dir), data_dir


def _service(url: str, at: object) -> CaseService:
    """The service on the demo's database, with the demo's data folder (its chain key)."""
    data_dir = Path(url.removeprefix("sqlite:///")).parent
    return build_service(Settings(database_url=url, HATCHERY_DATA_DIR=data_dir),
                         FrozenClock(at))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def service(loaded: tuple[str, str, Path]) -> Iterator[CaseService]:
    made = _service(loaded[0], DEMO_END)
    yield made
    made.engine.dispose()


def _cases(service: CaseService) -> list[CaseView]:
    found, cursor = service.list_cases(community_prefix=DEMO_COMMUNITY, limit=1000)
    assert cursor is None
    return found


@pytest.fixture(scope="module")
def cases(service: CaseService) -> list[CaseView]:
    return _cases(service)


def by_title(cases: list[CaseView], workflow_id: str) -> dict[str | None, CaseView]:
    return {c.title: c for c in cases if c.workflow_id == workflow_id}


def test_the_command_loads_the_demo_on_a_fresh_database(loaded: tuple[str, str, Path],
                                                        service: CaseService) -> None:
    summary = summarise(service, DEMO_COMMUNITY, loaded=True)
    assert loaded[1].startswith(f"Loaded the demo community {DEMO_COMMUNITY}: "
                                f"{summary.cases} cases, {summary.events} events")
    assert summary.by_workflow == {
        "co_building_agreement": 3, "committee_election": 5, "member_development": 3,
        "membership_transfer": 8, "party_organization": 3, "self_organization": 9,
        "social_org_incubation": 6}


def test_the_organizations_the_article_names_are_at_realistic_stages(
        service: CaseService, cases: list[CaseView]) -> None:
    organizations = by_title(cases, "social_org_incubation")
    assert {name: c.state for name, c in organizations.items()} == {
        "上古健康服务中心": "cultivation",
        "熠家心理工作室": "cultivation",
        "乐探机器人工作室": "graduated",
        "青禾社工": "cultivation",
        "科普工作室": "cultivation",
        "番薯乐园自然科学推广中心": "confirmation",
    }
    science = organizations["科普工作室"]
    assert [item for item, entry in science.checklist.items() if not entry["ticked"]] == [
        "party_instructor"]
    assert science.data["four_ones_late"] is True
    late = organizations["番薯乐园自然科学推广中心"]
    assert [e.input["timer"] for e in service.history(late.id) if e.kind == "overdue"] == [
        "selection:reply_due"]


def test_the_evaluation_shows_the_party_building_rung_and_the_delivery_against_the_agreement(
        service: CaseService, cases: list[CaseView]) -> None:
    centre = by_title(cases, "social_org_incubation")["上古健康服务中心"]
    data = centre.data
    assert (data["activity_sessions"], data["activities_delivered"]) == (48, 46)
    assert (data["delivery_percent"], data["party_building_rung"]) == (95, "mechanism")
    assert (data["venue"], data["startup_funds_yuan"], data["instructor"]) == (
        "社区党群服务中心一楼活动室", 20000.0, "陈红")
    evaluations = [e for e in service.history(centre.id) if e.trigger == "record_evaluation"]
    # (an event's changes name what changed: the rung at the first and at the last)
    assert [e.changes.get("party_building_rung") for e in evaluations] == [
        "independent_branch", None, None, "mechanism"]
    # and its place in the queue comes from its party record, not from a typed number
    assert centre.priority == 2
    assert "party_member_count" not in data


def test_a_graduated_organization_hands_its_party_record_over(
        service: CaseService, cases: list[CaseView]) -> None:
    studio = by_title(cases, "social_org_incubation")["乐探机器人工作室"]
    record = by_title(cases, "party_organization")["乐探机器人工作室"]
    assert (studio.outcome, record.outcome) == ("graduated", "handed_over")
    graduated = next(e for e in service.history(studio.id) if e.trigger == "graduate")
    handed = service.history(record.id)[-1]
    assert (handed.trigger, handed.actor, handed.at) == ("organization_graduated",
                                                         "system:auto", graduated.at)


def test_the_health_service_centre_has_its_independent_branch_with_a_mechanism(
        service: CaseService, cases: list[CaseView]) -> None:
    branch = by_title(cases, "party_organization")["上古健康服务中心"]
    assert branch.state == "mechanism_established"
    assert branch.data["branch_name"] == "中共福州市仓山区上古健康服务中心支部委员会"
    moves = [(e.trigger, e.actor) for e in service.history(branch.id)
             if e.kind == "transition" and e.from_state != e.to_state]
    assert moves == [
        ("register_without_branch", "chen.hong"),
        ("first_member_joins", "system:auto"),
        ("join_joint_branch", "chen.hong"),
        ("reaches_three_full_members", "system:auto"),
        ("apply_for_branch", "chen.hong"),
        ("approve_branch", "liu.jian"),
        ("elect_branch", "huang.min"),
        ("recognise_mechanism", "system:auto"),
    ]
    # the May 2025 themed party day was missed; twelve months on schedule followed
    data = branch.data
    assert (data["missed_months"], data["mechanism_since"]) == (1, "2026-06-08")
    assert by_title(cases, "party_organization")["青禾社工"].state == "joint_branch"


def _people(service: CaseService, branch: CaseView) -> list[CaseView]:
    return [service.get_case(link["case_id"]) for link in service.get_case(branch.id).links
            if link["workflow_id"] in ("member_development", "membership_transfer")]


def test_the_centre_has_6_full_members_1_probationary_member_and_2_activists(
        service: CaseService, cases: list[CaseView]) -> None:
    people = _people(service, by_title(cases, "party_organization")["上古健康服务中心"])
    assert Counter((p.workflow_id, p.state) for p in people) == {
        ("membership_transfer", "full_member"): 6,
        ("member_development", "probationary"): 1,
        ("member_development", "activist"): 2}
    # members transferred in arrive with their true dates, long before the transfer
    for person in people:
        if person.workflow_id == "membership_transfer":
            assert person.data["full_member_since"] < person.data["reported_on"]
            assert person.data["joined_on"] < person.data["full_member_since"]
    # the probationary member was developed inside, through all the steps
    [chen] = [p for p in people if p.state == "probationary"]
    assert [e.trigger for e in service.history(chen.id) if e.kind == "transition"
            and e.from_state != e.to_state] == [
        "record_talk", "recommend_activist", "notice_ends", "decide_activist",
        "propose_development_target", "notice_ends", "decide_development_target",
        "submit_for_review", "pass_branch_review", "pass_pre_review", "notice_ends",
        "hold_admission_vote", "complete_interview", "approve_admission"]
    assert chen.data["thought_reports_missed"] == 0


def test_co_building_units_and_the_big_party_committee(cases: list[CaseView]) -> None:
    agreements = by_title(cases, "co_building_agreement")
    assert set(agreements) == {"金山幼儿园", "福州大学", "福建农林大学"}
    assert all(c.state == "in_force" for c in agreements.values())
    kindergarten = agreements["金山幼儿园"].data
    assert kindergarten["scope"] == "within_area" and kindergarten["activities_held"] >= 60
    members = [c for c in cases if c.workflow_id == "committee_election"]
    assert len(members) == 5 and all(c.state == "serving" for c in members)


def test_the_nine_volunteer_teams_gather_over_800_volunteers(cases: list[CaseView]) -> None:
    teams = [c for c in cases if c.workflow_id == "self_organization"]
    assert len(teams) == 9 and all(c.state == "recognised" for c in teams)
    assert sum(c.data["members"] for c in teams) > 800


def test_the_history_spans_two_years_and_every_chain_verifies(service: CaseService) -> None:
    events, cursor = service.list_events(community_prefix=DEMO_COMMUNITY, limit=1000)
    while cursor is not None:
        more, cursor = service.list_events(community_prefix=DEMO_COMMUNITY, limit=1000,
                                           cursor=cursor)
        events += more
    assert events[0].at >= DEMO_START and events[-1].at <= DEMO_END
    assert (events[-1].at - events[0].at).days > 700
    assert {e.actor for e in events} <= DEMO_ACTORS | SYSTEM
    assert verify_store(service.engine) == []


def test_loading_twice_writes_nothing_and_says_so(loaded: tuple[str, str, Path]) -> None:
    url, _, data_dir = loaded
    engine = sa.create_engine(url)
    try:
        before = store_snapshot(engine)
        again = _run_demo(url, data_dir)
        assert store_snapshot(engine) == before
    finally:
        engine.dispose()
    assert "already loaded" in again and "nothing was written" in again


def test_on_a_database_whose_jinzhou_path_holds_other_cases_the_demo_goes_beside_it(
        tmp_path: Path) -> None:
    # Given a database where someone has started a case of their own at the Jinzhou path
    url = f"sqlite:///{tmp_path / 'hatchery.db'}"
    own = _service(url, DEMO_START)
    try:
        own.start_case("self_organization", {"name": "金洲社区书法社", "kind": "arts",
                                             "leader": "林老师", "founded_on": "2024-10-01"},
                       actor=Actor("admin", frozenset({"admin"})), community=DEMO_COMMUNITY)
    finally:
        own.engine.dispose()
    # When the demo is loaded (as `DEMO=1 make run` does, with no flag)
    said = _run_demo(url, tmp_path, "--until", "2025-01-31")
    # Then it goes beside the path, says where, and leaves the other case alone
    beside = f"{DEMO_COMMUNITY}-demo"
    assert f"the demo goes in {beside} instead" in said
    assert f"Loaded the demo community {beside}" in said
    again = _run_demo(url, tmp_path)
    assert f"the demo is in {beside} instead" in again and "nothing was written" in again


def test_a_date_outside_the_story_is_refused_with_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--until", "2030-01-01"], env={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "HATCHERY_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "the story runs from 2024-11-04 to 2027-06-30" in result.output


# ---- the story told forward -----------------------------------------------------------------


@pytest.fixture(scope="module")
def forward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseService]:
    data_dir = tmp_path_factory.mktemp("forward")
    url = f"sqlite:///{data_dir / 'hatchery.db'}"
    _run_demo(url, data_dir, "--until", f"{STORY_END:%Y-%m-%d}")
    made = _service(url, STORY_END)
    yield made
    made.engine.dispose()


def test_past_april_2027_chen_jing_is_converted_and_the_branch_elects_a_committee(
        forward: CaseService) -> None:
    cases = _cases(forward)
    branch = by_title(cases, "party_organization")["上古健康服务中心"]
    chen = by_title(cases, "member_development")["陈静"]
    # 陈静's probation ended by its timer on 10 April 2027 and her conversion was approved
    assert (chen.state, chen.data["full_member_since"]) == ("full_member", "2027-04-10")
    # which made seven full members: the branch had to elect a committee, and did
    moves = [(e.trigger, e.to_state, e.actor) for e in forward.history(branch.id)
             if e.at.year == 2027 and e.from_state != e.to_state]
    assert moves == [("committee_needed", "committee_due", "system:auto"),
                     ("elect_committee", "mechanism_established", "huang.min")]
    people = _people(forward, branch)
    assert sum(p.state == "full_member" for p in people) == 7
    assert (branch.data["has_committee"], branch.data["committee_size"]) == (True, 3)
