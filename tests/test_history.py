"""Point in time: a case's state, data and checklist at an instant, and the cases in a
state at an instant, replayed from the events table (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY, START

from engine.audit.history import case_at, cases_in_state, in_state_query
from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry
from engine.errors import NotFound
from engine.service import CaseService

INCUBATION = "store_incubation"
AGREEMENT = {"services": "elderly care visits", "activity_sessions": 4,
             "expected_effect": "fewer lonely elders", "agreement_date": "2026-03-02"}
DAY = timedelta(days=1)


def start(service: CaseService, name: str, community: str = COMMUNITY, **data: Any) -> str:
    return service.start_case(INCUBATION, {"name": name, "residents_need": "elderly care",
                                           **data}, actor=COMMITTEE,
                              community=community).case.id


def test_case_at_replays_state_data_checklist_and_the_entering_event(
        service: CaseService, clock: FrozenClock, engine: sa.Engine,
        registry: WorkflowRegistry) -> None:
    case_id = start(service, "Sunshine volunteers")
    clock.advance(DAY)
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    clock.advance(DAY)
    service.fire(case_id, "sign_agreement", input=AGREEMENT, actor=COMMITTEE)
    clock.advance(DAY)
    service.tick(case_id, "venue", evidence="room 3", actor=COMMITTEE)
    clock.advance(DAY)
    service.fire(case_id, "record_evaluation", input={"result": "good"}, actor=COMMITTEE)
    clock.advance(DAY)
    service.untick(case_id, "venue", actor=COMMITTEE, reason="moved")

    before = case_at(engine, registry, case_id, START + DAY + timedelta(hours=1))
    assert (before.state, before.status, before.event_count) == ("confirmation", "active", 2)
    assert before.entered_by["trigger"] == "select"
    assert "activity_sessions" not in before.data

    ticked = case_at(engine, registry, case_id, START + 4 * DAY + timedelta(hours=1))
    assert ticked.state == "cultivation"
    assert ticked.data["activity_sessions"] == 4
    assert ticked.data["last_evaluation"] == "good"
    assert ticked.checklist["venue"]["ticked"] is True  # an internal step keeps the entry
    assert ticked.checklist["venue"]["evidence"] == "room 3"
    assert ticked.entered_by["trigger"] == "sign_agreement"
    assert ticked.event["trigger"] == "record_evaluation"
    assert ticked.entered_at == START + 2 * DAY

    now = case_at(engine, registry, case_id, START + 30 * DAY)
    current = service.get_case(case_id)
    assert now.checklist["venue"]["ticked"] is False
    assert (now.state, now.data, now.status) == (current.state, current.data, current.status)
    assert {k: v["ticked"] for k, v in now.checklist.items()} == \
        {k: v["ticked"] for k, v in current.checklist.items()}
    assert now.workflow_version == current.workflow_version == "1.0.0"


def test_case_at_before_the_case_started_or_of_no_case_is_not_found(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    case_id = start(service, "Early birds")
    with pytest.raises(NotFound):
        case_at(engine, registry, case_id, START - DAY)
    with pytest.raises(NotFound):
        case_at(engine, registry, "nope", START)


def test_a_suspension_shows_at_its_time_and_not_after_the_resume(
        service: CaseService, clock: FrozenClock, engine: sa.Engine,
        registry: WorkflowRegistry) -> None:
    case_id = start(service, "Paused")
    clock.advance(DAY)
    service.suspend(case_id, actor=COMMITTEE, reason="inspection")
    clock.advance(DAY)
    service.resume(case_id, actor=COMMITTEE)
    assert case_at(engine, registry, case_id, START + DAY).status == "suspended"
    assert case_at(engine, registry, case_id, START + 2 * DAY).status == "active"


def test_cases_in_state_lists_who_stood_there_at_the_instant_within_the_scope(
        service: CaseService, clock: FrozenClock, engine: sa.Engine,
        registry: WorkflowRegistry) -> None:
    first = start(service, "First")
    second = start(service, "Second")
    elsewhere = start(service, "Elsewhere", community="fuzhou/gulou/x/y")
    clock.advance(DAY)
    service.fire(first, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    clock.advance(DAY)
    service.fire(second, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)

    at_start, _ = cases_in_state(engine, registry, INCUBATION, "selection", START)
    assert sorted(c.case_id for c in at_start) == sorted([first, second, elsewhere])
    day_one, _ = cases_in_state(engine, registry, INCUBATION, "selection",
                                START + DAY + timedelta(minutes=1))
    assert sorted(c.case_id for c in day_one) == sorted([second, elsewhere])
    scoped, _ = cases_in_state(engine, registry, INCUBATION, "selection",
                               START + DAY + timedelta(minutes=1), community_prefix=COMMUNITY)
    assert [c.case_id for c in scoped] == [second]
    confirmed, _ = cases_in_state(engine, registry, INCUBATION, "confirmation",
                                  START + 3 * DAY)
    assert sorted(c.case_id for c in confirmed) == sorted([first, second])
    assert cases_in_state(engine, registry, INCUBATION, "confirmation", START)[0] == []


def test_cases_in_state_pages_by_case_id(service: CaseService, engine: sa.Engine,
                                         registry: WorkflowRegistry) -> None:
    ids = sorted(start(service, f"Org {n}") for n in range(5))
    page, after = cases_in_state(engine, registry, INCUBATION, "selection", START, limit=2)
    seen = [c.case_id for c in page]
    while after is not None:
        page, after = cases_in_state(engine, registry, INCUBATION, "selection", START,
                                     limit=2, after=after)
        seen += [c.case_id for c in page]
    assert seen == ids


def test_an_unknown_state_or_workflow_is_not_found(engine: sa.Engine,
                                                   registry: WorkflowRegistry) -> None:
    with pytest.raises(NotFound):
        cases_in_state(engine, registry, INCUBATION, "nowhere", START)
    with pytest.raises(NotFound):
        cases_in_state(engine, registry, "no_such_workflow", "selection", START)


def test_the_in_state_query_compiles_with_the_scope(engine: sa.Engine) -> None:
    query = in_state_query(INCUBATION, ["selection"], START, community_prefix="a_b")
    text = str(query.compile(engine))
    assert "NOT (EXISTS" in text and "community" in text
