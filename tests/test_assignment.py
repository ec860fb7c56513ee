"""The responsible person (责任人) and the follow-up date through the one door: each change
recorded in the case's history and chained; who may claim, assign, hand over and set the
follow-up; the queue's views read them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY, store_snapshot

from engine.audit.verify import verify
from engine.core.decision import Actor
from engine.errors import Refused
from engine.service import CaseService
from engine.service.assignment import may_assign

INCUBATION = "store_incubation"
COLLEAGUE = Actor("zhou.caseworker", frozenset({"caseworker"}))


def _start(service: CaseService, name: str = "Sunshine volunteers") -> str:
    result = service.start_case(INCUBATION, {"name": name, "residents_need": "elderly care"},
                                actor=COMMITTEE, community=COMMUNITY)
    return str(result.case.id)


def _refused(call: Any, engine: sa.Engine) -> Refused:
    before = store_snapshot(engine)
    with pytest.raises(Refused) as caught:
        call()
    assert store_snapshot(engine) == before
    return caught.value


def test_a_caseworker_claims_an_unassigned_case_and_the_history_says_so(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = _start(service)
    result = service.assign(case_id, CASEWORKER.id, actor=CASEWORKER)
    assert result.case.assignee == CASEWORKER.id
    event = service.history(case_id)[-1]
    assert event.kind == "assignment" and event.actor == CASEWORKER.id
    assert event.input == {"assignee": CASEWORKER.id, "previous": None}
    assert verify(engine) == []


def test_a_caseworker_cannot_take_a_colleagues_case(service: CaseService,
                                                    engine: sa.Engine) -> None:
    case_id = _start(service)
    service.assign(case_id, COLLEAGUE.id, actor=COLLEAGUE)
    refusal = _refused(lambda: service.assign(case_id, CASEWORKER.id, actor=CASEWORKER),
                       engine)
    assert refusal.refusal.code == "assignment_not_allowed"
    assert "负责社区工作" in refusal.refusal.zh


def test_whoever_leads_the_community_hands_a_case_over(service: CaseService) -> None:
    case_id = _start(service)
    service.assign(case_id, COLLEAGUE.id, actor=COLLEAGUE)
    result = service.assign(case_id, CASEWORKER.id, actor=COMMITTEE, comment="周老师调岗")
    assert result.case.assignee == CASEWORKER.id
    event = service.history(case_id)[-1]
    assert event.input["previous"] == COLLEAGUE.id and event.comment == "周老师调岗"


def test_the_responsible_person_hands_their_own_case_over(service: CaseService) -> None:
    case_id = _start(service)
    service.assign(case_id, CASEWORKER.id, actor=CASEWORKER)
    assert service.assign(case_id, COLLEAGUE.id, actor=CASEWORKER).case.assignee == \
        COLLEAGUE.id


def test_assigning_the_same_person_again_is_refused(service: CaseService,
                                                    engine: sa.Engine) -> None:
    case_id = _start(service)
    service.assign(case_id, CASEWORKER.id, actor=CASEWORKER)
    refusal = _refused(lambda: service.assign(case_id, CASEWORKER.id, actor=COMMITTEE),
                       engine)
    assert refusal.refusal.code == "assignment_unchanged"


def test_an_assignment_is_replayed_for_its_idempotency_key(service: CaseService) -> None:
    case_id = _start(service)
    first = service.assign(case_id, CASEWORKER.id, actor=CASEWORKER, idempotency_key="k-1")
    again = service.assign(case_id, CASEWORKER.id, actor=CASEWORKER, idempotency_key="k-1")
    assert again.replayed and again.event.seq == first.event.seq


def test_the_responsible_person_sets_a_follow_up_date(service: CaseService) -> None:
    case_id = _start(service)
    service.assign(case_id, CASEWORKER.id, actor=CASEWORKER)
    result = service.follow_up(case_id, date(2026, 3, 9), actor=CASEWORKER,
                               idempotency_key="f-1")
    assert result.case.follow_up_on == date(2026, 3, 9)
    assert service.history(case_id)[-1].input == {"on": "2026-03-09"}
    replayed = service.follow_up(case_id, date(2026, 3, 9), actor=CASEWORKER,
                                 idempotency_key="f-1")
    assert replayed.replayed and replayed.case.follow_up_on == date(2026, 3, 9)


def test_someone_else_cannot_set_the_follow_up_date(service: CaseService,
                                                    engine: sa.Engine) -> None:
    case_id = _start(service)
    service.assign(case_id, CASEWORKER.id, actor=CASEWORKER)
    refusal = _refused(lambda: service.follow_up(case_id, date(2026, 3, 9), actor=COLLEAGUE),
                       engine)
    assert refusal.refusal.code == "follow_up_not_allowed"


def test_a_handover_clears_the_previous_persons_follow_up(service: CaseService) -> None:
    case_id = _start(service)
    service.assign(case_id, CASEWORKER.id, actor=CASEWORKER)
    service.follow_up(case_id, date(2026, 3, 9), actor=CASEWORKER)
    assert service.assign(case_id, COLLEAGUE.id, actor=COMMITTEE).case.follow_up_on is None


def test_the_queue_lists_mine_unassigned_and_follow_ups_due(service: CaseService) -> None:
    mine, other = _start(service, "mine"), _start(service, "other")
    _start(service, "free")
    service.assign(mine, CASEWORKER.id, actor=CASEWORKER)
    service.assign(other, COLLEAGUE.id, actor=COLLEAGUE)
    service.follow_up(mine, date(2026, 3, 5), actor=CASEWORKER)

    def titles(**filters: Any) -> list[str | None]:
        views, _ = service.list_cases(community_prefix=COMMUNITY, **filters)
        return sorted(v.title for v in views)

    assert titles(assignee=CASEWORKER.id) == ["mine"]
    assert titles(unassigned=True) == ["free"]
    assert titles(follow_up_by=date(2026, 3, 4)) == []
    assert titles(follow_up_by=date(2026, 3, 5)) == ["mine"]


def test_only_a_lead_takes_a_case_from_someone() -> None:
    assert may_assign(CASEWORKER, COLLEAGUE.id, None) is not None
    assert may_assign(COMMITTEE, COLLEAGUE.id, None) is None
    assert may_assign(CASEWORKER, None, CASEWORKER.id) is None
