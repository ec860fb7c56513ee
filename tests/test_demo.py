"""`hatchery demo`: the Jinzhou demo community, loaded through the real transitions.

The demo is loaded once for the module, by the command itself, on a fresh SQLite file;
each test then reads what an operator or auditor would find there.
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
from engine.contrib.demo import DEMO_COMMUNITY, DEMO_END, DEMO_START, summarise
from engine.service.door import CaseService, CaseView, build_service, verify_store
from engine.settings import Settings

DEMO_ACTORS = {"chen.hong", "liu.jian", "xu.li", "huang.min", "wang.fang"}
SYSTEM = {"system:timer", "system:auto"}


def _run_demo(url: str, data_dir: Path) -> str:
    result = CliRunner().invoke(app, ["demo"], env={"DATABASE_URL": url,
                                                    "HATCHERY_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The database URL the demo was loaded into, what the command said, and its data dir."""
    data_dir = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{data_dir / 'hatchery.db'}"
    yield url, _run_demo(url, data_dir), data_dir


@pytest.fixture(scope="module")
def service(loaded: tuple[str, str, Path]) -> Iterator[CaseService]:
    made = build_service(Settings(database_url=loaded[0]), FrozenClock(DEMO_END))
    yield made
    made.engine.dispose()


@pytest.fixture(scope="module")
def cases(service: CaseService) -> list[CaseView]:
    found, cursor = service.list_cases(community_prefix=DEMO_COMMUNITY, limit=1000)
    assert cursor is None
    return found


def by_title(cases: list[CaseView], workflow_id: str) -> dict[str | None, CaseView]:
    return {c.title: c for c in cases if c.workflow_id == workflow_id}


def test_the_command_loads_the_demo_on_a_fresh_database(loaded: tuple[str, str, Path],
                                                        service: CaseService) -> None:
    summary = summarise(service, DEMO_COMMUNITY, loaded=True)
    assert loaded[1].startswith(f"Loaded the demo community {DEMO_COMMUNITY}: "
                                f"{summary.cases} cases, {summary.events} events")
    assert summary.by_workflow == {
        "co_building_agreement": 3, "committee_election": 5, "member_development": 10,
        "party_organization": 2, "self_organization": 9, "social_org_incubation": 6}


def test_the_organizations_the_article_names_are_at_realistic_stages(
        cases: list[CaseView]) -> None:
    organizations = by_title(cases, "social_org_incubation")
    assert {name: c.state for name, c in organizations.items()} == {
        "上古健康服务中心": "graduated",
        "熠家心理工作室": "cultivation",
        "乐探机器人工作室": "graduated",
        "青禾社工": "cultivation",
        "科普工作室": "cultivation",
        "番薯乐园自然科学推广中心": "confirmation",
    }
    assert organizations["熠家心理工作室"].data["renewals"] == 1
    still_missing = organizations["科普工作室"].checklist
    assert [item for item, entry in still_missing.items() if not entry["ticked"]] == [
        "party_instructor"]


def test_the_health_service_centre_has_its_independent_branch_with_a_mechanism(
        service: CaseService, cases: list[CaseView]) -> None:
    branch = by_title(cases, "party_organization")["上古健康服务中心"]
    assert branch.state == "mechanism_established"
    assert branch.data["branch_name"] == "中共福州市仓山区上古健康服务中心支部委员会"
    moves = [(e.trigger, e.actor, e.role) for e in service.history(branch.id)
             if e.kind == "transition" and e.trigger != "record_meeting"]
    assert moves == [
        ("first_member_joins", "system:auto", None),
        ("join_joint_branch", "chen.hong", "party_committee"),
        ("reaches_three_full_members", "system:auto", None),
        ("apply_for_branch", "chen.hong", "party_committee"),
        ("approve_branch", "liu.jian", "street_committee"),
        ("elect_branch", "huang.min", "branch"),
        ("meetings_overdue", "system:timer", None),
        ("recognise_mechanism", "chen.hong", "party_committee"),
    ]
    assert by_title(cases, "party_organization")["青禾社工"].state == "joint_branch"


def test_the_centre_has_6_full_members_1_probationary_member_and_2_activists(
        service: CaseService, cases: list[CaseView]) -> None:
    branch = by_title(cases, "party_organization")["上古健康服务中心"]
    people = [service.get_case(link["case_id"]) for link in service.get_case(branch.id).links
              if link["workflow_id"] == "member_development"]
    assert Counter(p.state for p in people) == {"full_member": 6, "probationary": 1,
                                                 "activist": 2}
    # reached through the real transitions: the probationary member through all the steps
    [probationary] = [p for p in people if p.state == "probationary"]
    assert [e.trigger for e in service.history(probationary.id)
            if e.kind == "transition"] == [
        "record_talk", "recommend_activist", "notice_ends", "decide_activist",
        "record_assessment", "record_assessment", "propose_development_target", "notice_ends",
        "decide_development_target", "record_training", "submit_for_review",
        "pass_branch_review", "pass_pre_review", "notice_ends", "hold_admission_vote",
        "complete_interview", "approve_admission", "record_assessment"]
    for person in people:
        if person.state == "full_member":
            assert "transfer_in_full_member" in [e.trigger for e in service.history(person.id)]


def test_co_building_units_and_the_big_party_committee(cases: list[CaseView]) -> None:
    agreements = by_title(cases, "co_building_agreement")
    assert set(agreements) == {"金山幼儿园", "福州大学", "福建农林大学"}
    assert all(c.state == "in_force" for c in agreements.values())
    kindergarten = agreements["金山幼儿园"].data
    assert kindergarten["scope"] == "within_area" and kindergarten["activities_held"] >= 60
    assert kindergarten["reviews"] == 1
    members = [c for c in cases if c.workflow_id == "committee_election"]
    assert len(members) == 5 and all(c.state == "serving" for c in members)
    assert {c.data["unit_name"] for c in members} >= {"金山幼儿园"}


def test_the_nine_volunteer_teams_gather_over_800_volunteers(cases: list[CaseView]) -> None:
    teams = [c for c in cases if c.workflow_id == "self_organization"]
    assert len(teams) == 9 and all(c.state == "recognised" for c in teams)
    assert sum(c.data["members"] for c in teams) > 800


def test_the_history_spans_two_years_and_every_chain_verifies(service: CaseService) -> None:
    events, cursor = service.list_events(community_prefix=DEMO_COMMUNITY, limit=1000)
    assert cursor is None
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
    assert "already holds" in again and "nothing was written" in again
