"""Timers firing by themselves: claims, leases, the actions, periodic reviews, working days,
catch-up after a restart, and the `hatchery timers list` command. Real databases (SQLite
and PostgreSQL), real APScheduler, and a moved `FrozenClock`: nothing sleeps for the
durations under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AUDITOR, CASEWORKER, COMMUNITY, SHIPPED_WORKFLOWS, START
from typer.testing import CliRunner

from cli.main import app
from engine.clock import FrozenClock
from engine.core.snapshot import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.errors import Refused
from engine.service import CaseService, EventView, FireResult, verify_store
from engine.settings import PROJECT_ROOT
from engine.store.db import make_engine, read_connection
from engine.timers.calendar import CHINA_TZ
from engine.timers.worker import Scheduler, claim_due, fire_due, renew, start_scheduler

TIMER_FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "timers"
DEMO = "timer_demo"
SYSTEM_TIMER = "system:timer"
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def registry(engine: sa.Engine, clock: FrozenClock) -> WorkflowRegistry:
    """The timer fixtures and the shipped member-development workflow, registered."""
    found = WorkflowRegistry(engine, clock)
    found.register_texts(
        (path.read_text(encoding="utf-8"), str(path))
        for path in [*sorted(TIMER_FIXTURES.glob("*.yaml")),
                     SHIPPED_WORKFLOWS / "member_development.yaml"])
    return found


@pytest.fixture
def scheduler(service: CaseService, clock: FrozenClock) -> Iterator[Scheduler]:
    """A real APScheduler polling every 20 ms against the test's database and clock."""
    running = start_scheduler(service, clock, interval_s=0.02, worker_id="test-scheduler")
    assert running.wait_for_runs(1), "the scheduler's first poll never completed"
    yield running
    running.stop()


def start(service: CaseService, name: str = "Sunshine reading club") -> FireResult:
    return service.start_case(DEMO, {"name": name}, actor=CASEWORKER, community=COMMUNITY)


def timer_events(service: CaseService, case_id: str) -> list[EventView]:
    return [e for e in service.history(case_id) if e.actor == SYSTEM_TIMER]


def drain(service: CaseService, clock: FrozenClock, worker: str = "worker-a") -> list[Any]:
    """Fire everything due now, batch after batch, the way a scheduler poll does."""
    outcomes: list[Any] = []
    while batch := fire_due(service, clock, worker_id=worker, limit=10):
        outcomes.extend(batch)
    return outcomes


def timers_of(service: CaseService, case_id: str) -> dict[str, Any]:
    views, _ = service.list_timers(case_id=case_id, limit=1000)
    return {view.key: view for view in views}


def settle(scheduler: Scheduler) -> None:
    """Wait until the scheduler has completed a poll that began after this call."""
    assert scheduler.wait_for_runs(2), "the scheduler stopped polling"


# -- firing at the due time -----------------------------------------------------------------


def test_a_timer_fires_once_at_its_due_time_and_not_before(
        service: CaseService, clock: FrozenClock, scheduler: Scheduler) -> None:
    case = start(service).case
    clock.advance(10 * DAY - SECOND)
    settle(scheduler)
    assert timer_events(service, case.id) == []
    assert timers_of(service, case.id)["waiting:overdue"].status == "pending"

    clock.advance(SECOND)
    settle(scheduler)
    [event] = timer_events(service, case.id)
    assert (event.kind, event.actor, event.at) == ("overdue", SYSTEM_TIMER, START + 10 * DAY)
    settle(scheduler)
    assert len(timer_events(service, case.id)) == 1
    fired = timers_of(service, case.id)["waiting:overdue"]
    assert (fired.status, fired.fired_at, fired.claimed_by) == ("fired", START + 10 * DAY,
                                                                "test-scheduler")
    assert fired.outcome == {"result": "fired", "kind": "overdue", "seq": 2,
                             "to_state": "waiting", "trigger": None}


def test_a_fire_timer_moves_the_case_through_the_one_door_as_system_timer(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(30 * DAY)
    outcomes = drain(service, clock)
    assert [(o.key, o.result) for o in outcomes] == [
        ("waiting:overdue", "fired"), ("waiting:escalation", "fired"),
        ("waiting:expiry", "fired")]
    after = service.get_case(case.id)
    assert (after.state, after.status, after.outcome) == ("expired", "closed", "expired")
    transition = outcomes[-1].event
    assert (transition.trigger, transition.from_state, transition.to_state, transition.actor
            ) == ("expire", "waiting", "expired", SYSTEM_TIMER)
    assert transition.comment == (f"timer waiting:expiry #{outcomes[-1].timer}, due "
                                  f"{(START + 30 * DAY).isoformat()}")
    assert verify_store(service.engine) == []


def test_leaving_the_state_cancels_its_timers(service: CaseService,
                                              clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(DAY)
    service.fire(case.id, "hold", actor=CASEWORKER)
    timers = timers_of(service, case.id)
    assert {k: t.status for k, t in timers.items()} == {
        "waiting:overdue": "cancelled", "waiting:escalation": "cancelled",
        "waiting:expiry": "cancelled", "guarded:close_when_ready": "pending"}
    clock.advance(60 * DAY)
    outcomes = drain(service, clock)
    assert [o.key for o in outcomes] == ["guarded:close_when_ready"]
    assert [e.kind for e in service.history(case.id)] == ["start", "transition",
                                                          "timer_refused"]


def test_a_claimed_timer_due_before_a_change_fires_before_it(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(10 * DAY)
    [claim] = claim_due(service.engine, now=clock.now(), worker_id="worker-a")
    service.fire(case.id, "hold", actor=CASEWORKER)
    outcome = service.fire_timer(claim.id, worker_id="worker-a")
    assert (outcome.result, outcome.detail) == ("skipped", "the timer is fired")
    assert [e.kind for e in service.history(case.id)] == ["start", "overdue", "transition"]
    assert service.get_case(case.id).overdue is False  # the flag goes with the state


def test_a_timer_fired_ahead_of_a_change_has_an_idempotency_record_of_its_own(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(10 * DAY)
    service.fire(case.id, "hold", actor=CASEWORKER)
    fired, _ = service.list_timers(case_id=case.id, status="fired")
    with read_connection(service.engine) as connection:
        keys = connection.execute(sa.text(
            "SELECT key FROM idempotency_records WHERE key LIKE 'timer:%'")).scalars().all()
    assert len(fired) == 1
    assert keys == [f"timer:{fired[0].id}"]


def test_a_claimed_timer_whose_state_is_left_before_it_is_due_does_nothing(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    # A worker whose clock runs ahead claims it; on the service's clock it is not due yet.
    [claim] = claim_due(service.engine, now=clock.now() + 10 * DAY, worker_id="worker-a")
    service.fire(case.id, "hold", actor=CASEWORKER)
    outcome = service.fire_timer(claim.id, worker_id="worker-a")
    assert (outcome.result, outcome.detail) == ("skipped", "the timer is cancelled")
    assert timer_events(service, case.id) == []


# -- suspend and resume ----------------------------------------------------------------------


def test_suspend_pauses_the_timers_and_resume_rearms_them_with_the_time_left(
        service: CaseService, clock: FrozenClock, scheduler: Scheduler) -> None:
    case = start(service).case
    clock.advance(4 * DAY)
    service.suspend(case.id, actor=CASEWORKER, reason="the club is between venues")
    clock.advance(100 * DAY)
    settle(scheduler)
    assert timer_events(service, case.id) == []
    paused = timers_of(service, case.id)["waiting:overdue"]
    assert (paused.status, paused.remaining_seconds) == ("paused", (6 * DAY).total_seconds())

    service.resume(case.id, actor=CASEWORKER)
    resumed_at = clock.now()
    assert timers_of(service, case.id)["waiting:overdue"].due_at == resumed_at + 6 * DAY
    clock.advance(6 * DAY - SECOND)
    settle(scheduler)
    assert timer_events(service, case.id) == []
    clock.advance(SECOND)
    settle(scheduler)
    assert [e.kind for e in timer_events(service, case.id)] == ["overdue"]


# -- restart and catch-up --------------------------------------------------------------------


def test_timers_that_fell_due_while_nothing_ran_fire_at_start_oldest_first(
        service: CaseService, clock: FrozenClock, db_url: str) -> None:
    first = start(service, "first").case
    clock.advance(2 * DAY)
    second = start(service, "second").case
    clock.advance(DAY)
    third = start(service, "third").case
    # Nothing runs for almost three weeks: each case's overdue mark (day 10) and, for the
    # first two, the escalation (day 20) fall due.
    clock.advance(19 * DAY + 12 * timedelta(hours=1))

    restarted = make_engine(db_url)
    try:
        fresh = CaseService(restarted, WorkflowRegistry(restarted, clock), clock)
        scheduler = start_scheduler(fresh, clock, interval_s=60, worker_id="after-restart")
        try:
            assert scheduler.wait_for_runs(1)  # the first poll is immediate, not in 60 s
        finally:
            scheduler.stop()
    finally:
        restarted.dispose()

    with read_connection(service.engine) as connection:
        rows = connection.execute(sa.text(
            "SELECT case_id, kind FROM events WHERE actor = :a ORDER BY id"),
            {"a": SYSTEM_TIMER}).all()
    assert [(r.case_id, r.kind) for r in rows] == [
        (first.id, "overdue"), (second.id, "overdue"), (third.id, "overdue"),
        (first.id, "escalation"), (second.id, "escalation")]


def test_a_stopped_scheduler_fires_nothing_more(service: CaseService,
                                                clock: FrozenClock) -> None:
    case = start(service).case
    scheduler = start_scheduler(service, clock, interval_s=0.02, worker_id="stopping")
    assert scheduler.wait_for_runs(1)
    scheduler.stop()
    assert not scheduler.running
    clock.advance(40 * DAY)
    assert not scheduler.wait_for_runs(1, timeout=0.2)
    assert timer_events(service, case.id) == []


# -- refusals ------------------------------------------------------------------------------


def test_a_refused_fire_is_recorded_as_the_timers_outcome_and_not_retried(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    service.fire(case.id, "hold", actor=CASEWORKER)
    clock.advance(7 * DAY)
    [outcome] = drain(service, clock)
    assert (outcome.result, outcome.refusal.code) == ("refused", "guard_false")
    assert outcome.refusal.en == "not ready yet"
    timer = timers_of(service, case.id)["guarded:close_when_ready"]
    assert timer.status == "fired"
    assert timer.outcome == {"result": "refused", "code": "guard_false",
                             "en": "not ready yet", "zh": "尚未准备好",
                             "kind": "timer_refused", "seq": 3, "trigger": None,
                             "to_state": "guarded"}
    assert service.get_case(case.id).state == "guarded"
    [recorded] = timer_events(service, case.id)
    assert recorded.kind == "timer_refused"
    assert recorded.input["refusal"] == {"code": "guard_false", "en": "not ready yet",
                                         "zh": "尚未准备好"}
    assert drain(service, clock) == []


def test_an_incomplete_checklist_is_a_recorded_refusal_and_a_complete_one_fires(
        service: CaseService, clock: FrozenClock) -> None:
    lacking = start(service, "lacking").case
    ready = start(service, "ready").case
    for case in (lacking, ready):
        service.fire(case.id, "prepare", actor=CASEWORKER)
    service.tick(ready.id, "venue", evidence=None, actor=CASEWORKER)
    clock.advance(14 * DAY)
    outcomes = {o.case_id: o for o in drain(service, clock)}
    refused = outcomes[lacking.id]
    assert (refused.result, refused.refusal.code) == ("refused", "checklist_incomplete")
    assert refused.refusal.details["missing"] == ["venue"]
    assert service.get_case(lacking.id).state == "preparing"
    assert outcomes[ready.id].result == "fired"
    assert service.get_case(ready.id).state == "closed"


# -- overdue and escalation --------------------------------------------------------------------


def test_mark_overdue_shows_in_case_lists_and_history_until_the_state_is_left(
        service: CaseService, clock: FrozenClock) -> None:
    late = start(service, "late").case
    clock.advance(5 * DAY)
    on_time = start(service, "on time").case
    clock.advance(5 * DAY)
    drain(service, clock)
    overdue, _ = service.list_cases(overdue=True)
    assert [c.id for c in overdue] == [late.id]
    assert [c.id for c in service.list_cases(overdue=False)[0]] == [on_time.id]
    [event] = timer_events(service, late.id)
    assert (event.kind, event.from_state, event.to_state) == ("overdue", "waiting", "waiting")
    assert event.input["timer"] == "waiting:overdue"

    service.fire(late.id, "hold", actor=CASEWORKER)
    assert service.list_cases(overdue=True)[0] == []


def test_escalate_records_an_escalation_event_that_followers_can_list(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(20 * DAY)
    drain(service, clock)
    escalations, cursor = service.list_events(kind="escalation")
    assert [(e.case_id, e.kind, e.actor) for e in escalations] == [
        (case.id, "escalation", SYSTEM_TIMER)]
    assert cursor is None
    # A follower asks again from the last time it saw: only what is new comes back.
    other = start(service, "other").case
    clock.advance(20 * DAY)
    drain(service, clock)
    newer, _ = service.list_events(kind="escalation",
                                   since=escalations[-1].at + timedelta(microseconds=1))
    assert [e.case_id for e in newer] == [other.id]
    _, following = service.list_events(kind="escalation", limit=1)
    assert following is not None
    assert service.list_events(kind="escalation", cursor=following)[0] == newer
    assert service.get_case(case.id).state == "expired"  # the expiry fired in between


def test_an_escalation_flags_the_case_until_it_leaves_its_state(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    quiet = start(service, "quiet").case
    clock.advance(20 * DAY)
    drain(service, clock)  # the escalation timer of both; `quiet` moves on below
    service.fire(quiet.id, "hold", actor=CASEWORKER)
    flagged = service.get_case(case.id).escalated_at
    assert flagged is not None and flagged == timer_events(service, case.id)[-1].at
    assert service.get_case(quiet.id).escalated_at is None
    assert [c.id for c in service.list_cases(escalated=True)[0]] == [case.id]
    assert [c.id for c in service.list_cases(escalated=False)[0]] == [quiet.id]
    assert service.escalated([case.id, quiet.id]) == {case.id: flagged}


def test_one_timer_with_both_actions_marks_overdue_and_escalates_when_it_falls_due(
        service: CaseService, clock: FrozenClock) -> None:
    source = PROJECT_ROOT / "tests" / "fixtures" / "workflows" / "charity_venture.yaml"
    service.registry.register_text(source.read_text(encoding="utf-8"), str(source))
    applicant = Actor("chen", frozenset({"applicant"}))
    case = service.start_case("charity_venture", {"project_name": "银龄食堂"},
                              actor=applicant, community=COMMUNITY).case
    service.fire(case.id, "submit", actor=applicant, input={
        "budget": 100, "area": "elderly", "submitted_on": START.date().isoformat()})
    clock.advance(20 * DAY)  # ten working days have passed
    drain(service, clock)
    seen = service.get_case(case.id)
    assert seen.overdue is True and seen.escalated_at is not None
    assert [e.kind for e in timer_events(service, case.id)] == ["overdue", "escalation"]
    assert [c.id for c in service.list_cases(escalated=True, overdue=True)[0]] == [case.id]


def test_a_person_may_mark_overdue_or_escalate_but_an_auditor_may_not(
        service: CaseService) -> None:
    case = start(service).case
    marked = service.mark_overdue(case.id, actor=CASEWORKER, reason="no reply to two calls")
    assert marked.case.overdue is True
    assert (marked.event.kind, marked.event.role, marked.event.input) == (
        "overdue", "caseworker", {"reason": "no reply to two calls"})
    escalated = service.escalate(case.id, actor=CASEWORKER, reason="venue dispute",
                                 idempotency_key="esc-1")
    assert escalated.event.kind == "escalation"
    again = service.escalate(case.id, actor=CASEWORKER, reason="venue dispute",
                             idempotency_key="esc-1")
    assert again.replayed and again.event == escalated.event
    with pytest.raises(Refused) as caught:
        service.escalate(case.id, actor=AUDITOR, reason="just looking")
    assert caught.value.refusal.code == "role_missing"


# -- periodic reviews ---------------------------------------------------------------------------


def test_a_repeating_timer_rearms_one_period_after_its_previous_due_time(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    service.fire(case.id, "start_review", actor=CASEWORKER)
    entered = clock.now()
    clock.advance(31 * DAY + 3 * DAY)  # a month (31 days in March) and a late worker
    [first] = drain(service, clock)
    assert first.result == "fired"
    assert first.next_due == entered.replace(month=5)
    clock.set(entered.replace(month=5))
    [second] = drain(service, clock)
    assert second.next_due == entered.replace(month=6)
    assert service.get_case(case.id).data["reviews"] == 2
    statuses = [(t.due_at.month, t.status) for t in service.list_timers(case_id=case.id)[0]
                if t.key == "reviewing:review"]
    assert statuses == [(6, "pending"), (4, "fired"), (5, "fired")]  # still to fall due first

    service.fire(case.id, "stop_review", actor=CASEWORKER)
    assert service.list_timers(case_id=case.id, status="pending")[0] == []


# -- working days ----------------------------------------------------------------------------


@pytest.mark.parametrize(("entered", "due"), [
    # Tuesday 30 September 2025: the National Day holiday (1-8 October) does not count,
    # Saturday 11 October is a working day: 9, 10, 11, 13, 14 October.
    (datetime(2025, 9, 30, 10, 0, tzinfo=CHINA_TZ), datetime(2025, 10, 14, 10, 0, tzinfo=CHINA_TZ)),
    # Friday 26 September 2025: Sunday 28 September is a working day: 28, 29, 30 September,
    # then 9 and 10 October.
    (datetime(2025, 9, 26, 16, 0, tzinfo=CHINA_TZ), datetime(2025, 10, 10, 16, 0, tzinfo=CHINA_TZ)),
], ids=["across-national-day", "adjusted-working-sunday"])
def test_a_working_day_notice_counts_the_official_calendar(
        service: CaseService, clock: FrozenClock, entered: datetime, due: datetime) -> None:
    clock.set(entered)
    case = start(service).case
    service.fire(case.id, "publish", actor=CASEWORKER)
    assert timers_of(service, case.id)["notice:notice_end"].due_at == due
    clock.set(due - SECOND)
    assert [o.key for o in drain(service, clock)] == []
    clock.set(due)
    [outcome] = drain(service, clock)
    assert (outcome.key, outcome.result) == ("notice:notice_end", "fired")
    assert service.get_case(case.id).state == "closed"


# -- claims, leases, retries ---------------------------------------------------------------------


def test_a_live_worker_renews_its_claims_and_a_taken_over_claim_stays_taken(
        service: CaseService, clock: FrozenClock) -> None:
    start(service, "one")
    start(service, "two")
    clock.advance(30 * DAY)
    mine = claim_due(service.engine, now=clock.now(), worker_id="worker-a", lease_s=15)
    clock.advance(20 * SECOND)  # the lease ran out: another worker takes one of them over
    [taken, *_] = claim_due(service.engine, now=clock.now(), worker_id="worker-b", limit=1)
    later = clock.now() + 15 * SECOND
    assert renew(service.engine, [c.id for c in mine], worker_id="worker-a",
                 until=later) == len(mine) - 1
    rows = {t.id: t for t in service.list_timers(limit=1000)[0]}
    assert rows[taken.id].claimed_by == "worker-b"
    assert {rows[c.id].claimed_until for c in mine if c.id != taken.id} == {later}


def test_an_expired_lease_is_taken_over_and_each_timer_fires_once(
        service: CaseService, clock: FrozenClock) -> None:
    cases = [start(service, f"case {i}").case for i in range(3)]
    clock.advance(10 * DAY)
    claims = claim_due(service.engine, now=clock.now(), worker_id="crashed", lease_s=60)
    assert sorted(c.case_id for c in claims) == sorted(c.id for c in cases)
    # The worker that claimed them dies before firing. Its lease is respected...
    assert fire_due(service, clock, worker_id="survivor") == []
    claimed, _ = service.list_timers(status="claimed")
    assert {t.claimed_by for t in claimed} == {"crashed"}
    # ...until it expires; then another worker takes the timers over.
    clock.advance(61 * SECOND)
    outcomes = fire_due(service, clock, worker_id="survivor")
    assert [o.result for o in outcomes] == ["fired"] * 3
    # The first worker, back from the dead, finds nothing left to do.
    assert service.fire_timer(claims[0].id, worker_id="crashed").result == "skipped"
    for case in cases:
        assert [e.kind for e in timer_events(service, case.id)] == ["overdue"]


def test_firing_a_timer_twice_writes_it_once(service: CaseService,
                                             clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(30 * DAY)
    claims = claim_due(service.engine, now=clock.now(), worker_id="worker-a")
    expiry = claims[-1]
    assert service.fire_timer(expiry.id, worker_id="worker-a").result == "fired"
    retried = service.fire_timer(expiry.id, worker_id="worker-a")
    assert (retried.result, retried.detail) == ("skipped", "the timer is fired")
    # The two deadlines due before it fired first, once each.
    assert [e.kind for e in timer_events(service, case.id)] == [
        "overdue", "escalation", "transition"]
    # Each has its idempotency record, the two fired ahead of it too.
    with read_connection(service.engine) as connection:
        keys = connection.execute(sa.text(
            "SELECT key FROM idempotency_records WHERE key LIKE 'timer:%'")).scalars().all()
    assert sorted(keys) == sorted(f"timer:{claim.id}" for claim in claims)


def test_claims_take_the_oldest_due_first_and_leave_the_rest(
        service: CaseService, clock: FrozenClock) -> None:
    for i in range(5):
        start(service, f"case {i}")
        clock.advance(SECOND)
    clock.advance(10 * DAY)
    first = claim_due(service.engine, now=clock.now(), worker_id="a", limit=2)
    second = claim_due(service.engine, now=clock.now(), worker_id="b", limit=10)
    assert len(first) == 2 and len(second) == 3
    dues = [c.due_at for c in [*first, *second]]
    assert dues == sorted(dues)
    assert not {c.id for c in first} & {c.id for c in second}


# -- listing -----------------------------------------------------------------------------------


def test_list_timers_filters_by_case_due_time_and_state(service: CaseService,
                                                        clock: FrozenClock) -> None:
    one = start(service, "one").case
    two = start(service, "two").case
    assert [t.key for t in service.list_timers(case_id=one.id)[0]] == [
        "waiting:overdue", "waiting:escalation", "waiting:expiry"]
    soon, _ = service.list_timers(due_before=START + 15 * DAY)
    assert sorted((t.case_id, t.timer_id) for t in soon) == sorted(
        [(one.id, "overdue"), (two.id, "overdue")])
    clock.advance(10 * DAY)
    drain(service, clock)
    assert len(service.list_timers(status="fired")[0]) == 2
    assert len(service.list_timers(status="pending")[0]) == 4
    page, cursor = service.list_timers(status="pending", limit=3)
    rest, last = service.list_timers(status="pending", limit=3, cursor=cursor)
    assert (len(page), len(rest), last) == (3, 1, None)
    assert service.list_timers(community_prefix="shanghai")[0] == []
    with pytest.raises(Refused) as caught:
        service.list_timers(status="sleeping")
    assert caught.value.refusal.code == "invalid_timer_state"


def test_timers_still_to_fall_due_come_first_then_those_done_with_across_pages(
        service: CaseService, clock: FrozenClock) -> None:
    case = start(service).case
    clock.advance(10 * DAY)
    drain(service, clock)  # `overdue` fired
    service.fire(case.id, "prepare", actor=CASEWORKER)  # escalation, expiry cancelled
    listed = service.list_timers(case_id=case.id)[0]
    assert [(t.timer_id, t.status) for t in listed] == [
        ("deadline", "pending"), ("overdue", "fired"), ("escalation", "cancelled"),
        ("expiry", "cancelled")]
    pages, cursor = [], None
    while True:
        page, cursor = service.list_timers(case_id=case.id, limit=1, cursor=cursor)
        pages.extend(page)
        if cursor is None:
            break
    assert [t.id for t in pages] == [t.id for t in listed]
    by_state = service.list_timers(case_id=case.id, state="preparing")[0]
    assert [t.timer_id for t in by_state] == ["deadline"]


def test_timers_list_prints_the_pending_timers_as_a_table(
        service: CaseService, clock: FrozenClock, db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case = start(service).case
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    shown = runner.invoke(app, ["timers", "list", "--case", case.id])
    assert shown.exit_code == 0, shown.output
    assert "waiting:overdue" in shown.output and "marks overdue" in shown.output
    assert "2026-03-12 09:00" in shown.output  # due, in China time
    early = runner.invoke(app, ["timers", "list", "--due-before", "2026-03-20"])
    assert early.exit_code == 0 and "waiting:escalation" not in early.output
    as_json = runner.invoke(app, ["timers", "list", "--state", "all", "--json"])
    assert as_json.output.count("\n") == 3
    wrong = runner.invoke(app, ["timers", "list", "--state", "sleeping"])
    assert wrong.exit_code == 2


def test_timers_list_is_readable_at_80_columns_in_both_languages(
        service: CaseService, clock: FrozenClock, db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.cells import cell_len

    start(service)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "80")
    for lang, does in (("en", "marks overdue"), ("zh", "标记逾期")):
        shown = CliRunner().invoke(app, ["timers", "list", "--lang", lang])
        assert shown.exit_code == 0, shown.output
        lines = shown.output.splitlines()
        assert max(cell_len(line) for line in lines) <= 80
        # every row keeps its due time whole, its key and what it does
        assert "2026-03-12 09:00" in shown.output and "waiting:overdue" in shown.output
        assert does in shown.output


# -- the domain's timers ------------------------------------------------------------------------


def test_the_talk_with_an_applicant_is_overdue_one_month_after_the_application(
        service: CaseService, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 1, 31, 9, 0, tzinfo=CHINA_TZ))
    person = service.start_case(
        "member_development", {"name": "林晓", "birth_date": "1996-04-12",
                               "application_date": "2026-01-31"},
        actor=CASEWORKER, community=COMMUNITY).case
    [talk] = service.list_timers(case_id=person.id)[0]
    # One month after 31 January is the last day of February (midnight UTC of the date).
    assert (talk.key, talk.due_at) == ("applicant:talk_due",
                                       datetime(2026, 2, 28, tzinfo=UTC))
    clock.set(datetime(2026, 2, 28, 7, 59, tzinfo=CHINA_TZ))
    assert drain(service, clock) == []
    clock.set(datetime(2026, 2, 28, 8, 0, tzinfo=CHINA_TZ))
    [outcome] = drain(service, clock)
    assert outcome.result == "fired"
    assert service.get_case(person.id).overdue is True


def test_a_worker_on_an_unusable_database_says_why_and_exits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://somewhere/hatchery")
    result = CliRunner().invoke(app, ["worker", "--interval", "0.1"])
    assert result.exit_code == 2
    assert "is not supported" in result.output
