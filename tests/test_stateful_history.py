"""A machine tries sequences of changes on the service (starts, fires, ticks, suspensions,
links, closes, clock advances that make timers fall due and a worker fire them, requests
retried with their idempotency key, one after the other and at the same time) and checks
after each step that every case row is the projection of its events, every chain and the
operations log verify, no timer stays due unfired, and a retried change is stored once
and answered the same (SQLite and PostgreSQL). Short here; `HATCHERY_SOAK=1` runs many
more steps."""

from __future__ import annotations

import os
import threading
import uuid
from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from engine.audit import verify as audit
from engine.clock import FrozenClock
from engine.errors import HatcheryError
from engine.ledger.keys import ChainKey, attach
from engine.service import CaseService
from engine.store.tables import TIMERS
from engine.timers.worker import fire_due

SOAK = os.environ.get("HATCHERY_SOAK") == "1"


def _events_of(engine: sa.Engine, case: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM events WHERE case_id = :c"),
                                      {"c": case}).scalar_one())


def test_random_changes_keep_every_case_a_projection_of_its_events(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
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

        @rule(days=st.sampled_from([1, 29, 31, 200, 366]))
        def time_passes(self, days: int) -> None:
            """The clock moves on and a worker fires what fell due (review after 30 days,
            the yearly escalation, repeating)."""
            clock.advance(timedelta(days=days))
            fire_due(service, clock, worker_id="machine", limit=1000)

        @rule(case=cases, by=st.integers(1, 10**6), together=st.booleans())
        def retried(self, case: str, by: int, together: bool) -> None:
            """The same change sent twice under one key (a client that lost the answer),
            one after the other or at the same time: stored once, answered the same."""
            key = f"retry-{uuid.uuid4().hex}"
            before = _events_of(engine, case)
            answers: list[Any] = []

            def send() -> None:
                try:
                    answers.append(service.fire(case, "grow", input={"by": by},
                                                actor=CASEWORKER, idempotency_key=key))
                except HatcheryError as error:
                    answers.append(type(error).__name__)

            if together:
                threads = [threading.Thread(target=send) for _ in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                send()
                send()
            assert len(answers) == 2
            done = [a for a in answers if not isinstance(a, str)]
            if done:
                assert len(done) == 2, answers  # a retry of a stored change is its replay
                assert done[0].event.seq == done[1].event.seq
                assert sorted(a.replayed for a in done) == [False, True]
                assert _events_of(engine, case) == before + 1 + len(done[0].automatic)
            else:
                assert answers[0] == answers[1]
                assert _events_of(engine, case) == before

        @staticmethod
        def _try(change: object) -> None:
            with suppress(HatcheryError):  # a refusal changes nothing: the invariant checks
                change()  # type: ignore[operator]

        @invariant()
        def every_history_verifies(self) -> None:
            assert audit.verify(engine) == []

        @invariant()
        def no_timer_stays_due(self) -> None:
            timers = TIMERS
            with engine.connect() as connection:
                due = connection.execute(sa.select(sa.func.count()).where(
                    timers.c.status == "pending", timers.c.due_at <= clock.now())).scalar_one()
            assert due == 0

    run = settings(max_examples=40 if SOAK else 4, stateful_step_count=40 if SOAK else 10,
                   deadline=None, database=None, derandomize=not SOAK,
                   suppress_health_check=list(HealthCheck))
    History.TestCase.settings = run
    History.TestCase().runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
