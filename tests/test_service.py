"""The one door: every operation, every refusal (which writes nothing), timers, checklists,
links, automatic transitions, idempotency, queries. Real databases, SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import (
    AUDITOR,
    CASEWORKER,
    COMMITTEE,
    COMMUNITY,
    START,
    STORE_FIXTURES,
    store_snapshot,
)
from ruamel.yaml import YAML

from engine.clock import FrozenClock
from engine.core.compiler import compile_workflow
from engine.core.decision import Actor
from engine.errors import Conflict, NotFound, Refused, StoreUnavailable
from engine.language.spec import WorkflowSpec
from engine.ledger.chain import GENESIS, event_hash
from engine.service import CaseService, FireResult, build_service, verify_store
from engine.settings import Settings
from engine.store import repository
from engine.store.db import read_connection

INCUBATION = "store_incubation"
AGREEMENT = {"services": "elderly care visits", "activity_sessions": 4,
             "expected_effect": "fewer lonely elders", "agreement_date": "2026-03-02"}


def start_org(service: CaseService, name: str = "Sunshine volunteers", *,
              community: str = COMMUNITY, **data: Any) -> FireResult:
    return service.start_case(INCUBATION, {"name": name, "residents_need": "elderly care",
                                           **data}, actor=COMMITTEE, community=community)


def to_cultivation(service: CaseService, case_id: str) -> FireResult:
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    return service.fire(case_id, "sign_agreement", input=AGREEMENT, actor=COMMITTEE)


def refused(call: Any, engine: sa.Engine) -> Refused:
    """Run `call`, expect a refusal, and check that it wrote nothing at all."""
    before = store_snapshot(engine)
    with pytest.raises(Refused) as caught:
        call()
    assert store_snapshot(engine) == before
    return caught.value


# -- starting -----------------------------------------------------------------------------


def test_start_case_places_the_case_in_its_initial_state_with_one_hashed_event(
        service: CaseService) -> None:
    result = start_org(service, has_party_organization=True)
    case = result.case
    assert (case.workflow_id, case.workflow_version) == (INCUBATION, "1.0.0")
    assert (case.state, case.status, case.version, case.event_count) == ("selection", "active",
                                                                          1, 1)
    assert case.title == "Sunshine volunteers"
    assert case.priority == 2.0
    assert case.community == COMMUNITY
    assert case.entered_at == case.created_at == START
    assert case.data["party_member_count"] == 0  # default filled in
    event = result.event
    assert (event.seq, event.kind, event.to_state, event.actor) == (1, "start", "selection",
                                                                   COMMITTEE.id)
    assert event.role == "party_committee"
    assert event.prev_hash == GENESIS
    assert case.head_hash == event.hash
    assert service.history(case.id) == [event]


def test_start_case_reports_every_invalid_field_and_writes_nothing(
        service: CaseService, engine: sa.Engine) -> None:
    error = refused(lambda: service.start_case(
        INCUBATION, {"party_member_count": -1, "colour": "red"}, actor=COMMITTEE,
        community=COMMUNITY), engine)
    assert error.refusal.code == "input_invalid"
    fields = {e["field"]: e["code"] for e in error.refusal.details["errors"]}
    assert fields == {"name": "required", "residents_need": "required",
                      "party_member_count": "min", "colour": "unknown"}


def test_start_case_of_an_unknown_workflow_or_version_is_not_found(
        service: CaseService) -> None:
    with pytest.raises(NotFound):
        service.start_case("no_such_workflow", {}, actor=COMMITTEE, community=COMMUNITY)
    with pytest.raises(NotFound):
        service.start_case(INCUBATION, {}, actor=COMMITTEE, community=COMMUNITY,
                           version="9.9.9")


@pytest.mark.parametrize("community", ["", "/", "a//b", "*", "has space/ x", "has space/x",
                                       "a/./b", "a/../b", "/".join("abcdefghi")])
def test_start_case_refuses_a_community_that_is_not_a_path(
        service: CaseService, engine: sa.Engine, community: str) -> None:
    error = refused(lambda: start_org(service, community=community), engine)
    assert error.refusal.code == "invalid_community"


def test_start_case_needs_a_role_that_handles_the_workflow(
        service: CaseService, engine: sa.Engine) -> None:
    error = refused(lambda: service.start_case(
        INCUBATION, {"name": "x", "residents_need": "y"}, actor=AUDITOR,
        community=COMMUNITY), engine)
    assert error.refusal.code == "role_missing"


# -- firing --------------------------------------------------------------------------------


def test_fire_moves_the_case_applies_effects_and_chains_the_event(
        service: CaseService) -> None:
    case = start_org(service).case
    selected = service.fire(case.id, "select", input={"not_on_abnormal_lists": True},
                            actor=COMMITTEE, expected_version=1, comment="needs match")
    assert (selected.case.state, selected.case.version) == ("confirmation", 2)
    assert selected.event.prev_hash == case.head_hash
    assert selected.event.hash == event_hash(case.head_hash, {
        "case_id": case.id, "seq": 2, "kind": "transition", "workflow_id": INCUBATION,
        "workflow_version": "1.0.0", "trigger": "select", "from_state": "selection",
        "to_state": "confirmation", "actor": COMMITTEE.id, "role": "party_committee",
        "input": {"not_on_abnormal_lists": True}, "comment": "needs match", "changes": {},
        "at": START})
    signed = service.fire(case.id, "sign_agreement", input=AGREEMENT, actor=COMMITTEE)
    assert signed.case.state == "cultivation"
    assert signed.case.data["activity_sessions"] == 4
    assert signed.event.changes["agreement_date"] == "2026-03-02"
    assert service.get_case(case.id) == signed.case


@pytest.mark.parametrize(("trigger", "inputs", "actor", "code"), [
    ("fly", {}, COMMITTEE, "unknown_trigger"),
    ("sign_agreement", AGREEMENT, COMMITTEE, "not_allowed_from_state"),
    ("select", {"not_on_abnormal_lists": True}, CASEWORKER, "role_missing"),
    ("select", {}, COMMITTEE, "input_invalid"),
    ("select", {"not_on_abnormal_lists": "yes"}, COMMITTEE, "input_invalid"),
    ("select", {"not_on_abnormal_lists": False}, COMMITTEE, "guard_false"),
])
def test_a_refused_fire_names_its_reason_and_writes_nothing(
        service: CaseService, engine: sa.Engine, trigger: str, inputs: dict[str, Any],
        actor: Actor, code: str) -> None:
    case = start_org(service).case
    error = refused(lambda: service.fire(case.id, trigger, input=inputs, actor=actor,
                                         idempotency_key="k-refused"), engine)
    assert error.refusal.code == code


def test_a_false_guard_shows_the_designers_explanation(service: CaseService) -> None:
    case = start_org(service).case
    with pytest.raises(Refused) as caught:
        service.fire(case.id, "select", input={"not_on_abnormal_lists": False},
                     actor=COMMITTEE)
    assert "cannot be selected" in caught.value.refusal.en
    assert "不能入选" in caught.value.refusal.zh


def test_leaving_a_stage_with_an_incomplete_checklist_is_refused(
        service: CaseService, engine: sa.Engine) -> None:
    case = to_cultivation(service, start_org(service).case.id).case
    service.tick(case.id, "venue", evidence="room 101", actor=CASEWORKER)
    error = refused(lambda: service.fire(case.id, "begin_final_evaluation",
                                         actor=COMMITTEE), engine)
    assert error.refusal.code == "checklist_incomplete"
    assert error.refusal.details["missing"] == ["startup_funds", "party_instructor",
                                                "incubation_plan"]


def test_a_closed_case_refuses_every_change(service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    other = start_org(service, "other").case
    closed = service.fire(case.id, "decline", actor=COMMITTEE).case
    assert (closed.status, closed.outcome) == ("closed", "declined")
    for call in (lambda: service.fire(case.id, "select", actor=COMMITTEE),
                 lambda: service.suspend(case.id, actor=COMMITTEE, reason="x"),
                 lambda: service.tick(case.id, "venue", evidence="x", actor=COMMITTEE),
                 lambda: service.link(case.id, other.id, actor=COMMITTEE)):
        assert refused(call, engine).refusal.code == "case_closed"


def test_fire_on_a_missing_case_is_not_found(service: CaseService) -> None:
    with pytest.raises(NotFound) as caught:
        service.fire("nope", "select", actor=COMMITTEE)
    assert (caught.value.kind, caught.value.key) == ("case", "nope")


def test_a_stale_version_is_a_conflict_naming_the_current_version(
        service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    service.fire(case.id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    before = store_snapshot(engine)
    with pytest.raises(Conflict) as caught:
        service.fire(case.id, "decline", actor=COMMITTEE, expected_version=1)
    assert (caught.value.expected, caught.value.current) == (1, 2)
    assert store_snapshot(engine) == before


# -- timers ---------------------------------------------------------------------------------


def timers(engine: sa.Engine, case_id: str) -> list[tuple[str, str, Any]]:
    with read_connection(engine) as connection:
        rows = repository.timers_of(connection, case_id)
    return [(r["timer_id"], r["status"], r["due_at"]) for r in rows]


def test_timers_are_armed_on_entry_and_cancelled_on_leaving(
        service: CaseService, engine: sa.Engine) -> None:
    case = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    assert [(t, s) for t, s, _ in timers(engine, case.id)] == [("review", "pending")]
    service.tick(case.id, "venue", evidence="hall", actor=COMMITTEE)
    service.tick(case.id, "plan", evidence=None, actor=COMMITTEE)
    service.fire(case.id, "approve", actor=COMMITTEE)
    assert [(t, s) for t, s, _ in timers(engine, case.id)] == [("review", "cancelled"),
                                                               ("yearly", "pending")]
    service.fire(case.id, "dissolve", actor=COMMITTEE)
    assert [s for _, s, _ in timers(engine, case.id)] == ["cancelled", "cancelled"]


def test_an_internal_transition_keeps_timers_and_entry_time(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    clock.advance(timedelta(days=1))
    grown = service.fire(case.id, "grow", input={"by": 3}, actor=CASEWORKER).case
    assert grown.entered_at == START
    assert grown.priority == 3.0
    assert [(t, s) for t, s, _ in timers(engine, case.id)] == [("review", "pending")]


# -- suspend and resume ------------------------------------------------------------------


def test_suspend_pauses_timers_and_resume_rearms_them_with_the_time_left(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    clock.advance(timedelta(days=10))
    suspended = service.suspend(case.id, actor=COMMITTEE, reason="inspection")
    assert suspended.case.status == "suspended"
    assert suspended.event.kind == "suspend"
    assert suspended.event.input == {"reason": "inspection"}
    assert [s for _, s, _ in timers(engine, case.id)] == ["paused"]
    assert refused(lambda: service.fire(case.id, "grow", input={"by": 1}, actor=COMMITTEE),
                   engine).refusal.code == "case_suspended"
    assert refused(lambda: service.tick(case.id, "venue", evidence="x", actor=COMMITTEE),
                   engine).refusal.code == "case_suspended"
    assert refused(lambda: service.suspend(case.id, actor=COMMITTEE, reason="again"),
                   engine).refusal.code == "already_suspended"
    clock.advance(timedelta(days=5))
    resumed = service.resume(case.id, actor=COMMITTEE, comment="all clear")
    assert resumed.case.status == "active"
    [(_, status, due)] = timers(engine, case.id)
    assert status == "pending"
    assert due == START + timedelta(days=35)
    assert refused(lambda: service.resume(case.id, actor=COMMITTEE),
                   engine).refusal.code == "not_suspended"


def test_suspend_needs_a_reason(service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    error = refused(lambda: service.suspend(case.id, actor=COMMITTEE, reason="  "), engine)
    assert error.refusal.code == "input_invalid"
    assert error.refusal.details["errors"][0]["field"] == "reason"


# -- checklists ----------------------------------------------------------------------------


def test_tick_and_untick_record_evidence_and_history(service: CaseService) -> None:
    case = to_cultivation(service, start_org(service).case.id).case
    ticked = service.tick(case.id, "venue", evidence="community hall, room 2",
                          actor=CASEWORKER, expected_version=case.version)
    entry = ticked.case.checklist["venue"]
    assert entry["ticked"] and entry["evidence"] == "community hall, room 2"
    assert entry["actor"] == CASEWORKER.id and entry["at"] == START
    assert ticked.event.kind == "checklist_tick"
    assert ticked.event.to_state == "cultivation"
    unticked = service.untick(case.id, "venue", actor=CASEWORKER, reason="room withdrawn")
    assert not unticked.case.checklist["venue"]["ticked"]
    assert [e.kind for e in service.history(case.id)][-2:] == ["checklist_tick",
                                                               "checklist_untick"]


@pytest.mark.parametrize(("item", "evidence", "code"), [
    ("swimming_pool", "x", "checklist_unknown_item"),
    ("venue", None, "evidence_required"),
    ("venue", "   ", "evidence_required"),
])
def test_a_refused_tick_writes_nothing(service: CaseService, engine: sa.Engine, item: str,
                                       evidence: str | None, code: str) -> None:
    case = to_cultivation(service, start_org(service).case.id).case
    assert refused(lambda: service.tick(case.id, item, evidence=evidence, actor=CASEWORKER),
                   engine).refusal.code == code


def test_ticking_twice_or_unticking_what_is_not_ticked_is_refused(
        service: CaseService, engine: sa.Engine) -> None:
    case = to_cultivation(service, start_org(service).case.id).case
    assert refused(lambda: service.untick(case.id, "venue", actor=CASEWORKER),
                   engine).refusal.code == "not_ticked"
    service.tick(case.id, "venue", evidence="hall", actor=CASEWORKER)
    assert refused(lambda: service.tick(case.id, "venue", evidence="hall", actor=CASEWORKER),
                   engine).refusal.code == "already_ticked"


def test_an_item_without_evidence_may_be_ticked_bare(service: CaseService) -> None:
    case = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    assert service.tick(case.id, "plan", evidence=None, actor=COMMITTEE).case.checklist[
        "plan"]["ticked"]


def test_moving_inside_a_stage_keeps_its_checklist_and_reentering_starts_afresh(
        service: CaseService) -> None:
    member = service.start_case("store_member", {"person": "Chen"}, actor=CASEWORKER,
                                community=COMMUNITY).case
    service.fire(member.id, "accept", actor=CASEWORKER)
    service.tick(member.id, "pledge", evidence="signed", actor=CASEWORKER)
    late = service.fire(member.id, "advance", actor=CASEWORKER).case
    assert late.state == "late"
    assert late.checklist["pledge"]["ticked"]
    full = service.fire(member.id, "admit", actor=CASEWORKER).case
    assert full.checklist == {}
    again = service.fire(member.id, "demote", actor=CASEWORKER).case
    assert again.state == "early"
    assert not again.checklist["pledge"]["ticked"]


def test_a_step_returning_to_its_own_stage_starts_the_stage_afresh(
        service: CaseService, clock: FrozenClock) -> None:
    member = service.start_case("store_member", {"person": "Chen"}, actor=CASEWORKER,
                                community=COMMUNITY).case
    service.fire(member.id, "accept", actor=CASEWORKER)
    service.tick(member.id, "pledge", evidence="signed", actor=CASEWORKER)
    service.fire(member.id, "advance", actor=CASEWORKER)
    clock.advance(timedelta(days=3))
    again = service.fire(member.id, "repeat_probation", actor=CASEWORKER).case
    assert (again.state, again.entered_at) == ("early", START + timedelta(days=3))
    assert not again.checklist["pledge"]["ticked"]


# -- links and automatic transitions -----------------------------------------------------


def full_member(service: CaseService, person: str) -> str:
    case_id = service.start_case("store_member", {"person": person}, actor=CASEWORKER,
                                 community=COMMUNITY).case.id
    service.fire(case_id, "accept", actor=CASEWORKER)
    service.tick(case_id, "pledge", evidence="signed", actor=CASEWORKER)
    service.fire(case_id, "advance", actor=CASEWORKER)
    service.fire(case_id, "admit", actor=CASEWORKER)
    return case_id


def test_links_are_seen_from_both_cases(service: CaseService) -> None:
    org = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                             community=COMMUNITY).case
    member = service.start_case("store_member", {"person": "Chen"}, actor=CASEWORKER,
                                community=COMMUNITY).case
    linked = service.link(member.id, org.id, relation="member_of", actor=CASEWORKER)
    assert linked.event.kind == "link"
    assert linked.case.links == [{"case_id": org.id, "workflow_id": "store_org",
                                  "state": "forming", "relation": "member_of",
                                  "direction": "outgoing", "community": COMMUNITY}]
    assert service.get_case(org.id).links == [{
        "case_id": member.id, "workflow_id": "store_member", "state": "applicant",
        "relation": "member_of", "direction": "incoming", "community": COMMUNITY}]
    unlinked = service.unlink(org.id, member.id, actor=COMMITTEE)
    assert unlinked.case.links == [] and service.get_case(member.id).links == []


def test_a_link_made_or_removed_shows_in_both_histories(service: CaseService) -> None:
    # Given an organization's record and a member's record
    org = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                             community=COMMUNITY).case
    member = service.start_case("store_member", {"person": "Chen"}, actor=CASEWORKER,
                                community=COMMUNITY).case
    # When the member's record is linked to the organization's
    made = service.link(member.id, org.id, relation="member_of", actor=CASEWORKER)
    # Then the organization's history shows it too, naming the record that made it
    seen = service.history(org.id)[-1]
    assert (seen.kind, seen.actor, seen.input) == ("link", CASEWORKER.id, {
        "other_case_id": member.id, "relation": "member_of", "direction": "incoming"})
    assert (seen.at, seen.seq, service.get_case(org.id).version) == (made.event.at, 2, 2)
    assert made.event.input == {"other_case_id": org.id, "relation": "member_of"}
    # And removed from the organization's side, the member's history shows the removal
    service.unlink(org.id, member.id, actor=COMMITTEE)
    gone = service.history(member.id)[-1]
    assert (gone.kind, gone.actor, gone.input) == ("unlink", COMMITTEE.id, {
        "other_case_id": org.id, "relation": "member_of", "direction": "incoming"})
    assert [e.kind for e in service.history(org.id)] == ["start", "link", "unlink"]
    assert [e.kind for e in service.history(member.id)] == ["start", "link", "unlink"]
    # and every chain, and every row as the projection of its events, still verifies
    assert verify_store(service.engine) == []


def test_refused_links_write_nothing(service: CaseService, engine: sa.Engine) -> None:
    a = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                           community=COMMUNITY).case
    b = service.start_case("store_org", {"name": "B"}, actor=COMMITTEE,
                           community=COMMUNITY).case
    assert refused(lambda: service.link(a.id, a.id, actor=COMMITTEE),
                   engine).refusal.code == "link_self"
    assert refused(lambda: service.unlink(a.id, b.id, actor=COMMITTEE),
                   engine).refusal.code == "not_linked"
    assert refused(lambda: service.link(a.id, b.id, relation="Bad Name!", actor=COMMITTEE),
                   engine).refusal.code == "invalid_relation"
    service.link(a.id, b.id, actor=COMMITTEE)
    assert refused(lambda: service.link(b.id, a.id, actor=COMMITTEE),
                   engine).refusal.code == "already_linked"
    with pytest.raises(NotFound):
        service.link(a.id, "missing", actor=COMMITTEE)


def test_a_change_in_a_linked_case_fires_the_automatic_transition_it_enables(
        service: CaseService) -> None:
    org = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                             community=COMMUNITY).case
    first, second = full_member(service, "Chen"), full_member(service, "Lin")
    service.link(first, org.id, relation="member_of", actor=CASEWORKER)
    assert service.get_case(org.id).state == "forming"
    result = service.link(second, org.id, relation="member_of", actor=CASEWORKER)
    [step] = result.automatic
    assert (step.case_id, step.trigger, step.actor, step.kind) == (
        org.id, "establish", "system:auto", "transition")
    assert service.get_case(org.id).state == "established"
    # Leaving takes the member out of `full`: nothing automatic goes back, by design.
    service.fire(second, "leave", actor=CASEWORKER)
    assert service.get_case(org.id).state == "established"
    assert verify_store(service.engine) == []


def test_a_state_change_of_a_member_reevaluates_the_organization(
        service: CaseService) -> None:
    org = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                             community=COMMUNITY).case
    first = full_member(service, "Chen")
    second = service.start_case("store_member", {"person": "Lin"}, actor=CASEWORKER,
                                community=COMMUNITY).case.id
    service.link(org.id, first, actor=COMMITTEE)
    service.link(org.id, second, actor=COMMITTEE)
    service.fire(second, "accept", actor=CASEWORKER)
    service.tick(second, "pledge", evidence="signed", actor=CASEWORKER)
    service.fire(second, "advance", actor=CASEWORKER)
    admitted = service.fire(second, "admit", actor=CASEWORKER)
    assert [e.case_id for e in admitted.automatic] == [org.id]
    assert service.get_case(org.id).state == "established"


def test_automatic_steps_stop_at_the_budget_and_record_nothing_more(
        engine: sa.Engine, registry: Any, clock: FrozenClock) -> None:
    service = CaseService(engine, registry, clock, max_automatic_steps=2)
    case = service.start_case("store_chain", {}, actor=CASEWORKER, community=COMMUNITY).case
    result = service.fire(case.id, "go", actor=CASEWORKER)
    assert [e.trigger for e in result.automatic] == ["to_s2", "to_s3"]
    assert result.case.state == "s3"
    assert len(service.history(case.id)) == 2 + 2
    # The next change through the door goes on from there.
    assert [e.trigger for e in service.fire(case.id, "poke", actor=CASEWORKER).automatic] == [
        "to_s3", "to_s4"]


def test_the_budget_also_bounds_the_cascade_along_links(
        engine: sa.Engine, registry: Any, clock: FrozenClock) -> None:
    service = CaseService(engine, registry, clock, max_automatic_steps=3)
    org = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                             community=COMMUNITY).case
    followers = [service.start_case("store_follower", {}, actor=CASEWORKER,
                                    community=COMMUNITY).case.id for _ in range(5)]
    for follower in followers:
        service.link(follower, org.id, actor=CASEWORKER)
    service.tick(org.id, "venue", evidence="hall", actor=COMMITTEE)
    service.tick(org.id, "plan", evidence=None, actor=COMMITTEE)
    result = service.fire(org.id, "approve", actor=COMMITTEE)
    assert [e.trigger for e in result.automatic] == ["follow"] * 3
    states = [service.get_case(f).state for f in followers]
    assert sorted(states) == ["following"] * 3 + ["waiting"] * 2


def test_a_looping_workflow_that_escaped_the_linter_still_cannot_loop(
        engine: sa.Engine, registry: Any, clock: FrozenClock) -> None:
    path = STORE_FIXTURES / "unchecked" / "store_loop.yaml"
    text = path.read_text(encoding="utf-8")
    spec = WorkflowSpec.model_validate(YAML(typ="safe", pure=True).load(text))
    compiled = compile_workflow(spec, text)
    with engine.begin() as connection:  # stored as an older, unlinted release would have
        connection.execute(sa.text(
            "INSERT INTO workflow_definitions (id, version, content_hash, source_text, "
            "loaded_at) VALUES ('store_loop', '1.0.0', :h, :t, :at)"),
            {"h": compiled.content_hash, "t": text,
             "at": START.replace(tzinfo=None) if engine.dialect.name == "sqlite" else START})
    registry._remember(compiled)
    service = CaseService(engine, registry, clock, max_automatic_steps=5)
    case = service.start_case("store_loop", {}, actor=CASEWORKER, community=COMMUNITY).case
    result = service.fire(case.id, "arm", actor=CASEWORKER)
    assert [e.trigger for e in result.automatic] == ["to_pong", "to_ping", "to_pong",
                                                     "to_ping", "to_pong"]
    assert len(service.history(case.id)) == 2 + 5
    assert verify_store(engine) == []


def test_community_parameters_override_defaults_most_specific_first(
        service: CaseService) -> None:
    service.set_parameter("store_org", "members_needed", 3, community="fuzhou")
    service.set_parameter("store_org", "members_needed", 1, community="fuzhou/cangshan")
    near = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    far = service.start_case("store_org", {"name": "B"}, actor=COMMITTEE,
                             community="fuzhou/gulou/x").case
    member = full_member(service, "Chen")
    service.link(near.id, member, actor=COMMITTEE)
    service.link(far.id, member, actor=COMMITTEE)
    assert service.get_case(near.id).state == "established"
    assert service.get_case(far.id).state == "forming"
    with pytest.raises(Refused) as caught:
        service.set_parameter("store_org", "members_needed", "many")
    assert caught.value.refusal.code == "invalid_parameter"


# -- idempotency ---------------------------------------------------------------------------


def test_a_repeated_key_replays_the_first_result_and_writes_nothing(
        service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    first = service.fire(case.id, "select", input={"not_on_abnormal_lists": True},
                         actor=COMMITTEE, expected_version=1, idempotency_key="req-1")
    before = store_snapshot(engine)
    again = service.fire(case.id, "select", input={"not_on_abnormal_lists": True},
                         actor=COMMITTEE, expected_version=1, idempotency_key="req-1")
    assert store_snapshot(engine) == before
    assert again.replayed and not first.replayed
    assert (again.case, again.event, again.automatic) == (first.case, first.event,
                                                          first.automatic)


def test_a_key_reused_for_another_request_is_refused(
        service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    service.fire(case.id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE,
                 idempotency_key="req-2")
    error = refused(lambda: service.fire(case.id, "decline", actor=COMMITTEE,
                                         idempotency_key="req-2"), engine)
    assert error.refusal.code == "idempotency_key_reused"


def test_start_and_tick_replay_too(service: CaseService, engine: sa.Engine) -> None:
    first = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                               community=COMMUNITY, idempotency_key="start-1")
    again = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                               community=COMMUNITY, idempotency_key="start-1")
    assert again.replayed and again.case.id == first.case.id
    tick = service.tick(first.case.id, "venue", evidence="hall", actor=COMMITTEE,
                        idempotency_key="tick-1")
    before = store_snapshot(engine)
    assert service.tick(first.case.id, "venue", evidence="hall", actor=COMMITTEE,
                        idempotency_key="tick-1").event == tick.event
    assert store_snapshot(engine) == before


# -- reading -------------------------------------------------------------------------------


def test_actions_say_what_the_actor_may_do_and_why_not(service: CaseService) -> None:
    case = start_org(service).case
    for_committee = {a.trigger: a for a in service.actions(case.id, COMMITTEE)}
    assert for_committee["select"].allowed and for_committee["decline"].allowed
    assert "graduate" not in for_committee  # not from this state: not near
    for_worker = {a.trigger: a for a in service.actions(case.id, CASEWORKER)}
    assert for_worker["select"].refusal is not None
    assert for_worker["select"].refusal.code == "role_missing"


def test_list_cases_is_a_work_queue_scoped_by_community_prefix(
        service: CaseService, clock: FrozenClock) -> None:
    low = start_org(service, "Low").case
    clock.advance(timedelta(minutes=1))
    high = start_org(service, "High", has_party_organization=True).case
    clock.advance(timedelta(minutes=1))
    high_later = start_org(service, "High later", has_party_organization=True).case
    clock.advance(timedelta(minutes=1))
    elsewhere = start_org(service, "Elsewhere", community="fuzhou/cangshanxi/a").case
    page, cursor = service.list_cases(community_prefix="fuzhou/cangshan", limit=2)
    assert [c.id for c in page] == [high.id, high_later.id]
    assert cursor is not None
    rest, end = service.list_cases(community_prefix="fuzhou/cangshan", limit=2, cursor=cursor)
    assert [c.id for c in rest] == [low.id] and end is None
    assert elsewhere.id in [c.id for c in service.list_cases(community_prefix="fuzhou")[0]]
    assert [c.id for c in service.list_cases(text="later")[0]] == [high_later.id]
    assert service.list_cases(overdue=True)[0] == []
    updated, _ = service.list_cases(order="updated", limit=10)
    assert updated[0].id == elsewhere.id


def test_a_foreign_cursor_is_refused(service: CaseService) -> None:
    with pytest.raises(Refused) as caught:
        service.list_cases(cursor="not-a-cursor")
    assert caught.value.refusal.code == "invalid_cursor"
    with pytest.raises(Refused):
        service.list_events(cursor="WyJ4Il0")


def test_list_events_filters_and_pages_in_time_order(
        service: CaseService, clock: FrozenClock) -> None:
    a = start_org(service, "A").case
    clock.advance(timedelta(hours=1))
    b = service.start_case("store_org", {"name": "B"}, actor=CASEWORKER,
                           community="fuzhou/gulou/x").case
    clock.advance(timedelta(hours=1))
    service.fire(a.id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    by_committee, _ = service.list_events(actor=COMMITTEE.id)
    assert [(e.case_id, e.seq) for e in by_committee] == [(a.id, 1), (a.id, 2)]
    first, cursor = service.list_events(limit=1)
    second, cursor2 = service.list_events(limit=1, cursor=cursor)
    third, end = service.list_events(limit=1, cursor=cursor2)
    assert [e.at for e in first + second + third] == [START, START + timedelta(hours=1),
                                                      START + timedelta(hours=2)]
    assert end is None
    assert [e.case_id for e in service.list_events(community_prefix="fuzhou/gulou")[0]] == [
        b.id]
    assert [e.trigger for e in service.list_events(trigger="select")[0]] == ["select"]
    assert len(service.list_events(state="selection")[0]) == 2
    window, _ = service.list_events(since=START + timedelta(minutes=30),
                                    until=START + timedelta(hours=2))
    assert [e.case_id for e in window] == [b.id]
    assert service.list_events(workflow_id="store_org")[0][0].case_id == b.id


def test_history_of_a_missing_case_is_not_found(service: CaseService) -> None:
    with pytest.raises(NotFound):
        service.history("missing")
    with pytest.raises(NotFound):
        service.get_case("missing")


# -- all or nothing ------------------------------------------------------------------------


def fail_event_inserts(engine: sa.Engine, trigger: str) -> None:
    """A database trigger that makes inserting an event of `trigger` fail, as a crash
    between the case update and the event insert would."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                f"CREATE TRIGGER crash_on_event BEFORE INSERT ON events "
                f"WHEN NEW.trigger = '{trigger}' BEGIN SELECT RAISE(ABORT, 'crash'); END")
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION crash_on_event() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'crash'; END $$")
            connection.exec_driver_sql(
                f"CREATE TRIGGER crash_on_event BEFORE INSERT ON events FOR EACH ROW "
                f"WHEN (NEW.trigger = '{trigger}') EXECUTE FUNCTION crash_on_event()")


def test_a_failure_after_the_case_update_leaves_nothing_written(
        service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    service.fire(case.id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    fail_event_inserts(engine, "sign_agreement")
    before = store_snapshot(engine)
    with pytest.raises(StoreUnavailable):
        service.fire(case.id, "sign_agreement", input=AGREEMENT, actor=COMMITTEE,
                     idempotency_key="crash-1")
    assert store_snapshot(engine) == before
    after = service.get_case(case.id)
    assert (after.state, after.version, after.data.get("services")) == ("confirmation", 2,
                                                                        None)
    assert verify_store(engine) == []


def test_a_failing_automatic_step_takes_the_whole_change_back(
        service: CaseService, engine: sa.Engine) -> None:
    case = service.start_case("store_chain", {}, actor=CASEWORKER, community=COMMUNITY).case
    fail_event_inserts(engine, "to_s3")
    before = store_snapshot(engine)
    with pytest.raises(StoreUnavailable):
        service.fire(case.id, "go", actor=CASEWORKER)
    assert store_snapshot(engine) == before
    assert service.get_case(case.id).data["go"] is False


# -- assembly --------------------------------------------------------------------------------


def test_build_service_upgrades_and_registers_the_shipped_workflows_once(
        tmp_path: Path, clock: FrozenClock) -> None:
    shipped = shutil.copytree(STORE_FIXTURES, tmp_path / "workflows")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'sub' / 'h.db'}",
                        HATCHERY_WORKFLOWS_DIR=shipped)
    first = build_service(settings, clock)
    versions = first.registry.versions(INCUBATION)
    start_org(first)
    first.engine.dispose()
    second = build_service(settings, clock)
    assert second.registry.versions(INCUBATION) == versions
    assert len(second.list_cases()[0]) == 1
    second.engine.dispose()


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_an_idempotency_key_of_the_wrong_length_is_refused(
        service: CaseService, engine: sa.Engine, key: str) -> None:
    case = start_org(service).case
    error = refused(lambda: service.fire(case.id, "decline", actor=COMMITTEE,
                                         idempotency_key=key), engine)
    assert error.refusal.code == "invalid_idempotency_key"


def test_a_title_search_ignores_the_case_of_latin_letters(service: CaseService) -> None:
    found = start_org(service, "Jinshan Elders Club").case
    assert [c.id for c in service.list_cases(text="jinSHAN elders")[0]] == [found.id]
    assert [c.id for c in service.list_cases(text=found.id)[0]] == [found.id]
