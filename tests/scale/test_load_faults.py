"""Under load and faults: three API processes on one PostgreSQL (and one process on a SQLite
file) take concurrent case starts and fires from many clients with conflicts and retries;
one process is killed with SIGKILL half-way and started again while due timers fire. Then
the database must hold exactly what the clients were told:

- every request answered 2xx is in the history exactly once (a retry with its key
  replays the same event);
- no event exists that no client was answered for, except where that client saw a
  connection error (its answer was lost with the process);
- every case's state and version are those of its last event, and `hatchery audit
  verify` passes;
- every timer made due fired exactly once.

The CI version is short (a few hundred requests); `make soak` runs the long one
(`HATCHERY_SOAK=1`: thousands of starts and fires, more clients).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from database_copies import PostgresTemplate, copy_sqlite, schema_url

from engine.settings import PROJECT_ROOT
from scale.load import Load, run_load
from scale.servers import ApiProcess, api_processes, make_token

pytestmark = [pytest.mark.load, pytest.mark.timeout(3600 if os.environ.get("HATCHERY_SOAK")
                                                   else 600)]
SOAK = bool(os.environ.get("HATCHERY_SOAK"))
SIZES = (dict(cases=600, timed_cases=100, fires=4000, concurrency=64) if SOAK
         else dict(cases=40, timed_cases=8, fires=240, concurrency=16))
WORKFLOWS = (PROJECT_ROOT / "tests" / "fixtures" / "api" / "resident_service.yaml",
             PROJECT_ROOT / "tests" / "fixtures" / "timers" / "timer_load.yaml")
TIMERS_PER_CASE = 10
COMMENT_ROW = re.compile(r"#(\d+)")
AREA = "fuzhou/gulou/load"


@dataclass
class Setup:
    url: str
    folder: Path
    workflows: Path


def _workflows(folder: Path) -> Path:
    directory = folder / "workflows"
    directory.mkdir()
    for path in WORKFLOWS:
        shutil.copy(path, directory / path.name)
    return directory


@pytest.fixture
def postgres_setup(postgres_template: PostgresTemplate, tmp_path: Path) -> Iterator[Setup]:
    schema = postgres_template.copy()
    yield Setup(schema_url(postgres_template.base, schema), tmp_path, _workflows(tmp_path))
    postgres_template.drop(schema)


@pytest.fixture
def sqlite_setup(sqlite_template: Path, tmp_path: Path) -> Setup:
    url = copy_sqlite(sqlite_template, tmp_path / "hatchery.db")
    return Setup(url, tmp_path, _workflows(tmp_path))


def make_due(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        due = {"due": datetime.now(UTC) - timedelta(hours=1)}
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE timers SET due_at = :due WHERE status = "
                                       "'pending'"), due)
            # Each case's soonest deadline moves with its timers (engine.service.deadlines).
            connection.execute(sa.text("UPDATE cases SET next_due = :due "
                                       "WHERE next_due IS NOT NULL"), due)
    finally:
        engine.dispose()


def kill_and_restart(process: ApiProcess) -> None:
    process.kill()
    time.sleep(0.5)  # requests routed to it meanwhile fail to connect
    process.start()
    process.wait_ready()


def wait_timers_fired(url: str, expected: int, timeout: float) -> None:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                fired = connection.execute(sa.text(
                    "SELECT count(*) FROM timers WHERE status = 'fired'")).scalar_one()
            if fired >= expected or time.monotonic() > deadline:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()


def check(url: str, load: Load, actor: str, timers: int) -> None:
    """The database against what the clients were told (see the module)."""
    answered = [op for op in load.operations if op.answer is not None]
    # Every 2xx of one operation names the same event; no two operations share one.
    assert all(len(op.answers) == 1 for op in answered)
    told = Counter(op.answer for op in answered)
    assert max(told.values()) == 1, [e for e, n in told.items() if n > 1][:5]
    unanswered = [op for op in load.operations if op.answer is None]
    assert all(op.saw_connection_error for op in unanswered), Counter(
        str(op.statuses[-1]) for op in unanswered if not op.saw_connection_error)
    statuses = Counter(s for op in load.operations for s in op.statuses)
    assert not [s for s in statuses if isinstance(s, int) and s >= 500 and s != 503], statuses

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            events = connection.execute(sa.text(
                "SELECT case_id, seq FROM events WHERE actor = :actor"),
                {"actor": actor}).all()
            recorded = connection.execute(sa.text(
                "SELECT key, response FROM idempotency_records WHERE actor = :actor"),
                {"actor": actor}).all()
            mismatched = connection.execute(sa.text(
                "SELECT c.id FROM cases c JOIN events e ON e.case_id = c.id "
                "AND e.seq = c.event_count WHERE c.state <> e.to_state "
                "OR c.version <> c.event_count")).scalars().all()
            counts = connection.execute(sa.text(
                "SELECT (SELECT count(*) FROM cases), (SELECT count(DISTINCT case_id) "
                "FROM events)")).one()
            timer_ids = connection.execute(sa.text("SELECT id FROM timers")).scalars().all()
            timer_states = Counter(connection.execute(sa.text(
                "SELECT status FROM timers")).scalars())
            comments = connection.execute(sa.text(
                "SELECT comment FROM events WHERE actor = 'system:timer'")).scalars().all()
    finally:
        engine.dispose()
    stored = Counter((str(c), int(s)) for c, s in events)
    assert max(stored.values()) == 1
    # Every 2xx is in the history exactly once.
    missing = [e for e in told if stored[e] != 1]
    assert missing == []
    # Every event of these clients was answered, or its client saw a connection error.
    by_key: dict[str, tuple[str, int]] = {}
    for key, response in recorded:
        body = response if isinstance(response, dict) else json.loads(response)
        by_key[key.split(":", 1)[1]] = (str(body["case"]["id"]), int(body["event"]["seq"]))
    lost = {by_key[op.key] for op in unanswered if op.key in by_key}
    unexplained = set(stored) - set(told) - lost
    assert unexplained == set()
    # Each case is the projection of its last event.
    assert mismatched == []
    assert counts[0] == counts[1]
    # Each timer made due fired exactly once.
    per_timer = Counter(int(COMMENT_ROW.search(c or "").group(1)) for c in comments)
    assert len(timer_ids) == timers
    assert timer_states == {"fired": timers}
    assert {t: n for t, n in per_timer.items() if n != 1} == {}
    assert set(per_timer) == set(timer_ids)


def audit_verify(url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "HATCHERY_DATA_DIR": str(folder)}
    return subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "audit",
                           "verify"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def drive(setup: Setup, processes: list[ApiProcess], victim: ApiProcess) -> tuple[Load, str]:
    name = "load-caseworker"
    token = make_token(setup.url, ["caseworker"], AREA, name=name)
    load = asyncio.run(run_load(
        [p.url for p in processes], token, AREA, **SIZES,  # type: ignore[arg-type]
        before_fires=lambda: make_due(setup.url),
        midway=lambda: kill_and_restart(victim)))
    return load, name


@pytest.mark.postgres
def test_three_processes_on_postgresql_killed_midway_keep_exactly_what_clients_were_told(
        postgres_setup: Setup) -> None:
    setup = postgres_setup
    with api_processes(3, setup.url, setup.workflows, setup.folder, run_timers=True,
                       extra_env={"HATCHERY_TIMER_LEASE_SECONDS": "3"}) as processes:
        load, actor = drive(setup, processes, processes[1])
        timers = len(load.timed) * TIMERS_PER_CASE
        wait_timers_fired(setup.url, timers, 120)
    assert processes[1].starts == 2
    assert load.count("connection") > 0, "the kill went unnoticed: no request was cut off"
    check(setup.url, load, actor, timers)
    verified = audit_verify(setup.url, setup.folder)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_one_process_on_sqlite_killed_midway_keeps_exactly_what_clients_were_told(
        sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    with api_processes(1, setup.url, setup.workflows, setup.folder, run_timers=True,
                       extra_env={"HATCHERY_TIMER_LEASE_SECONDS": "3"}) as processes:
        load, actor = drive(setup, processes, processes[0])
        timers = len(load.timed) * TIMERS_PER_CASE
        wait_timers_fired(setup.url, timers, 120)
    assert processes[0].starts == 2
    check(setup.url, load, actor, timers)
    verified = audit_verify(setup.url, setup.folder)
    assert verified.returncode == 0, verified.stdout + verified.stderr
