"""Group commit on SQLite (engine.store.group_commit): the changes that the threads of one
process queue while another writes are run by that writer in its transaction, each in a
savepoint of its own, and committed once; every one of them is answered, in its own
thread, as it would have been alone, and only after the commit.

A batch is made on purpose here: a leader's task holds its transaction open until the
changes under test have queued behind it (`hold_until_queued`), so that every test runs
its changes as members of one batch, whatever the threads' timing."""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY

from engine.clock import FrozenClock
from engine.errors import Conflict, NotFound, Refused, StoreUnavailable
from engine.observability import ATTEMPT, Attempt
from engine.service import CaseService, verify_store
from engine.store.group_commit import GroupCommit, group_commit
from engine.store.operations import list_operations


@pytest.fixture
def backend() -> str:
    """SQLite only: PostgreSQL's writers lock rows and run side by side, without a group."""
    return "sqlite"


class Outcome:
    """What one thread's call gave: its value or its exception, and the thread it ran in."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread: str | None = None


def in_one_batch(group: GroupCommit, calls: list[Callable[[], Any]],
                 lead: Callable[[sa.Connection], Any] | None = None
                 ) -> tuple[Outcome, list[Outcome]]:
    """Run `calls`, each in a thread of its own, as members of one batch: a leader (in a
    thread of its own too) takes the write lock, waits until every call has queued, runs
    `lead` on the shared connection, and commits for them all."""
    holding = threading.Event()

    def hold_until_queued(connection: sa.Connection, _member: object) -> Any:
        holding.set()
        while group.queued() < len(calls):
            time.sleep(0.001)
        return lead(connection) if lead is not None else None

    def call(function: Callable[[], Any], outcome: Outcome) -> None:
        outcome.thread = threading.current_thread().name
        try:
            outcome.value = function()
        except BaseException as error:  # recorded for the test to read
            outcome.error = error

    leader = Outcome()
    outcomes = [Outcome() for _ in calls]
    first = threading.Thread(target=call, name="leader",
                             args=(lambda: group.run(hold_until_queued), leader))
    first.start()
    holding.wait()
    threads = [threading.Thread(target=call, name=f"member-{n}", args=(function, outcome))
               for n, (function, outcome) in enumerate(zip(calls, outcomes, strict=True))]
    for thread in threads:
        thread.start()
    for thread in [first, *threads]:
        thread.join()
    return leader, outcomes


@pytest.fixture
def group(engine: sa.Engine) -> GroupCommit:
    found = group_commit(engine)
    assert found is not None
    return found


@pytest.fixture
def commits(engine: sa.Engine) -> Iterator[list[int]]:
    """Counts the commits on `engine` (one entry per commit)."""
    seen: list[int] = []

    def count(_connection: sa.Connection) -> None:
        seen.append(1)

    sa.event.listen(engine, "commit", count)
    yield seen
    sa.event.remove(engine, "commit", count)


def new_org(service: CaseService) -> str:
    return service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case.id


def grow(service: CaseService, case_id: str, version: int | None = None,
         key: str | None = None) -> Callable[[], Any]:
    return lambda: service.fire(case_id, "grow", input={"by": 1}, actor=CASEWORKER,
                                expected_version=version, idempotency_key=key)


def test_changes_queued_behind_a_writer_are_committed_once_with_intact_chains(
        service: CaseService, engine: sa.Engine, group: GroupCommit,
        commits: list[int]) -> None:
    cases = [new_org(service) for _ in range(6)]
    commits.clear()
    leader, outcomes = in_one_batch(group, [grow(service, case_id) for case_id in cases])
    assert leader.error is None
    assert [outcome.error for outcome in outcomes] == [None] * 6
    assert sorted(outcome.value.case.id for outcome in outcomes) == sorted(cases)
    assert len(commits) == 1
    assert all(service.get_case(case_id).data["size"] == 1 for case_id in cases)
    assert verify_store(engine) == []


def test_changes_at_one_version_in_one_batch_give_exactly_one_winner(
        service: CaseService, engine: sa.Engine, group: GroupCommit) -> None:
    case_id = new_org(service)
    _, outcomes = in_one_batch(group, [grow(service, case_id, version=1) for _ in range(5)])
    won = [outcome for outcome in outcomes if outcome.error is None]
    lost = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert len(won) == 1 and won[0].value.case.version == 2
    assert len(lost) == 4
    assert all(isinstance(error, Conflict) and (error.expected, error.current) == (1, 2)
               for error in lost)
    assert service.get_case(case_id).data["size"] == 1
    assert verify_store(engine) == []


def test_changes_without_a_version_in_one_batch_each_see_the_one_before(
        service: CaseService, engine: sa.Engine, group: GroupCommit) -> None:
    case_id = new_org(service)
    _, outcomes = in_one_batch(group, [grow(service, case_id) for _ in range(5)])
    assert sorted(outcome.value.event.seq for outcome in outcomes) == [2, 3, 4, 5, 6]
    assert service.get_case(case_id).data["size"] == 5
    assert verify_store(engine) == []


def refused_attempt(service: CaseService, case_id: str) -> Callable[[], Any]:
    """A caseworker approving (a committee's trigger), as an HTTP request would: with its
    attempt set in its own thread's context."""

    def attempt() -> Any:
        ATTEMPT.set(Attempt("POST", f"/api/v1/cases/{case_id}/events", actor="wang",
                            community=COMMUNITY))
        return service.fire(case_id, "approve", actor=CASEWORKER)

    return attempt


def refusals(engine: sa.Engine) -> list[Any]:
    return list_operations(engine, action="change_refused")[0]


def test_a_refusal_in_a_batch_is_logged_and_leaves_the_others_alone(
        service: CaseService, engine: sa.Engine, group: GroupCommit) -> None:
    refused, others = new_org(service), [new_org(service) for _ in range(3)]
    _, outcomes = in_one_batch(group, [grow(service, others[0]),
                                       refused_attempt(service, refused),
                                       grow(service, others[1]), grow(service, others[2])])
    assert isinstance(outcomes[1].error, Refused)
    assert outcomes[1].thread == "member-1"
    assert [outcome.error for n, outcome in enumerate(outcomes) if n != 1] == [None] * 3
    logged = refusals(engine)
    assert [(entry.actor, entry.target) for entry in logged] == [
        ("wang", f"/api/v1/cases/{refused}/events")]
    assert service.get_case(refused).version == 1
    assert [service.get_case(case_id).data["size"] for case_id in others] == [1, 1, 1]


def test_a_refusal_after_due_timers_in_a_batch_undoes_them_and_is_logged(
        service: CaseService, engine: sa.Engine, group: GroupCommit,
        clock: FrozenClock) -> None:
    refused, other = new_org(service), new_org(service)
    clock.advance(timedelta(days=31))  # the review timer of both is due
    _, outcomes = in_one_batch(group, [grow(service, other),
                                       refused_attempt(service, refused)])
    assert isinstance(outcomes[1].error, Refused) and outcomes[0].error is None
    assert [entry.target for entry in refusals(engine)] == [
        f"/api/v1/cases/{refused}/events"]
    left = service.get_case(refused)
    assert (left.version, left.overdue) == (1, False)  # the timer it fired first is undone
    assert service.get_case(other).overdue  # the other change fired its own, and kept it
    assert verify_store(engine) == []


def test_a_retry_racing_its_first_request_in_a_batch_gets_the_first_result(
        service: CaseService, engine: sa.Engine, group: GroupCommit) -> None:
    case_id = new_org(service)
    _, outcomes = in_one_batch(group, [grow(service, case_id, key="k-1"),
                                       grow(service, case_id, key="k-1")])
    first, retry = sorted((outcome.value for outcome in outcomes),
                          key=lambda result: result.replayed)
    assert (first.replayed, retry.replayed) == (False, True)
    assert (retry.event.seq, retry.event.hash) == (first.event.seq, first.event.hash)
    assert service.get_case(case_id).data["size"] == 1


def test_a_member_whose_work_raises_gets_its_exception_in_its_own_thread(
        service: CaseService, engine: sa.Engine, group: GroupCommit) -> None:
    case_id = new_org(service)
    _, outcomes = in_one_batch(group, [grow(service, case_id), grow(service, "nosuchcase"),
                                       grow(service, case_id)])
    assert isinstance(outcomes[1].error, NotFound) and outcomes[1].thread == "member-1"
    assert outcomes[0].error is None and outcomes[2].error is None
    assert service.get_case(case_id).data["size"] == 2


def test_what_a_failing_member_wrote_is_undone_and_the_others_keep_theirs(
        engine: sa.Engine, group: GroupCommit) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE scratch (n INTEGER)"))

    def insert(n: int, then_fail: bool) -> Callable[[], Any]:
        def task(connection: sa.Connection, _member: object) -> int:
            connection.execute(sa.text("INSERT INTO scratch VALUES (:n)"), {"n": n})
            if then_fail:
                raise ValueError(f"member {n} fails")
            return n
        return lambda: group.run(task)

    _, outcomes = in_one_batch(group, [insert(1, False), insert(2, True),
                                       insert(3, False)])
    assert [outcome.value for outcome in outcomes] == [1, None, 3]
    assert str(outcomes[1].error) == "member 2 fails"
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT n FROM scratch ORDER BY n")
                                  ).scalars().all() == [1, 3]


def test_a_failed_commit_fails_every_member_of_the_batch(
        service: CaseService, engine: sa.Engine, group: GroupCommit) -> None:
    cases = [new_org(service) for _ in range(3)]
    with engine.begin() as connection:  # a row that points nowhere fails at COMMIT only
        connection.execute(sa.text(
            "CREATE TABLE dangling (case_id TEXT REFERENCES cases (id) "
            "DEFERRABLE INITIALLY DEFERRED)"))

    def point_nowhere(connection: sa.Connection) -> None:
        connection.execute(sa.text("INSERT INTO dangling VALUES ('nosuchcase')"))

    leader, outcomes = in_one_batch(group, [grow(service, case_id) for case_id in cases],
                                    lead=point_nowhere)
    for outcome in [leader, *outcomes]:
        assert isinstance(outcome.error, StoreUnavailable)
        assert "FOREIGN KEY" in str(outcome.error)
    assert [service.get_case(case_id).version for case_id in cases] == [1, 1, 1]
    assert service.fire(cases[0], "grow", input={"by": 1}, actor=CASEWORKER).case.version == 2


class Interrupted(BaseException):
    """Not an `Exception`: what a leader's thread may meet (an interrupt, an exit)."""


def test_an_interrupted_leader_fails_the_members_it_took_and_leaves_nobody_waiting(
        engine: sa.Engine, group: GroupCommit) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE scratch (n INTEGER)"))

    def insert(connection: sa.Connection, _member: object) -> None:
        connection.execute(sa.text("INSERT INTO scratch VALUES (1)"))

    def interrupt(_connection: sa.Connection, _member: object) -> None:
        raise Interrupted

    leader, outcomes = in_one_batch(group, [lambda: group.run(insert),
                                            lambda: group.run(interrupt)])
    assert isinstance(leader.error, Interrupted)
    assert all(isinstance(outcome.error, StoreUnavailable) for outcome in outcomes)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM scratch")).scalar() == 0
    assert group.run(insert) is None  # the next change finds nobody leading
    assert group.queued() == 0


def test_postgresql_has_no_group_commit() -> None:
    postgres = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert group_commit(postgres) is None


def test_a_change_started_inside_another_one_is_refused_rather_than_waiting_for_itself(
        group: GroupCommit) -> None:
    def nested(_connection: sa.Connection, _member: object) -> None:
        group.run(lambda _c, _m: None)

    with pytest.raises(RuntimeError, match="inside another change"):
        group.run(nested)
    assert group.run(lambda _c, _m: 7) == 7


def test_a_child_forked_while_a_change_waited_for_its_turn_writes_on_its_own(
        engine: sa.Engine, group: GroupCommit, tmp_path: Path) -> None:
    """The parent's leader, waiting for the turn another process holds, is not in the
    child: the child leads its own change (neither the group's lead nor the turns' lock
    of the parent's threads stays taken there). SQLite's own lock must not be held at the
    fork: SQLite forbids a child to write then."""
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE scratch (n INTEGER)"))
    holder = os.open(f"{engine.url.database}-writer.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # as another worker process in its write would

    def insert(n: int) -> Callable[[sa.Connection, object], None]:
        return lambda connection, _member: connection.execute(
            sa.text("INSERT INTO scratch VALUES (:n)"), {"n": n}) and None

    leader = threading.Thread(target=group.run, args=(insert(1),))
    leader.start()
    while not group.leading():  # the leader waits for the turn from here on
        time.sleep(0.001)
    child = os.fork()
    if child == 0:
        signal.alarm(30)  # should it wait for the parent's leader, it ends failing
        os.close(holder)
        engine.dispose(close=False)
        group.run(insert(2))
        os._exit(0)
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    leader.join()
    assert os.waitpid(child, 0)[1] == 0
    with engine.connect() as connection:
        assert sorted(connection.execute(sa.text("SELECT n FROM scratch")).scalars()) == [1, 2]
