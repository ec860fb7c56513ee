"""Timers: due timers fired by `hatchery worker` processes, with no duplicate and no miss.

10,000 timers (QUICK: 1,000) are armed in the future, the workers are started and become
ready, then one UPDATE makes every timer due at once; the clock runs from that commit
until the last timer is marked fired. Two workers share a PostgreSQL database (when a
server answers at HATCHERY_BENCH_POSTGRES_URL, HATCHERY_TEST_POSTGRES_URL or the CI
default), one works a SQLite file.

Each firing is a full change through the one door: claim (`FOR UPDATE SKIP LOCKED` /
conditional update), load and lock the case, decide or record, chained event, the timer's
`fired` mark and idempotency record, commit. The bench workflow's timers never leave
their state (an internal trigger with an effect, overdue marks, escalations), so all of
them fire.

Keys:

    timers.postgres.per_s   timers fired per second, two workers on PostgreSQL
    timers.sqlite.per_s     timers fired per second, one worker on SQLite
    timers.duplicates       timer rows with more than one event (must be 0)
    timers.misses           timer rows not fired, or fired without an event (must be 0)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench._databases import postgres_url, scratch_store

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.service import CaseService

ROOT = Path(__file__).resolve().parent.parent
TIMERS_PER_CASE = 20
COMMENT_ROW = re.compile(r"#(\d+)")
TIMEOUT_S = 900


def workflow_text() -> str:
    """A workflow whose first state arms TIMERS_PER_CASE timers that never leave it."""
    actions = ["{action: fire, trigger: ping}", "{action: mark_overdue}",
               "{action: escalate}"]
    timers = [f"      - {{id: t{i:02d}, duration: PT{i}H, {actions[i % 3][1:]}"
              for i in range(1, TIMERS_PER_CASE + 1)]
    return "\n".join([
        "id: bench_timers", "version: 1.0.0", "title: {zh: 计时器基准, en: Timer benchmark}",
        "fields:", "  name: {type: string, required: true}",
        "  pings: {type: integer, default: 0, min: 0}",
        "states:", "  open:", "    initial: true", "    timers:", *timers,
        "  done: {final: true, outcome: done}",
        "transitions:",
        "  - {trigger: ping, from: open, to: open, effects: {pings: data.pings + 1}}",
        "  - {trigger: finish, from: open, to: done}", ""])


def run(quick: bool) -> dict[str, float]:
    count = 1_000 if quick else 10_000
    stores: list[tuple[str, str, int]] = []
    postgres = postgres_url()
    if postgres is not None:
        stores.append(("postgres", postgres, 2))
    figures: dict[str, float] = {}
    duplicates = misses = 0
    with tempfile.TemporaryDirectory(prefix="hatchery-bench-timers-") as tmp:
        workflows = Path(tmp) / "workflows"
        workflows.mkdir()
        (workflows / "bench_timers.yaml").write_text(workflow_text(), encoding="utf-8")
        stores.append(("sqlite", f"sqlite:///{Path(tmp) / 'timers.db'}", 1))
        for name, url, worker_count in stores:
            with scratch_store(url, "bench_timers") as database_url:
                per_s, doubled, missed = _measure(database_url, workflows, Path(tmp),
                                                  count, worker_count)
            figures[f"timers.{name}.per_s"] = round(per_s, 1)
            duplicates += doubled
            misses += missed
    figures["timers.duplicates"] = duplicates
    figures["timers.misses"] = misses
    return figures


def _measure(url: str, workflows: Path, tmp: Path, count: int,
             worker_count: int) -> tuple[float, int, int]:
    import sqlalchemy as sa

    from engine.clock import SystemClock
    from engine.definitions.registry import WorkflowRegistry
    from engine.service import CaseService
    from engine.store.db import make_engine
    from engine.store.migrating import upgrade

    engine = make_engine(url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(engine)
        clock = SystemClock()
        registry = WorkflowRegistry(engine, clock)
        registry.sync_directory(workflows)
        service = CaseService(engine, registry, clock)
        logs = [tmp / f"worker-{uuid.uuid4().hex[:6]}.log" for _ in range(worker_count)]
        workers = [_start_worker(url, workflows, tmp, log, f"bench-{i}")
                   for i, log in enumerate(logs)]
        _arm(service, count // TIMERS_PER_CASE, threads=4 if url.startswith("postgres") else 1)
        _wait(lambda: all(" ready on " in log.read_text(errors="replace") for log in logs),
              workers, logs, "the workers did not start")
        due = {"due": datetime.now(UTC) - timedelta(hours=1)}
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE timers SET due_at = :due"), due)
            # Each case's soonest deadline moves with its timers (engine.service.deadlines).
            connection.execute(sa.text("UPDATE cases SET next_due = :due "
                                       "WHERE next_due IS NOT NULL"), due)
        started = time.perf_counter()
        _wait(lambda: _fired(engine) >= count, workers, logs, "not every timer fired")
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=120)
        duplicates, misses = _check(engine)
        return count / elapsed, duplicates, misses
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        engine.dispose()


def _start_worker(url: str, workflows: Path, tmp: Path, log: Path,
                  name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "HATCHERY_WORKFLOWS_DIR": str(workflows),
           "HATCHERY_DATA_DIR": str(tmp)}
    command = [sys.executable, "-c", "from cli.main import app; app()", "worker",
               "--id", name, "--interval", "0.1", "--batch", "100"]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _arm(service: CaseService, cases: int, *, threads: int) -> None:
    from engine.core.decision import Actor

    actor = Actor("bench", frozenset({"caseworker"}))

    def start(i: int) -> None:
        service.start_case("bench_timers", {"name": f"case {i}"}, actor=actor,
                           community="bench/timers")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(start, range(cases)))


def _fired(engine: Engine) -> int:
    import sqlalchemy as sa

    with engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT count(*) FROM timers WHERE status = 'fired'")).scalar_one())


def _check(engine: Engine) -> tuple[int, int]:
    """(timers with more than one event, timers not fired or with no event)."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, status FROM timers")).all()
        comments = connection.execute(sa.text(
            "SELECT comment FROM events WHERE actor = 'system:timer'")).scalars().all()
    per_timer = Counter(int(m.group(1)) for c in comments
                        if (m := COMMENT_ROW.search(c or "")) is not None)
    duplicates = sum(1 for n in per_timer.values() if n > 1)
    misses = sum(1 for timer_id, status in rows
                 if status != "fired" or per_timer.get(timer_id, 0) == 0)
    return duplicates, misses


def _wait(done: Callable[[], bool], workers: list[subprocess.Popen[bytes]], logs: list[Path],
          what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
            tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
            raise RuntimeError(f"{what}:\n{tails}")
        time.sleep(0.05)


