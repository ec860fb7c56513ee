"""Auditors' queries on what events recorded: conditions on the input and the role used,
parsed at the edge and answered by the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from conftest import COMMITTEE
from test_service import AGREEMENT, start_org

from engine.audit.filters import ConditionError, InputCondition, parse_condition
from engine.service import CaseService


def test_a_numeric_condition_parses_to_a_number() -> None:
    assert parse_condition("activity_sessions>20") == InputCondition(
        "activity_sessions", ">", 20.0)


def test_text_and_booleans_keep_their_kind() -> None:
    assert parse_condition("result = passed") == InputCondition("result", "=", "passed")
    assert parse_condition("urgent=true") == InputCondition("urgent", "=", True)


@pytest.mark.parametrize("text", ["", "activity_sessions", ">20", "Bad-Name=1",
                                  "result>passed"])
def test_a_malformed_condition_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ConditionError, match="not a"):
        parse_condition(text)


def agreements(service: CaseService, sessions: list[int]) -> None:
    for number, count in enumerate(sessions):
        case = start_org(service, f"Organization {number}")
        service.fire(case.case.id, "select", input={"not_on_abnormal_lists": True},
                     actor=COMMITTEE)
        service.fire(case.case.id, "sign_agreement",
                     input={**AGREEMENT, "activity_sessions": count}, actor=COMMITTEE)


def test_events_are_found_by_a_number_in_their_input(service: CaseService) -> None:
    agreements(service, [4, 24, 36])
    found, _ = service.list_events(conditions=[parse_condition("activity_sessions>20")])
    assert sorted(e.input["activity_sessions"] for e in found) == [24, 36]


def test_events_are_found_by_text_in_their_input_and_by_role(service: CaseService) -> None:
    agreements(service, [4])
    by_text, _ = service.list_events(
        conditions=[parse_condition("services=elderly care visits")])
    assert [e.trigger for e in by_text] == ["sign_agreement"]
    by_role, _ = service.list_events(role=COMMITTEE_ROLE, trigger="select")
    assert [e.role for e in by_role] == [COMMITTEE_ROLE]
    assert service.list_events(role="auditor")[0] == []


COMMITTEE_ROLE = sorted(COMMITTEE.roles)[0]
