"""Every operation on a case, decided by the pure core without a database: what it
refuses and the change it returns (`engine.core.operations`, `engine.core.roles`)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.core import operations as core
from engine.core.change import (
    AddLink,
    AddTick,
    ArmTimers,
    CancelTimers,
    Change,
    PauseTimers,
    Record,
    RemoveLink,
    RemoveTick,
    ResumeTimers,
)
from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.core.snapshot import Actor, CaseSnapshot, LinkedCase, TimerPlan
from engine.definitions.loader import load_file
from engine.errors import NotFound, Refusal

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CASEWORKER = Actor("li", frozenset({"caseworker"}))
COMMITTEE = Actor("wang", frozenset({"party_committee"}))
STRANGER = Actor("zhou", frozenset({"auditor"}))
OTHER = LinkedCase("c2", "member_development", "full_member")


@pytest.fixture(scope="module")
def wf() -> CompiledWorkflow:
    result = load_file(ROOT / "tests" / "fixtures" / "workflows" / "branch_building.yaml")
    assert result.ok and result.spec is not None
    ready = getattr(result, "compiled", None)
    return ready if ready is not None else compile_workflow(result.spec, result.text)


def case(state: str = "joint_branch", **extra: object) -> CaseSnapshot:
    entries = {"guidance": 2, "joint_branch": 2} if state == "joint_branch" else {state: 2}
    fields: dict[str, object] = {"state": state, "data": {"org_name": "山海志愿队"},
                                 "entered_at": NOW - timedelta(days=1), "entries": entries,
                                 "events": 3, **extra}
    return CaseSnapshot(**fields)  # type: ignore[arg-type]


def refused(outcome: object) -> str:
    assert isinstance(outcome, Refusal), outcome
    return outcome.code


def test_the_operations_import_no_database_web_or_scheduler_code() -> None:
    probe = ("import json, sys, engine.core.operations, engine.core.change, "
             "engine.core.roles; print(json.dumps(sorted(m.split('.')[0] "
             "for m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert not set(json.loads(done.stdout)) & {"sqlmodel", "sqlalchemy", "fastapi",
                                               "apscheduler", "psycopg", "alembic"}


def test_a_tick_records_the_item_in_the_current_entry_of_the_state_that_owns_it(
        wf: CompiledWorkflow) -> None:
    change = core.tick(wf, case(), "mentor", "派出王老师", CASEWORKER, NOW)
    assert isinstance(change, Change)
    assert change.effects == (AddTick("guidance", 2, "mentor", "派出王老师", "li"),)
    assert change.event["kind"] == "checklist_tick"
    assert change.event["role"] == "caseworker"
    assert change.values == {}


def test_a_tick_of_an_item_the_state_does_not_have_is_refused(wf: CompiledWorkflow) -> None:
    assert refused(core.tick(wf, case(), "venue", "x", CASEWORKER, NOW)) == \
        "checklist_unknown_item"


def test_a_tick_without_the_evidence_its_item_needs_is_refused(wf: CompiledWorkflow) -> None:
    assert refused(core.tick(wf, case(), "mentor", " ", CASEWORKER, NOW)) == \
        "evidence_required"


def test_an_item_ticked_already_is_refused(wf: CompiledWorkflow) -> None:
    ticked = case(checklist={"charter": True})
    assert refused(core.tick(wf, ticked, "charter", None, CASEWORKER, NOW)) == "already_ticked"


def test_a_tick_needs_a_role_of_the_workflow(wf: CompiledWorkflow) -> None:
    assert refused(core.tick(wf, case(), "charter", None, STRANGER, NOW)) == "role_missing"


def test_an_untick_takes_back_the_tick(wf: CompiledWorkflow) -> None:
    change = core.untick(wf, case(checklist={"charter": True}), "charter", "错勾",
                         CASEWORKER, NOW)
    assert isinstance(change, Change)
    assert change.effects == (RemoveTick("charter"),)
    assert change.event["input"] == {"item": "charter", "reason": "错勾"}


def test_an_untick_of_an_item_not_ticked_is_refused(wf: CompiledWorkflow) -> None:
    assert refused(core.untick(wf, case(), "charter", None, CASEWORKER, NOW)) == "not_ticked"


@pytest.mark.parametrize("status, code", [("closed", "case_closed"),
                                          ("suspended", "case_suspended")])
def test_a_closed_or_suspended_case_takes_no_tick(wf: CompiledWorkflow, status: str,
                                                  code: str) -> None:
    assert refused(core.tick(wf, case(status=status), "charter", None, CASEWORKER, NOW)) == code


def test_a_link_adds_the_other_case_and_asks_it_to_look_again(wf: CompiledWorkflow) -> None:
    change = core.link(wf, case(), "c1", "c2", OTHER, "member", CASEWORKER, NOW, {})
    assert isinstance(change, Change)
    assert change.effects == (AddLink(LinkedCase("c2", "member_development", "full_member",
                                                 "member")),)
    assert change.also == ("c2",)
    assert "priority" in change.values


@pytest.mark.parametrize("other_id, relation, code", [
    ("c1", "member", "link_self"), ("c2", "Not A Name", "invalid_relation")])
def test_a_link_to_itself_or_with_a_bad_relation_is_refused(
        wf: CompiledWorkflow, other_id: str, relation: str, code: str) -> None:
    assert refused(core.link(wf, case(), "c1", other_id, OTHER, relation, CASEWORKER, NOW,
                             {})) == code


def test_a_link_to_a_case_that_does_not_exist_is_not_found(wf: CompiledWorkflow) -> None:
    with pytest.raises(NotFound):
        core.link(wf, case(), "c1", "c9", None, "member", CASEWORKER, NOW, {})


def test_a_second_link_between_the_same_cases_is_refused(wf: CompiledWorkflow) -> None:
    linked = case(links=(OTHER,))
    assert refused(core.link(wf, linked, "c1", "c2", OTHER, "member", CASEWORKER, NOW,
                             {})) == "already_linked"


def test_an_unlink_removes_the_link_made_from_either_side(wf: CompiledWorkflow) -> None:
    change = core.unlink(wf, case(links=(OTHER,)), "c1", "c2", CASEWORKER, NOW, {})
    assert isinstance(change, Change)
    assert change.effects == (RemoveLink("c2"),)
    assert change.event["input"] == {"other_case_id": "c2", "relation": "related"}


def test_an_unlink_of_cases_not_linked_is_refused(wf: CompiledWorkflow) -> None:
    assert refused(core.unlink(wf, case(), "c1", "c2", CASEWORKER, NOW, {})) == "not_linked"


def test_a_suspension_pauses_the_timers_and_needs_a_reason(wf: CompiledWorkflow) -> None:
    change = core.suspend(wf, case(), "负责人出国", CASEWORKER, NOW)
    assert isinstance(change, Change)
    assert change.values == {"status": "suspended"}
    assert change.effects == (PauseTimers(), Record("suspend", "li", {"reason": "负责人出国"}))
    assert refused(core.suspend(wf, case(), "  ", CASEWORKER, NOW)) == "input_invalid"
    assert refused(core.suspend(wf, case(status="suspended"), "x", CASEWORKER, NOW)) == \
        "already_suspended"


def test_a_resumption_runs_the_timers_again(wf: CompiledWorkflow) -> None:
    change = core.resume(wf, case(status="suspended"), None, CASEWORKER, NOW)
    assert isinstance(change, Change)
    assert change.values == {"status": "active"}
    assert change.effects == (ResumeTimers(), Record("resume", "li", {"comment": None}))
    assert refused(core.resume(wf, case(), None, CASEWORKER, NOW)) == "not_suspended"


def test_overdue_sets_the_flag_and_an_escalation_only_records(wf: CompiledWorkflow) -> None:
    overdue = core.flag(wf, case(), "overdue", CASEWORKER, NOW, reason="超期")
    escalation = core.flag(wf, case(), "escalation", CASEWORKER, NOW)
    assert isinstance(overdue, Change) and isinstance(escalation, Change)
    assert overdue.values == {"overdue": True} and escalation.values == {}
    assert overdue.event["input"] == {"reason": "超期"}


def test_a_timer_that_fires_a_trigger_moves_the_case_as_the_timer(
        wf: CompiledWorkflow) -> None:
    plan = TimerPlan("public_notice", "notice_ends", NOW, "fire", "close_notice", False)
    notice = case("public_notice", checklist={"mentor": True},
                  entries={"guidance": 2, "public_notice": 3})
    change = core.timer(wf, notice, plan, 7, NOW, wf.resolve_params(), "c")
    assert isinstance(change, Change)
    assert change.event["actor"] == "system:timer"
    assert change.values["state"] == "approval" and change.moved
    assert CancelTimers(("public_notice", "guidance")) in change.effects


def test_leaving_a_state_for_one_with_timers_arms_them(wf: CompiledWorkflow) -> None:
    start = case("intake", data={"org_name": "山海"})
    change = core.fire(wf, start, "accept", {"category": "no_members",
                                             "phone": "13800138000"},
                       COMMITTEE, NOW, wf.resolve_params())
    assert isinstance(change, Change)
    armed = [e for e in change.effects if isinstance(e, ArmTimers)]
    assert [p.key for p in armed[0].plans] == ["guidance:review"]
    assert change.values["state_entries"] == {"guidance": 4, "joint_branch": 4}


def test_a_final_state_cancels_every_timer_of_the_case(wf: CompiledWorkflow) -> None:
    change = core.fire(wf, case(), "drop", {"reason": "解散了"}, COMMITTEE, NOW,
                       wf.resolve_params())
    assert isinstance(change, Change)
    assert change.effects == (CancelTimers(None),)
    assert change.values["status"] == "closed"
