"""The pure decision function: one test per refusal code and per feature of a transition.

Workflows come from `tests/fixtures/workflows/` (valid definitions) and `workflows/`.
`branch_building.yaml` has a stage with steps (guidance: joint_branch, preparing,
public_notice), checklists on the stage and on a step, timers relative to entry, to a date
field and in working days, an automatic transition counting linked cases, internal
self-transitions and a transition from any state.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.core.decision import (
    Actor,
    CaseSnapshot,
    LinkedCase,
    Start,
    Transition,
    automatic_step,
    available_actions,
    decide,
    environment,
    plan_timers,
    priority,
    start,
)
from engine.definitions.loader import load_file, load_text
from engine.errors import DefinitionError, Refusal
from engine.language.expressions import Scope, compile_expression
from engine.timers.calendar import default_calendar

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "workflows"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday, an ordinary working week
ENTERED = NOW - timedelta(days=2)

COMMITTEE = Actor("wang", frozenset({"party_committee"}))
CASEWORKER = Actor("li", frozenset({"caseworker"}))
SECRETARY = Actor("zhao", frozenset({"secretary"}))
ADMIN = Actor("root", frozenset({"admin"}))
TIMER = Actor("system:timer")
AUTO = Actor("system:auto")


def compiled(path: Path) -> CompiledWorkflow:
    """Load, validate and compile a definition the way the service does."""
    result = load_file(path)
    assert result.ok, [d.format() for d in result.diagnostics]
    ready = getattr(result, "compiled", None)
    assert result.spec is not None
    return ready if ready is not None else compile_workflow(result.spec, result.text)


@pytest.fixture(scope="module")
def wf() -> CompiledWorkflow:
    return compiled(FIXTURES / "branch_building.yaml")


@pytest.fixture(scope="module")
def incubation() -> CompiledWorkflow:
    return compiled(ROOT / "workflows" / "social_org_incubation.yaml")


def case(state: str, *, checklist: dict[str, bool] | None = None,
         links: tuple[LinkedCase, ...] = (), status: Any = "active",
         **data: Any) -> CaseSnapshot:
    return CaseSnapshot(state=state, data={"org_name": "上古健康服务中心", "member_count": 0,
                                           **data},
                        entered_at=ENTERED, checklist=checklist or {}, links=links,
                        status=status)


def refused(outcome: Transition | Refusal | Start, code: str) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    assert outcome.code == code, (outcome.code, outcome.en)
    assert outcome.en and outcome.zh
    return outcome


def moved(outcome: Transition | Refusal) -> Transition:
    assert isinstance(outcome, Transition), outcome
    return outcome


ACCEPT = {"category": "no_members", "phone": "13800000000"}
TICKED = {"charter": True, "mentor": True}


# --- refusals ---------------------------------------------------------------------------


def test_unknown_trigger_is_refused_with_the_triggers_that_exist(wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("intake"), "fly", {}, COMMITTEE, NOW), "unknown_trigger")
    assert "accept" in r.details["triggers"] and "fly" not in r.details["triggers"]


def test_a_trigger_not_leaving_the_current_state_is_refused(wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("intake"), "publish", {}, COMMITTEE, NOW),
                "not_allowed_from_state")
    assert r.details["current_state"] == "intake"
    assert "Intake" in r.en and "受理" in r.zh  # states are named by their labels


def test_an_actor_without_a_listed_role_is_refused(wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("intake"), "accept", ACCEPT, CASEWORKER, NOW), "role_missing")
    assert r.details["required_roles"] == ["party_committee"]


def test_the_role_is_checked_before_the_input(wf: CompiledWorkflow) -> None:
    refused(decide(wf, case("intake"), "accept", {}, CASEWORKER, NOW), "role_missing")


def test_a_transition_without_roles_is_for_caseworkers(wf: CompiledWorkflow) -> None:
    state = case("joint_branch", member_count=2)
    r = refused(decide(wf, state, "remove_member", {"count": 1}, SECRETARY, NOW),
                "role_missing")
    assert r.details["required_roles"] == ["caseworker"]
    moved(decide(wf, state, "remove_member", {"count": 1}, CASEWORKER, NOW))


def test_invalid_input_is_refused_with_every_field_at_once(wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("intake"), "accept", {"category": "bogus", "extra": 1},
                       COMMITTEE, NOW), "input_invalid")
    errors = {e["field"]: e for e in r.details["errors"]}
    assert {f: e["code"] for f, e in errors.items()} == {
        "extra": "unknown", "category": "enum", "phone": "required"}
    assert errors["category"]["en"] == "must be one of: no_members, no_organization, no_mechanism"
    assert errors["phone"]["zh"] == "必须填写"
    assert "Secretary phone: a value is required" in r.en and "书记电话：必须填写" in r.zh


@pytest.mark.parametrize(("value", "code"), [
    ("138", "pattern"), (13800000000, "type_string"), (None, "required")])
def test_each_input_constraint_is_reported_by_its_code(wf: CompiledWorkflow, value: Any,
                                                       code: str) -> None:
    given = {"category": "no_members", "phone": value}
    r = refused(decide(wf, case("intake"), "accept", given, COMMITTEE, NOW), "input_invalid")
    assert [(e["field"], e["code"]) for e in r.details["errors"]] == [("phone", code)]


def test_a_false_guard_shows_the_designers_explanation_in_both_languages(
        wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("joint_branch", member_count=2), "prepare",
                       {"founded_on": "2025-03-01"}, COMMITTEE, NOW), "guard_false")
    assert r.en == "Too few full members to prepare a branch of its own."
    assert r.zh == "正式党员不足，不能筹建独立支部。"
    assert r.message("zh") == r.zh and r.message("en") == r.en
    assert r.details["guard"] == "data.member_count >= params.minimum_members"


def test_a_false_guard_without_an_explanation_gets_the_standard_one() -> None:
    text = (FIXTURES / "branch_building.yaml").read_text(encoding="utf-8").replace(
        "    refusal: {zh: 正式党员不足。, en: Too few full members yet.}\n", "")
    result = load_text(text)
    assert result.spec is not None
    plain = compile_workflow(result.spec, text)
    r = refused(decide(plain, case("approval"), "establish", {}, AUTO, NOW), "guard_false")
    assert "Establish" in r.en and "自动成立" in r.zh
    assert r.en != "Too few full members yet."


def test_a_guard_that_cannot_be_evaluated_is_refused_not_raised(wf: CompiledWorkflow) -> None:
    # certify reads data.score, which has no value yet.
    r = refused(decide(wf, case("approval"), "certify", {}, COMMITTEE, NOW), "guard_error")
    assert r.details["guard"] == "data.score >= 60.0"


def test_leaving_a_state_needs_its_checklist_and_its_stages(wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("joint_branch"), "fast_track", {}, COMMITTEE, NOW),
                "checklist_incomplete")
    assert r.details["missing"] == ["charter", "mentor"]
    r = refused(decide(wf, case("joint_branch", checklist={"charter": True}), "fast_track", {},
                       COMMITTEE, NOW), "checklist_incomplete")
    assert r.details["missing"] == ["mentor"]
    assert r.en.endswith(": Assign a mentor") and r.zh.endswith("：选派党建指导员")


def test_a_transition_may_waive_the_checklist(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("joint_branch"), "drop", {"reason": "合并"}, COMMITTEE, NOW))
    assert t.to_state == "dropped"


def test_a_suspended_case_refuses_every_trigger(wf: CompiledWorkflow) -> None:
    refused(decide(wf, case("intake", status="suspended"), "accept", ACCEPT, COMMITTEE, NOW),
            "case_suspended")


@pytest.mark.parametrize(("state", "status"), [("established", "active"),
                                               ("intake", "closed")])
def test_a_closed_case_refuses_every_trigger(wf: CompiledWorkflow, state: str,
                                             status: str) -> None:
    r = refused(decide(wf, case(state, status=status), "drop", {"reason": "again"}, ADMIN,
                       NOW), "case_closed")
    assert r.details["current_state"] == state


def test_an_effect_computing_an_invalid_value_is_refused(wf: CompiledWorkflow) -> None:
    r = refused(decide(wf, case("joint_branch", member_count=0), "remove_member", {"count": 1},
                       CASEWORKER, NOW), "effect_invalid")
    assert r.details["field"] == "member_count"
    assert "at least 0" in r.en


def test_a_deadline_beyond_the_official_calendar_is_refused(wf: CompiledWorkflow) -> None:
    late = datetime(2027, 12, 28, 9, tzinfo=UTC)
    r = refused(decide(wf, case("preparing", founded_on="2027-12-01"), "publish", {},
                       COMMITTEE, late), "calendar_not_covered")
    assert "2028" in r.en
    refused(start(wf, {"org_name": "x"}, COMMITTEE, late), "calendar_not_covered")


def test_when_every_candidate_refuses_the_first_ones_refusal_is_returned(
        wf: CompiledWorkflow) -> None:
    # certify: committee (guard on the score) first, then the secretary's refusal.
    assert [c.spec.to for c in wf.candidates("approval", "certify")] == ["established",
                                                                         "dropped"]
    refused(decide(wf, case("approval"), "certify", {}, CASEWORKER, NOW), "role_missing")
    r = refused(decide(wf, case("approval", score=50.0), "certify", {}, COMMITTEE, NOW),
                "guard_false")
    assert r.en == "The score is below 60."


# --- transitions ------------------------------------------------------------------------


def test_effects_copy_input_into_case_data(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("intake"), "accept", ACCEPT, COMMITTEE, NOW, comment="ok"))
    assert t.changes == {"category": "no_members", "secretary_phone": "13800000000"}
    assert t.data == {"org_name": "上古健康服务中心", "member_count": 0, **t.changes}
    assert t.role == "party_committee"
    assert t.event == {
        "kind": "transition", "workflow_id": "branch_building", "workflow_version": "1.2.0",
        "trigger": "accept", "from_state": "intake", "to_state": "joint_branch",
        "actor": "wang", "role": "party_committee", "input": ACCEPT, "comment": "ok",
        "changes": t.changes, "at": NOW,
    }


def test_effects_compute_from_the_data_before_the_transition(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("joint_branch", member_count=2), "add_member", {"count": 3},
                     SECRETARY, NOW))
    assert t.changes == {"member_count": 5}


def test_entering_a_stage_enters_its_first_step(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("intake"), "accept", ACCEPT, COMMITTEE, NOW))
    assert (t.from_state, t.to_state) == ("intake", "joint_branch")
    assert t.exited == ("intake",)
    assert t.entered == ("guidance", "joint_branch")
    assert not t.final and t.outcome is None


def test_steps_inherit_their_stages_transitions(wf: CompiledWorkflow) -> None:
    done = TICKED
    for step in ("joint_branch", "preparing", "public_notice"):
        t = moved(decide(wf, case(step, checklist=done), "fast_track", {}, COMMITTEE, NOW))
        assert t.to_state == "approval"
        assert t.exited[-1] == "guidance" and t.entered == ("approval",)
        t = moved(decide(wf, case(step), "drop", {"reason": "合并"}, COMMITTEE, NOW))
        assert t.to_state == "dropped" and t.final and t.outcome == "dropped"


def test_moving_between_steps_keeps_the_stage(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("preparing", founded_on="2025-03-01"), "publish", {}, COMMITTEE,
                     NOW))
    assert t.exited == ("preparing",) and t.entered == ("public_notice",)
    assert [p.timer_id for p in t.arm] == ["notice_ends"]  # the stage's review stays armed


def test_a_transition_to_the_same_state_is_internal(wf: CompiledWorkflow) -> None:
    # The charter is not ticked: staying does not need the checklist, arms no timer.
    t = moved(decide(wf, case("joint_branch"), "add_member", {"count": 1}, SECRETARY, NOW))
    assert t.to_state == t.from_state == "joint_branch"
    assert t.exited == () and t.entered == () and t.arm == ()


def test_timers_are_armed_relative_to_entry(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("intake"), "accept", ACCEPT, COMMITTEE, NOW))
    [review] = t.arm
    assert (review.state, review.timer_id, review.key) == ("guidance", "review", "guidance:review")
    assert review.due_at == datetime(2025, 9, 3, 9, 0, tzinfo=UTC)  # P6M, the parameter
    assert (review.action, review.trigger, review.repeat) == ("escalate", None, True)


def test_timers_count_working_days_on_the_official_calendar(wf: CompiledWorkflow) -> None:
    # 2025: Oct 1-8 off, Saturday Oct 11 worked. 5 working days after Tuesday Sep 30.
    before_holiday = datetime(2025, 9, 30, 9, 0, tzinfo=UTC)
    t = moved(decide(wf, case("preparing", founded_on="2025-09-01"), "publish", {}, COMMITTEE,
                     before_holiday))
    [notice] = t.arm
    assert notice.due_at == datetime(2025, 10, 14, 9, 0, tzinfo=UTC)
    assert (notice.action, notice.trigger) == ("fire", "close_notice")


def test_timers_may_count_from_a_date_field(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("joint_branch", member_count=3, checklist=TICKED), "prepare",
                     {"founded_on": "2025-02-10"}, COMMITTEE, NOW))
    [founding] = t.arm
    assert founding.timer_id == "founding_due" and founding.action == "mark_overdue"
    # P1M from the date set by this very transition's effect, at midnight UTC.
    assert founding.due_at == datetime(2025, 3, 10, 0, 0, tzinfo=UTC)


def test_a_timer_counting_from_an_empty_date_field_is_not_armed(wf: CompiledWorkflow) -> None:
    assert plan_timers(wf, ["preparing"], {"org_name": "x"}, NOW, wf.resolve_params()) == ()


def test_parameters_may_be_overridden_per_deployment(wf: CompiledWorkflow) -> None:
    params = wf.resolve_params({"notice_working_days": 7, "minimum_members": 1})
    assert params == {"notice_working_days": 7, "minimum_members": 1,
                      "review_interval": "P6M", "founding_deadline": "P1M"}
    t = moved(decide(wf, case("joint_branch", member_count=1, checklist=TICKED), "prepare",
                     {"founded_on": "2025-03-01"}, COMMITTEE, NOW, params))
    assert t.to_state == "preparing"
    t = moved(decide(wf, case("preparing", founded_on="2025-03-01"), "publish", {}, COMMITTEE,
                     NOW, params))
    assert t.arm[0].due_at == default_calendar().add_working_days(NOW, 7)


@pytest.mark.parametrize("overrides", [
    {"unknown": 1}, {"minimum_members": "3"}, {"minimum_members": True},
    {"review_interval": 6}])
def test_bad_parameter_overrides_are_definition_errors(wf: CompiledWorkflow,
                                                       overrides: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        wf.resolve_params(overrides)


def test_system_actors_bypass_roles(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("public_notice", checklist=TICKED), "close_notice", {}, TIMER,
                     NOW))
    assert t.to_state == "approval" and t.role is None and t.event["actor"] == "system:timer"


def test_an_admin_may_fire_anything(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("intake"), "accept", ACCEPT, ADMIN, NOW))
    assert t.role == "admin"


def test_the_listed_role_is_recorded_before_admin(wf: CompiledWorkflow) -> None:
    both = Actor("chen", frozenset({"admin", "party_committee"}))
    assert moved(decide(wf, case("intake"), "accept", ACCEPT, both, NOW)).role == \
        "party_committee"


def full_members(n: int, *, workflow: str = "member_development") -> tuple[LinkedCase, ...]:
    return tuple(LinkedCase(f"m{i}", workflow, "full_member", "member") for i in range(n))


def test_linked_counts_cases_by_workflow_and_state(wf: CompiledWorkflow) -> None:
    links = (*full_members(2), LinkedCase("p1", "member_development", "probation"),
             LinkedCase("o1", "social_org_incubation", "full_member"))
    env = environment(wf, case("approval", links=links), NOW, wf.resolve_params())
    scope = Scope(data=frozenset(wf.fields), params=frozenset(wf.spec.parameters))

    def count(expression: str) -> Any:
        return compile_expression(expression, scope).evaluate(env)

    assert count('linked("member_development", "full_member")') == 2
    assert count('linked("member_development")') == 3
    assert count('linked("member_development", "applicant")') == 0
    assert count('linked("nothing")') == 0


def test_effects_may_test_for_optional_input(wf: CompiledWorkflow) -> None:
    t = moved(decide(wf, case("approval"), "assess", {"score": 75}, COMMITTEE, NOW))
    assert t.changes == {"score": 75.0, "tags": []}
    assert t.exited == () and t.entered == ()
    t = moved(decide(wf, case("approval"), "assess", {"score": 80.5, "tags": ["养老"]},
                     COMMITTEE, NOW))
    assert t.changes == {"score": 80.5, "tags": ["养老"]}


def test_an_automatic_transition_fires_when_its_guard_holds(wf: CompiledWorkflow) -> None:
    assert automatic_step(wf, case("approval", links=full_members(2)), NOW) is None
    t = automatic_step(wf, case("approval", links=full_members(3)), NOW)
    assert t is not None
    assert (t.trigger, t.to_state, t.event["actor"]) == ("establish", "established", "system:auto")
    assert t.outcome == "established"
    other = full_members(3, workflow="social_org_incubation")
    assert automatic_step(wf, case("approval", links=other), NOW) is None


def test_automatic_steps_respect_parameters_and_status(wf: CompiledWorkflow) -> None:
    low = wf.resolve_params({"minimum_members": 2})
    assert automatic_step(wf, case("approval", links=full_members(2)), NOW, low) is not None
    paused = case("approval", links=full_members(5), status="suspended")
    assert automatic_step(wf, paused, NOW) is None
    assert automatic_step(wf, case("intake"), NOW) is None  # no automatic transition there


def test_available_actions_list_every_trigger_with_the_reason(wf: CompiledWorkflow) -> None:
    actions = available_actions(wf, case("joint_branch"), COMMITTEE, NOW)
    assert [a.trigger for a in actions] == list(wf.triggers)
    reasons = {a.trigger: (a.refusal.code if a.refusal else None) for a in actions}
    assert reasons == {
        "accept": "not_allowed_from_state", "add_member": "role_missing",
        "remove_member": "role_missing", "prepare": "guard_false",
        "publish": "not_allowed_from_state", "close_notice": "not_allowed_from_state",
        "assess": "not_allowed_from_state", "establish": "not_allowed_from_state",
        "certify": "not_allowed_from_state", "fast_track": "checklist_incomplete",
        "drop": None,
    }
    allowed = {a.trigger for a in actions if a.allowed}
    assert allowed == {"drop"}
    drop = next(a for a in actions if a.trigger == "drop")
    assert drop.transition is not None and drop.transition.spec.to == "dropped"


def test_available_actions_do_not_offer_automatic_transitions(wf: CompiledWorkflow) -> None:
    actions = available_actions(wf, case("approval", links=full_members(3)), ADMIN, NOW)
    establish = next(a for a in actions if a.trigger == "establish")
    assert not establish.allowed


def test_a_guard_on_input_is_offered_until_the_input_is_known(
        incubation: CompiledWorkflow) -> None:
    snapshot = CaseSnapshot("selection", {"name": "x", "residents_need": "y"}, ENTERED)
    select = next(a for a in available_actions(incubation, snapshot, COMMITTEE, NOW)
                  if a.trigger == "select")
    assert select.allowed
    r = refused(decide(incubation, snapshot, "select", {"not_on_abnormal_lists": False},
                       COMMITTEE, NOW), "guard_false")
    assert r.zh == "列入活动异常名录或严重违法失信名单的组织不能入选。"


def test_available_actions_of_a_suspended_case_all_say_so(wf: CompiledWorkflow) -> None:
    actions = available_actions(wf, case("joint_branch", status="suspended"), ADMIN, NOW)
    assert {a.refusal.code for a in actions if a.refusal} == {"case_suspended"}
    assert not any(a.allowed for a in actions)


# --- starting a case --------------------------------------------------------------------


def test_starting_a_case_fills_defaults_and_arms_the_first_timers(wf: CompiledWorkflow) -> None:
    s = start(wf, {"org_name": "科普工作室", "category": "no_mechanism", "member_count": 2},
              COMMITTEE, NOW)
    assert isinstance(s, Start)
    assert s.state == "intake"
    assert s.data == {"org_name": "科普工作室", "category": "no_mechanism", "member_count": 2}
    [reply] = s.arm
    assert reply.due_at == datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # 5 working days
    assert s.priority == 12.0  # data.member_count + 10 for no_mechanism
    assert s.event["kind"] == "start" and s.event["to_state"] == "intake"


def test_a_priority_that_cannot_be_computed_ranks_zero(wf: CompiledWorkflow) -> None:
    s = start(wf, {"org_name": "x"}, COMMITTEE, NOW)  # no category: the expression fails
    assert isinstance(s, Start) and s.priority == 0.0
    assert s.data == {"org_name": "x", "member_count": 0}


def test_starting_with_invalid_data_is_refused_per_field(wf: CompiledWorkflow) -> None:
    r = refused(start(wf, {"member_count": -1}, COMMITTEE, NOW), "input_invalid")
    assert {(e["field"], e["code"]) for e in r.details["errors"]} == {
        ("org_name", "required"), ("member_count", "min")}


def test_the_shipped_workflow_runs_from_selection_to_graduation(
        incubation: CompiledWorkflow) -> None:
    s = start(incubation, {"name": "上古健康服务中心", "residents_need": "居家养老"},
              COMMITTEE, NOW)
    assert isinstance(s, Start) and s.priority == 0.0
    # party presence is read from the linked party-organization record
    branch = (LinkedCase("po", "party_organization", "independent_branch", "party",
                         within=("branch_formed",)),)
    assert priority(incubation, CaseSnapshot(s.state, s.data, NOW, links=branch), NOW,
                    incubation.resolve_params({})) == 2.0
    snap = CaseSnapshot(s.state, s.data, NOW)
    today = NOW.date().isoformat()
    evaluation = {"evaluated_on": today, "services_as_agreed": True,
                  "effect_achieved": "achieved"}
    steps: list[tuple[str, dict[str, Any], dict[str, bool]]] = [
        ("select", {"not_on_abnormal_lists": True}, {}),
        ("sign_agreement", {"services": "居家养老服务", "activity_sessions": 1,
                            "expected_effect": "服务 9000 人次", "agreement_date": today,
                            "venue": "活动室", "startup_funds_yuan": 20000,
                            "instructor": "陈红", "resources_due": today}, {}),
        ("record_delivery", {"delivered_on": today, "kind": "activity", "title": "健康讲座",
                             "people_served": 40, "evidence": "签到表"}, {}),
        ("record_evaluation", {**evaluation, "result": "good"}, {}),
        ("begin_final_evaluation", {}, {"venue": True, "startup_funds": True,
                                        "party_instructor": True, "incubation_plan": True}),
        ("record_final_result", {**evaluation, "result": "passed"}, {}),
        ("graduate", {}, {}),
    ]
    for trigger, given, ticks in steps:
        snap = CaseSnapshot(snap.state, snap.data, NOW, checklist=ticks)
        t = moved(decide(incubation, snap, trigger, given, COMMITTEE, NOW))
        snap = CaseSnapshot(t.to_state, t.data, NOW)
    assert snap.state == "graduated"
    assert snap.data["evaluations"] == 1 and snap.data["final_result"] == "passed"
    assert snap.data["delivery_percent"] == 100


# --- the core decides, the shell acts ---------------------------------------------------


def test_the_decision_module_imports_no_database_web_or_scheduler_code() -> None:
    probe = ("import json, sys, engine.core.decision; "
             "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"sqlmodel", "sqlalchemy", "fastapi", "starlette", "apscheduler",
                         "uvicorn", "psycopg", "alembic"}


@pytest.mark.parametrize("module", ["decision.py", "guards.py", "refusals.py"])
def test_the_decision_module_reads_no_clock(module: str) -> None:
    source = (ROOT / "engine" / "core" / module).read_text(encoding="utf-8")
    assert ".now(" not in source and "time.time" not in source and "utcnow" not in source
