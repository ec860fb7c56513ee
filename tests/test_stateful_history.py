"""A machine tries sequences of changes on the service (starts, fires, ticks, suspensions,
links, closes) and checks after each step that every case row is the projection of its
events and every chain verifies (SQLite and PostgreSQL). Short here; `HATCHERY_SOAK=1`
runs many more steps."""

from __future__ import annotations

import os
from contextlib import suppress

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from engine.audit import verify as audit
from engine.errors import HatcheryError
from engine.ledger.keys import ChainKey, attach
from engine.service import CaseService

SOAK = os.environ.get("HATCHERY_SOAK") == "1"


def test_random_changes_keep_every_case_a_projection_of_its_events(
        service: CaseService, engine: sa.Engine) -> None:
    attach(engine, ChainKey.generate())

    class History(RuleBasedStateMachine):
        cases = Bundle("cases")

        @initialize(target=cases)
        def first(self) -> str:
            return service.start_case("store_org", {"name": "起点"}, actor=COMMITTEE,
                                      community=COMMUNITY).case.id

        @rule(target=cases, name=st.text(st.characters(exclude_categories=("Cs", "Cc")),
                                          min_size=1, max_size=12).filter(str.strip))
        def start(self, name: str) -> str:
            return service.start_case("store_org", {"name": name}, actor=COMMITTEE,
                                      community=COMMUNITY).case.id

        @rule(case=cases, by=st.integers(1, 10**6))
        def grow(self, case: str, by: int) -> None:
            self._try(lambda: service.fire(case, "grow", input={"by": by}, actor=CASEWORKER))

        @rule(case=cases, trigger=st.sampled_from(["approve", "restart", "dissolve"]))
        def move(self, case: str, trigger: str) -> None:
            self._try(lambda: service.fire(case, trigger, actor=COMMITTEE))

        @rule(case=cases, item=st.sampled_from(["venue", "plan"]))
        def tick(self, case: str, item: str) -> None:
            self._try(lambda: service.tick(case, item, evidence="room 3", actor=CASEWORKER))

        @rule(case=cases, suspend=st.booleans())
        def pause(self, case: str, suspend: bool) -> None:
            if suspend:
                self._try(lambda: service.suspend(case, actor=CASEWORKER, reason="pause"))
            else:
                self._try(lambda: service.resume(case, actor=CASEWORKER))

        @rule(case=cases, other=cases)
        def link(self, case: str, other: str) -> None:
            self._try(lambda: service.link(case, other, relation="related",
                                           actor=CASEWORKER))

        @staticmethod
        def _try(change: object) -> None:
            with suppress(HatcheryError):  # a refusal changes nothing: the invariant checks
                change()  # type: ignore[operator]

        @invariant()
        def every_history_verifies(self) -> None:
            assert audit.verify(engine) == []

    run = settings(max_examples=40 if SOAK else 3, stateful_step_count=40 if SOAK else 8,
                   deadline=None, database=None, derandomize=not SOAK,
                   suppress_health_check=list(HealthCheck))
    History.TestCase.settings = run
    History.TestCase().runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
