"""The simulated province (`bench/province.py`): generated cases are rows the service works
with, on both databases: each case is its last event, and a fire continues its history."""

from __future__ import annotations

import sqlalchemy as sa

from bench import province
from engine.clock import SystemClock
from engine.core.decision import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService


def test_generated_cases_are_their_last_event_and_take_a_fire(db_url: str) -> None:
    engine = province.prepare(db_url)
    try:
        assert province.generate(engine, 12, 10) == 120
        assert province.generate(engine, 3, 10) == 30  # beside the first ones
        with engine.connect() as connection:
            cases = connection.execute(sa.text(
                "SELECT c.id, c.state = e.to_state AND c.head_hash = e.hash "
                "AND c.version = 10 FROM cases c JOIN events e ON e.case_id = c.id "
                "AND e.seq = c.event_count")).all()
            communities = connection.execute(sa.text(
                "SELECT count(DISTINCT community) FROM cases")).scalar_one()
        assert len(cases) == 15 and all(ok for _, ok in cases)
        assert communities == 15
        service = CaseService(engine, WorkflowRegistry(engine), SystemClock())
        fired = service.fire(cases[0][0], "note",
                             actor=Actor("worker_0000", frozenset({"caseworker"})))
        assert fired.event.seq == 11
    finally:
        engine.dispose()
