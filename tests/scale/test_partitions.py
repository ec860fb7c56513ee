"""PostgreSQL: the history partitioned by month. Each event lands in its month's partition,
the months ahead are made at start (once, however many processes start), and the history
stays append-only partition by partition."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMUNITY

from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService, verify_store
from engine.store.partitions import ensure_partitions, month_partitions, partition_name

pytestmark = pytest.mark.postgres
NOW = datetime.now(UTC)


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def names(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return month_partitions(connection)


def start(service: CaseService, registry: WorkflowRegistry) -> str:
    workflow = registry.definitions()[0].id
    spec = registry.get(workflow)
    data = {name: "x" for name, field in spec.spec.fields.items()
            if field.required and field.type == "string"}
    return service.start_case(workflow, data, actor=CASEWORKER, community=COMMUNITY).case.id


def test_the_migrated_history_has_a_partition_for_each_month_up_to_a_year_ahead(
        engine: sa.Engine) -> None:
    made = names(engine)
    assert partition_name(NOW.year, NOW.month) in made
    later = NOW + timedelta(days=365)
    assert partition_name(later.year, later.month) in made
    with engine.connect() as connection:
        kind = connection.execute(sa.text(
            "SELECT relkind FROM pg_class WHERE oid = to_regclass('events')")).scalar()
        default = connection.execute(sa.text("SELECT to_regclass('events_default')")).scalar()
    assert kind == "p" and default is not None


def test_each_months_indexes_are_named_after_the_index_and_the_month(
        engine: sa.Engine) -> None:
    month = partition_name(NOW.year, NOW.month)[len("events_"):]
    with engine.connect() as connection:
        indexes = set(connection.execute(sa.text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = :t"), {"t": f"events_{month}"}).scalars())
    assert indexes == {f"{name}_{month}" for name in (
        "events_pkey", "uq_events_case_seq", "ix_events_actor_at", "ix_events_workflow_at",
        "ix_events_at", "ix_events_workflow_state_case")}


def test_an_event_is_stored_in_its_months_partition(
        service: CaseService, registry: WorkflowRegistry, engine: sa.Engine) -> None:
    case_id = start(service, registry)
    with engine.connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT tableoid::regclass::text FROM events WHERE case_id = :c"),
            {"c": case_id}).scalars().all()
    assert stored == [partition_name(NOW.year, NOW.month)]
    assert verify_store(engine) == []


def test_missing_months_are_made_once_even_by_processes_starting_together(
        engine: sa.Engine) -> None:
    later = NOW + timedelta(days=800)  # beyond what the migration made
    made: list[list[str]] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait()
        made.append(ensure_partitions(engine, later, ahead=2))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = sorted(name for names_made in made for name in names_made)
    assert len(everything) == 3 and len(set(everything)) == 3  # three months, each once
    assert partition_name(later.year, later.month) in names(engine)
    assert ensure_partitions(engine, later, ahead=2) == []


def test_a_month_whose_events_went_to_the_default_partition_is_left_there(
        engine: sa.Engine, registry: WorkflowRegistry) -> None:
    past = datetime(2019, 5, 10, tzinfo=UTC)
    service = CaseService(engine, registry, FrozenClock(past))
    case_id = start(service, registry)
    assert ensure_partitions(engine, past, ahead=0) == []
    assert partition_name(2019, 5) not in names(engine)
    with engine.connect() as connection:
        where = connection.execute(sa.text(
            "SELECT tableoid::regclass::text FROM events WHERE case_id = :c"),
            {"c": case_id}).scalar()
    assert where == "events_default"
    assert verify_store(engine) == []


@pytest.mark.parametrize("statement", [
    "UPDATE {p} SET comment = 'rewritten'",
    "DELETE FROM {p}",
    "TRUNCATE {p}",
])
def test_a_months_partition_refuses_changes_made_to_it_by_name(
        service: CaseService, registry: WorkflowRegistry, engine: sa.Engine,
        statement: str) -> None:
    start(service, registry)
    partition = partition_name(NOW.year, NOW.month)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
            engine.begin() as connection:
        connection.execute(sa.text(statement.format(p=partition)))


@pytest.fixture
def registry(engine: sa.Engine, clock: FrozenClock) -> Iterator[WorkflowRegistry]:
    from conftest import STORE_FIXTURES

    found = WorkflowRegistry(engine, clock)
    found.sync_directory(STORE_FIXTURES)
    yield found


def test_the_months_ahead_are_kept_made_at_most_hourly_by_a_running_process(
        engine: sa.Engine) -> None:
    from engine.store.partitions import keep_months_ahead

    later = NOW + timedelta(days=900)
    made = keep_months_ahead(engine, later)
    assert partition_name(later.year, later.month) in made
    even_later = later + timedelta(days=500)  # beyond the year made ahead
    assert keep_months_ahead(engine, even_later) == []  # checked within the hour
    assert partition_name(even_later.year, even_later.month) not in names(engine)
