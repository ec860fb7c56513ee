"""The case row's `next_due` is the due time of its soonest pending timer after every kind of
timer write: arming (a start, entering a timed state, a repeating timer's next time),
cancelling (leaving a state, closing), firing (by a worker, or first inside a later change),
pausing and resuming, moving to a newer workflow version, and the migration that adds the
column. The pure rules of `engine.service.deadlines` are checked without a database.
SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import COMMUNITY
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from engine.clock import FrozenClock
from engine.core.change import ArmTimers, CancelTimers, KeepTimers, PauseTimers, ResumeTimers
from engine.core.decision import Actor
from engine.core.snapshot import TimerPlan
from engine.definitions.registry import WorkflowRegistry
from engine.errors import HatcheryError
from engine.service import CaseService
from engine.service.deadlines import after
from engine.settings import PROJECT_ROOT
from engine.store import repository
from engine.store.db import read_connection, write_connection
from engine.store.migrating import downgrade, upgrade
from engine.store.tables import CASES, TIMERS
from engine.timers.worker import fire_due

DEMO = PROJECT_ROOT / "tests" / "fixtures" / "timers" / "timer_demo.yaml"
DESIGNER = Actor("zhou.designer", frozenset({"designer"}))
WORKER = Actor("li.caseworker", frozenset({"party_committee", "caseworker"}))
DAY = timedelta(days=1)
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _demo_v2() -> str:
    """timer_demo 1.1.0: `waiting` loses its soonest timer (overdue, 10 days)."""
    text = DEMO.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0")
    return text.replace("      - {id: overdue, duration: P10D, action: mark_overdue}\n", "")


@pytest.fixture
def registry(engine: sa.Engine, clock: FrozenClock) -> WorkflowRegistry:
    found = WorkflowRegistry(engine, clock)
    found.register_texts([(DEMO.read_text(encoding="utf-8"), str(DEMO)),
                          (_demo_v2(), "timer_demo_v2.yaml")])
    return found


def mismatches(engine: sa.Engine) -> list[tuple[str, Any, Any]]:
    """Every case whose `next_due` is not the due time of its soonest pending timer."""
    timers, cases = TIMERS, CASES
    soonest = (sa.select(timers.c.case_id, sa.func.min(timers.c.due_at).label("due"))
               .where(timers.c.status == "pending").group_by(timers.c.case_id).subquery())
    query = (sa.select(cases.c.id, cases.c.next_due, soonest.c.due)
             .select_from(cases.outerjoin(soonest, soonest.c.case_id == cases.c.id)))
    with read_connection(engine) as connection:
        rows = connection.execute(query).all()
    # The subquery's min() comes back raw on SQLite (text): compare through the table type.
    return [(row.id, row.next_due, row.due) for row in rows
            if row.next_due != _aware(row.due)]


def _aware(value: Any) -> datetime | None:
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC)


def next_due(engine: sa.Engine, case_id: str) -> datetime | None:
    with read_connection(engine) as connection:
        return repository.next_due(connection, [case_id]).get(case_id)


def start(service: CaseService) -> str:
    return service.start_case("timer_demo", {"name": "阳光读书会"}, actor=WORKER,
                              community=COMMUNITY, version="1.0.0").case.id


# -- the pure rules -------------------------------------------------------------------------


def _plan(due: datetime) -> TimerPlan:
    return TimerPlan("waiting", "t", due, "escalate", None, False)


def test_arming_takes_the_earlier_due_time() -> None:
    assert after(T0 + DAY, True, [ArmTimers((_plan(T0 + 2 * DAY), _plan(T0)))]) == (T0, True)
    assert after(None, True, [ArmTimers((_plan(T0),))]) == (T0, True)


def test_pausing_leaves_no_pending_timer_whatever_was_known() -> None:
    assert after(T0, False, [PauseTimers()]) == (None, True)


def test_cancelling_is_known_only_when_nothing_was_pending() -> None:
    assert after(None, True, [CancelTimers(("waiting",))]) == (None, True)
    assert after(T0, True, [CancelTimers(None)])[1] is False
    assert after(T0, True, [KeepTimers(frozenset())])[1] is False


def test_resuming_is_read_back_from_the_timers() -> None:
    assert after(None, True, [ResumeTimers()])[1] is False


# -- every kind of timer write, on both databases -----------------------------------------


def test_a_start_stores_the_soonest_of_the_timers_it_arms(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    assert next_due(engine, case_id) == clock.now() + 10 * DAY
    assert mismatches(engine) == []


def test_the_locked_read_of_a_change_names_the_stored_deadline(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    with write_connection(engine) as connection:
        row, _ = repository.load_case_and_overrides(connection, case_id, lock=True)
    assert row is not None and row["next_due"] == clock.now() + 10 * DAY


def test_leaving_a_state_cancels_its_deadlines_and_arms_the_next_states(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    service.fire(case_id, "hold", actor=WORKER)
    held = clock.now() + 7 * DAY
    assert next_due(engine, case_id) == held
    clock.advance(DAY)
    service.fire(case_id, "get_ready", actor=WORKER)  # stays: its deadline runs on
    assert next_due(engine, case_id) == held
    assert mismatches(engine) == []
    service.fire(case_id, "close", actor=WORKER)
    assert next_due(engine, case_id) is None
    assert mismatches(engine) == []


def test_a_worker_firing_the_soonest_timer_stores_the_next_one(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    clock.advance(10 * DAY)
    [outcome] = fire_due(service, clock, worker_id="w")
    assert outcome.result == "fired"
    assert next_due(engine, case_id) == clock.now() + 10 * DAY  # escalation, day 20
    assert mismatches(engine) == []


def test_timers_fired_first_inside_a_later_change_are_accounted_for(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    clock.advance(25 * DAY)  # overdue and escalation fall due; nobody fires them
    service.fire(case_id, "hold", actor=WORKER)
    assert next_due(engine, case_id) == clock.now() + 7 * DAY
    assert mismatches(engine) == []


def test_a_repeating_timer_stores_its_next_occurrence(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    service.fire(case_id, "start_review", actor=WORKER)
    first = next_due(engine, case_id)
    assert first is not None
    clock.advance(first - clock.now())
    fire_due(service, clock, worker_id="w")
    following = next_due(engine, case_id)
    assert following is not None and following > first
    assert mismatches(engine) == []


def test_suspending_clears_the_deadline_and_resuming_restores_what_was_left(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    clock.advance(4 * DAY)
    service.suspend(case_id, actor=WORKER, reason="暂停")
    assert next_due(engine, case_id) is None
    clock.advance(30 * DAY)
    service.resume(case_id, actor=WORKER)
    assert next_due(engine, case_id) == clock.now() + 6 * DAY
    assert mismatches(engine) == []


def test_moving_to_a_version_without_the_soonest_timer_stores_the_next_one(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(service)
    service.migrate_case(case_id, "1.1.0", actor=DESIGNER)
    assert next_due(engine, case_id) == clock.now() + 20 * DAY
    assert mismatches(engine) == []


def test_the_migration_fills_next_due_in_from_the_pending_timers(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    waiting, closed, suspended = start(service), start(service), start(service)
    service.fire(closed, "expire", actor=WORKER)
    service.suspend(suspended, actor=WORKER, reason="暂停")
    downgrade(engine, "0008_operations_chain")
    upgrade(engine)
    assert next_due(engine, waiting) == clock.now() + 10 * DAY
    assert next_due(engine, closed) is None and next_due(engine, suspended) is None
    assert mismatches(engine) == []


# -- random sequences of every kind of write ------------------------------------------------


def test_random_changes_and_timer_fires_keep_next_due_the_soonest_pending_timer(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    triggers = ["hold", "prepare", "start_review", "publish", "expire", "get_ready", "close",
                "finish", "stop_review"]

    class Deadlines(RuleBasedStateMachine):
        cases = Bundle("cases")

        @initialize(target=cases)
        def first(self) -> str:
            return start(service)

        @rule(target=cases)
        def another(self) -> str:
            return start(service)

        @rule(case=cases, trigger=st.sampled_from(triggers))
        def fire(self, case: str, trigger: str) -> None:
            self._try(lambda: service.fire(case, trigger, actor=WORKER))

        @rule(days=st.integers(1, 40))
        def time_passes(self, days: int) -> None:
            clock.advance(days * DAY)

        @rule(case=cases)
        def tick(self, case: str) -> None:
            self._try(lambda: service.tick(case, "venue", evidence=None, actor=WORKER))

        @rule()
        def worker(self) -> None:
            fire_due(service, clock, worker_id="w", limit=5)

        @rule(case=cases, suspend=st.booleans())
        def pause(self, case: str, suspend: bool) -> None:
            if suspend:
                self._try(lambda: service.suspend(case, actor=WORKER, reason="暂停"))
            else:
                self._try(lambda: service.resume(case, actor=WORKER))

        @rule(case=cases)
        def migrate(self, case: str) -> None:
            self._try(lambda: service.migrate_case(case, "1.1.0", actor=DESIGNER))

        @staticmethod
        def _try(change: Any) -> None:
            with suppress(HatcheryError):  # a refusal writes nothing: the invariant checks
                change()

        @invariant()
        def next_due_is_the_soonest_pending_timer(self) -> None:
            assert mismatches(engine) == []

    # No shrinking: the database and the clock outlive an example, so a replay would not
    # see what the failing run saw; the failing steps are printed as they were run.
    Deadlines.TestCase.settings = settings(
        max_examples=6, stateful_step_count=15, deadline=None, database=None,
        derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    Deadlines.TestCase().runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
