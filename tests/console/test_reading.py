"""What the desk reads from the service beyond what the API lists: the next deadline of
each record of a queue page, in one query, on both databases."""

from __future__ import annotations

from conftest import CASEWORKER, COMMITTEE, COMMUNITY

from engine.service import CaseService


def _confirming(service: CaseService, name: str) -> str:
    """A record in confirmation, where a reply deadline runs."""
    case_id = service.start_case("store_incubation", {"name": name, "residents_need": "助老"},
                                 actor=CASEWORKER, community=COMMUNITY).case.id
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    return case_id


def test_next_due_gives_each_records_soonest_pending_deadline(service: CaseService) -> None:
    waiting, paused = _confirming(service, "甲"), _confirming(service, "乙")
    service.suspend(paused, actor=CASEWORKER, reason="负责人变更")
    due = service.next_due([waiting, paused, "0000000000000000"])
    assert list(due) == [waiting]
    assert due[waiting] > service.clock.now() and due[waiting].tzinfo is not None
