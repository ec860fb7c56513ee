"""Optimistic concurrency and idempotency under real concurrency: threads sharing one
service, and separate OS processes (spawned, each with its own engine and registry), on
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY

from engine.clock import FrozenClock
from engine.errors import Conflict, Refused
from engine.service import CaseService, verify_store

THREADS = 8


def event_count(engine: sa.Engine, case_id: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM events WHERE case_id = :c"),
                                      {"c": case_id}).scalar_one())


def new_org(service: CaseService) -> str:
    return service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case.id


def test_concurrent_fires_at_one_version_give_exactly_one_event(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = new_org(service)
    barrier = threading.Barrier(THREADS)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            service.fire(case_id, "grow", input={"by": 1}, actor=CASEWORKER,
                         expected_version=1)
        except Conflict as conflict:
            assert (conflict.expected, conflict.current) == (1, 2)
            return "conflict"
        return "fired"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["fired"]
    assert event_count(engine, case_id) == 2
    case = service.get_case(case_id)
    assert (case.version, case.data["size"]) == (2, 1)


def test_concurrent_fires_without_a_version_are_serialised_and_none_is_lost(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = new_org(service)
    barrier = threading.Barrier(THREADS)

    def grow(_: int) -> int:
        barrier.wait()
        return service.fire(case_id, "grow", input={"by": 1}, actor=CASEWORKER).event.seq

    with ThreadPoolExecutor(THREADS) as pool:
        seqs = sorted(pool.map(grow, range(THREADS)))
    assert seqs == list(range(2, THREADS + 2))
    assert service.get_case(case_id).data["size"] == THREADS
    assert verify_store(engine) == []


def test_concurrent_requests_with_one_key_write_once(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = new_org(service)
    barrier = threading.Barrier(THREADS)

    def retry(_: int) -> tuple[str, bool]:
        barrier.wait()
        result = service.fire(case_id, "grow", input={"by": 1}, actor=CASEWORKER,
                              idempotency_key="same-request")
        return result.event.hash, result.replayed

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(retry, range(THREADS)))
    assert len({digest for digest, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * (THREADS - 1)
    assert event_count(engine, case_id) == 2


def test_the_shared_compiled_workflow_serves_many_cases_at_once(
        service: CaseService, engine: sa.Engine) -> None:
    cases = [new_org(service) for _ in range(THREADS)]
    compiled = service.registry.get("store_org")

    def work(case_id: str) -> str:
        for _ in range(3):
            service.fire(case_id, "grow", input={"by": 2}, actor=CASEWORKER)
        return service.get_case(case_id).state

    with ThreadPoolExecutor(THREADS) as pool:
        assert list(pool.map(work, cases)) == ["forming"] * THREADS
    assert all(service.get_case(c).data["size"] == 6 for c in cases)
    assert service.registry.get("store_org") is compiled
    assert verify_store(engine) == []


def test_two_cases_linked_from_both_sides_at_once_are_linked_once_without_a_deadlock(
        service: CaseService, engine: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    # A link locks both cases (it is written in both histories), the smaller id first:
    # two requests linking the same pair from either side wait for each other; neither
    # is aborted by the database to break a deadlock (which the door would retry, logged).
    pairs = [(new_org(service), new_org(service)) for _ in range(THREADS // 2)]
    requests = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    barrier = threading.Barrier(len(requests))

    def link(request: tuple[str, str]) -> str:
        barrier.wait()
        try:
            service.link(*request, actor=COMMITTEE)
        except Refused as refused:
            return refused.refusal.code
        return "linked"

    with (caplog.at_level(logging.INFO, logger="hatchery.service"),
          ThreadPoolExecutor(len(requests)) as pool):
        outcomes = sorted(pool.map(link, requests))
    assert outcomes == ["already_linked"] * len(pairs) + ["linked"] * len(pairs)
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]
    for a, b in pairs:
        assert event_count(engine, a) == event_count(engine, b) == 2
    assert verify_store(engine) == []


# -- separate processes ------------------------------------------------------------------


def _worker(commands: Any, results: Any, barrier: Any) -> None:
    """A spawned process: its own engines, registries and services, one per database URL.

    Each command is `(url, case_id, expected_version, idempotency_key, together)`; with
    `together`, it waits at the barrier so that both workers fire at the same moment.
    """
    from engine.definitions.registry import WorkflowRegistry
    from engine.store.db import make_engine

    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    services: dict[str, CaseService] = {}
    while (command := commands.get()) is not None:
        url, case_id, expected, key, together = command
        if url not in services:
            engine = make_engine(url)
            services[url] = CaseService(engine, WorkflowRegistry(engine, clock), clock)
        service = services[url]
        service.registry.get("store_org")  # compile from the stored text before the race
        if together:
            barrier.wait(timeout=60)
        try:
            result = service.fire(case_id, "grow", input={"by": 1}, actor=CASEWORKER,
                                  expected_version=expected, idempotency_key=key)
            results.put(("fired", result.event.hash, result.replayed))
        except Conflict as conflict:
            results.put(("conflict", conflict.current, None))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", repr(error), None))
    for service in services.values():
        service.engine.dispose()


class Workers:
    """Two long-lived spawned processes (started once: starting one costs seconds)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(2)
        self.results = [context.Queue(), context.Queue()]
        self.commands = [context.Queue(), context.Queue()]
        self.processes = [context.Process(target=_worker, args=(c, r, self.barrier),
                                          daemon=True)
                          for c, r in zip(self.commands, self.results, strict=True)]
        for process in self.processes:
            process.start()

    def fire(self, url: str, case_id: str, *, expected: int | None, key: str | None,
             together: bool) -> list[tuple[Any, ...]]:
        """Both workers fire on the case: at once (`together`), or one after the other."""
        outcomes: list[tuple[Any, ...]] = []
        for commands, results in zip(self.commands, self.results, strict=True):
            commands.put((url, case_id, expected, key, together))
            if not together:
                outcomes.append(results.get(timeout=120))
        if together:
            outcomes = [results.get(timeout=120) for results in self.results]
        assert all(o[0] != "error" for o in outcomes), outcomes
        return outcomes

    def close(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for process in self.processes:
            process.join(timeout=30)


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    started = Workers()
    yield started
    started.close()


@pytest.fixture
def shared(db_url: str, service: CaseService) -> tuple[str, str]:
    """The database's URL (for the other processes) and one case in it."""
    return db_url, new_org(service)


def test_two_processes_firing_at_one_version_give_exactly_one_event(
        workers: Workers, shared: tuple[str, str], engine: sa.Engine) -> None:
    url, case_id = shared
    outcomes = workers.fire(url, case_id, expected=1, key=None, together=True)
    assert sorted(o[0] for o in outcomes) == ["conflict", "fired"]
    assert [o[1] for o in outcomes if o[0] == "conflict"] == [2]
    assert event_count(engine, case_id) == 2


def test_a_retry_from_another_process_replays_the_first_result(
        workers: Workers, shared: tuple[str, str], engine: sa.Engine) -> None:
    url, case_id = shared
    first, second = workers.fire(url, case_id, expected=None, key="cross-process",
                                 together=False)
    assert first[0] == second[0] == "fired"
    assert first[1] == second[1]
    assert (first[2], second[2]) == (False, True)
    assert event_count(engine, case_id) == 2


def test_two_processes_racing_with_one_key_write_once(
        workers: Workers, shared: tuple[str, str], engine: sa.Engine) -> None:
    url, case_id = shared
    outcomes = workers.fire(url, case_id, expected=None, key="racing", together=True)
    assert [o[0] for o in outcomes] == ["fired", "fired"]
    assert len({o[1] for o in outcomes}) == 1
    assert sorted(o[2] for o in outcomes) == [False, True]
    assert event_count(engine, case_id) == 2
    assert verify_store(engine) == []
