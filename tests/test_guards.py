"""Where guards are evaluated: several conditions with their own refusals, refusal texts that
name values, titles instead of ids, who may start a case, timers that mark overdue and
escalate and count days as a parameter says.

The workflow is `tests/fixtures/workflows/charity_venture.yaml`, a designer's application
procedure written with these features.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.core.compiler import CompiledWorkflow
from engine.core.decision import (
    Actor,
    CaseSnapshot,
    Start,
    Transition,
    available_actions,
    decide,
    plan_timers,
    start,
)
from engine.definitions.loader import load_file
from engine.errors import Refusal

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "workflows" / "charity_venture.yaml"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
APPLICANT = Actor("chen", frozenset({"applicant"}))
REVIEWER = Actor("lin", frozenset({"street_reviewer"}))
ADMIN = Actor("root", frozenset({"admin"}))
GOOD = {"budget": 30000, "area": "elderly", "submitted_on": "2025-03-01"}


@pytest.fixture(scope="module")
def wf() -> CompiledWorkflow:
    result = load_file(FIXTURE)
    assert result.ok and result.compiled is not None, [d.format() for d in result.diagnostics]
    return result.compiled


def draft(**data: Any) -> CaseSnapshot:
    return CaseSnapshot(state="draft", data={"project_name": "银龄食堂", **data},
                        entered_at=NOW - timedelta(days=1))


def refusal_of(outcome: Transition | Refusal | Start) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    return outcome


def test_each_condition_refuses_with_its_own_text(wf: CompiledWorkflow) -> None:
    future = refusal_of(decide(wf, draft(), "submit", {**GOOD, "submitted_on": "2025-04-01"},
                               APPLICANT, NOW))
    assert future.code == "guard_false"
    assert future.zh == "提交日期不能晚于今天"
    assert future.en == "The submission date cannot be in the future"
    assert future.details["guard"] == "input.submitted_on <= today"


def test_conditions_are_checked_in_the_order_written(wf: CompiledWorkflow) -> None:
    both = {**GOOD, "budget": 90000, "submitted_on": "2025-04-01"}
    first = refusal_of(decide(wf, draft(), "submit", both, APPLICANT, NOW))
    assert first.details["guard"] == "input.budget <= params.max_budget"


def test_a_refusal_text_shows_parameters_fields_and_input(wf: CompiledWorkflow) -> None:
    over = refusal_of(decide(wf, draft(), "submit", {**GOOD, "budget": 60000}, APPLICANT, NOW))
    assert over.zh == "银龄食堂的预算 60000 元超过上限 50000 元"
    assert over.en.endswith("60000 yuan, is over the limit of 50000 yuan")


def test_a_refusal_text_follows_a_community_override(wf: CompiledWorkflow) -> None:
    params = wf.resolve_params({"max_budget": 40000})
    over = refusal_of(decide(wf, draft(), "submit", {**GOOD, "budget": 45000}, APPLICANT, NOW,
                             params))
    assert "上限 40000 元" in over.zh


def test_an_enumerated_value_is_shown_by_its_title_in_a_refusal(wf: CompiledWorkflow) -> None:
    refused = refusal_of(decide(wf, draft(), "submit", {**GOOD, "area": "environment"},
                                APPLICANT, NOW))
    assert refused.en == "projects in Environment are not accepted this round"


def test_a_value_without_a_chinese_title_falls_back_to_its_english_one(
        wf: CompiledWorkflow) -> None:
    refused = refusal_of(decide(wf, draft(), "submit", {**GOOD, "area": "environment"},
                                APPLICANT, NOW))
    assert refused.zh == "本期不受理“Environment”项目"


def test_an_invalid_enum_input_lists_the_allowed_values_by_title(wf: CompiledWorkflow) -> None:
    s = refusal_of(start(wf, {"project_name": "x", "area": "sports"}, APPLICANT, NOW))
    assert s.code == "input_invalid"
    assert "为老服务、儿童服务、Environment" in s.zh and "服务领域" in s.zh
    assert "Elderly care, Children, Environment" in s.en


def test_a_missing_checklist_is_named_by_the_items_titles(wf: CompiledWorkflow) -> None:
    review = CaseSnapshot(state="street_review", data={"project_name": "x"}, entered_at=NOW,
                          checklist={"site_visit": True})
    missing = refusal_of(decide(wf, review, "approve", {}, REVIEWER, NOW))
    assert missing.code == "checklist_incomplete"
    assert missing.details["missing"] == ["budget_check"]
    assert missing.zh.endswith("：预算审查") and "budget_check" not in missing.zh
    assert missing.en.endswith(": Budget check")


def test_state_titles_in_refusals_show_parameter_values(wf: CompiledWorkflow) -> None:
    review = CaseSnapshot(state="street_review", data={"project_name": "x"}, entered_at=NOW)
    wrong = refusal_of(decide(wf, review, "submit", GOOD, APPLICANT, NOW))
    assert "街道审核（10天）" in wrong.zh and "{" not in wrong.zh


def test_only_the_declared_roles_may_start_a_case(wf: CompiledWorkflow) -> None:
    refused = refusal_of(start(wf, {"project_name": "x"}, REVIEWER, NOW))
    assert refused.code == "start_role_missing"
    assert refused.details["required_roles"] == ["applicant"]
    assert "社区公益创投项目申报" in refused.zh
    assert isinstance(start(wf, {"project_name": "x"}, APPLICANT, NOW), Start)
    assert isinstance(start(wf, {"project_name": "x"}, ADMIN, NOW), Start)


def test_a_condition_reading_input_is_judged_when_fired_not_in_the_actions_list(
        wf: CompiledWorkflow) -> None:
    actions = {a.trigger: a for a in available_actions(wf, draft(), APPLICANT, NOW)}
    assert actions["submit"].allowed


def test_one_timer_marks_overdue_and_escalates(wf: CompiledWorkflow) -> None:
    plans = plan_timers(wf, ["street_review"], {}, NOW, wf.resolve_params())
    assert [(p.timer_id, p.action) for p in plans] == [("review_due", "mark_overdue"),
                                                       ("review_due", "escalate")]
    assert plans[0].due_at == plans[1].due_at


def test_a_parameter_switches_a_timer_between_working_and_calendar_days(
        wf: CompiledWorkflow) -> None:
    working = plan_timers(wf, ["street_review"], {}, NOW, wf.resolve_params())[0]
    calendar = plan_timers(wf, ["street_review"], {}, NOW,
                           wf.resolve_params({"review_counting": "calendar"}))[0]
    assert calendar.due_at == NOW + timedelta(days=10)
    assert working.due_at == NOW + timedelta(days=14)  # two weekends in ten working days


def test_a_string_parameter_override_must_be_one_of_its_values(wf: CompiledWorkflow) -> None:
    with pytest.raises(Exception, match="one of: working, calendar"):
        wf.resolve_params({"review_counting": "lunar"})


def test_titles_and_values_as_people_read_them(wf: CompiledWorkflow) -> None:
    assert wf.value_title("area", "children", "zh") == "儿童服务"
    assert wf.value_title("area", "children", "en") == "Children"
    assert wf.text(wf.states["street_review"].spec.title, "en") == "Street review (10 days)"
