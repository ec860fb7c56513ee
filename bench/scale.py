"""Scaling out on PostgreSQL: fires through 1, 2 and 3 API processes under the same client
load, and how a fire and the auditors' queries cost as the history grows 10x and 100x.

Processes: three `hatchery serve`-like servers (one uvicorn worker each, timers off) on one
scratch schema; the same 8 client connections (closed loop, each on a case of its own,
`bench.http`'s client) spread over the first N of them, for N = 1, 2, 3. The floor is a
bare FastAPI endpoint served by one process under the same load, in the same run.

    scale.bare.per_s
    scale.postgres.procs_N.per_s   .ratio_to_bare   .p50_ms   .p95_ms   .p99_ms   (N=1,2,3)

Growth (`bench/province.py` generates the histories): the same database at x1, x10 and
x100 the events (full run: 10,000 / 100,000 / 1,000,000 events, 100 per case; quick:
200 / 2,000 / 20,000, 20 per case), and at each size the median in-process fire (load,
decide, chained event, commit) and the p95 of the auditors' queries: a case's whole
history, a caseworker's events in a 30-day period, a case's state at a date, a page of the
cases in a state at a date. The figures that depend on the machine are also given as
ratios to the x1 figure of the same run.

    scale.growth.xK.events                       (K = 1, 10, 100)
    scale.growth.xK.fire_ms   .history_p95_ms   .by_actor_p95_ms   .state_at_p95_ms
    scale.growth.xK.in_state_p95_ms   .bytes_per_event
    scale.growth.x100.fire_ratio_to_x1   .by_actor_ratio_to_x1   .in_state_ratio_to_x1

Only on PostgreSQL (the scale-out shape); without a server, nothing is reported.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import province
from bench._databases import postgres_url, scratch_store
from bench.http import WORKFLOW, _client, _prepare, _server

CONNECTIONS = 8


def run(quick: bool) -> dict[str, float]:
    url = postgres_url()
    if url is None:
        return {}
    results: dict[str, float] = {}
    results.update(processes(url, quick))
    results.update(growth(url, quick))
    return results


# -- 1, 2, 3 processes --------------------------------------------------------------------


def processes(url: str, quick: bool) -> dict[str, float]:
    seconds, warmup = (1.5, 0.5) if quick else (6.0, 1.0)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hatchery-bench-scale-") as tmp, \
            ExitStack() as stack:
        base = Path(tmp)
        workflows = base / "workflows"
        workflows.mkdir()
        (workflows / "bench_ping_pong.yaml").write_text(WORKFLOW, encoding="utf-8")
        env = {"HATCHERY_WORKFLOWS_DIR": str(workflows), "HATCHERY_DATA_DIR": str(base),
               "HATCHERY_RUN_TIMERS": "false", "HATCHERY_WORKFLOWS_POLL_SECONDS": "0"}
        database_url = stack.enter_context(scratch_store(url, "scale"))
        store_env = {**env, "DATABASE_URL": database_url}
        # Fresh cases for each N: a closed-loop client starts every case at `ping`.
        token, cases = _prepare(store_env, CONNECTIONS * 3)
        bare = stack.enter_context(_server("bench._bare_app:create", env, workers=1))
        servers = [stack.enter_context(_server("api.main:app_from_env", store_env,
                                               workers=1)) for _ in range(3)]
        for server in (bare, *servers):
            server.wait_ready()
        bare_ids = [uuid.uuid4().hex[:16] for _ in range(CONNECTIONS)]
        bare_rate, _ = spread([bare.address], "", bare_ids, seconds, warmup)
        results["scale.bare.per_s"] = round(bare_rate, 1)
        for n in (1, 2, 3):
            rate, latencies = spread([s.address for s in servers[:n]], token,
                                     cases[(n - 1) * CONNECTIONS:n * CONNECTIONS], seconds,
                                     warmup)
            key = f"scale.postgres.procs_{n}"
            results[f"{key}.per_s"] = round(rate, 1)
            results[f"{key}.ratio_to_bare"] = round(rate / bare_rate, 3) if bare_rate else 0
            for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
                results[f"{key}.{name}_ms"] = round(_quantile(latencies, q) * 1000, 2)
    return results


def spread(addresses: list[str], token: str, cases: list[str], seconds: float,
           warmup: float) -> tuple[float, list[float]]:
    """The same client load (one closed-loop connection per case, in at least two client
    processes) spread over `addresses`: client process i sends to address i mod N."""
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue()
    clients = max(2, len(addresses))
    start = time.time() + 0.3
    shares = [cases[i::clients] for i in range(clients)]
    workers = [context.Process(target=_client, args=(addresses[i % len(addresses)], token,
                                                      share, start, warmup, seconds, queue))
               for i, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    done, latencies, failures = 0, [], 0
    for _ in workers:
        count, times, failed = queue.get(timeout=seconds + warmup + 60)
        done += count
        latencies.extend(times)
        failures += failed
    for worker in workers:
        worker.join(timeout=10)
    if failures:
        print(f"bench.scale: {failures} request(s) failed", file=sys.stderr)
    return done / seconds, latencies


def _quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


# -- growth ---------------------------------------------------------------------------------


def growth(url: str, quick: bool) -> dict[str, float]:
    per_case, base_cases = (20, 10) if quick else (100, 100)
    samples = 30 if quick else 100
    results: dict[str, float] = {}
    with scratch_store(url, "province") as database_url:
        engine = province.prepare(database_url)
        try:
            made = 0
            for factor in (1, 10, 100):
                province.generate(engine, base_cases * factor - made, per_case)
                made = base_cases * factor
                with engine.connect() as connection:
                    connection.execute(sa.text("ANALYZE cases"))
                    connection.execute(sa.text("ANALYZE events"))
                figures = measure(engine, samples)
                for name, value in figures.items():
                    results[f"scale.growth.x{factor}.{name}"] = value
        finally:
            engine.dispose()
    for name in ("fire", "by_actor", "in_state", "history"):
        suffix = "fire_ms" if name == "fire" else f"{name}_p95_ms"
        first = results.get(f"scale.growth.x1.{suffix}")
        last = results.get(f"scale.growth.x100.{suffix}")
        if first and last:
            results[f"scale.growth.x100.{name}_ratio_to_x1"] = round(last / first, 2)
    return results


def measure(engine: sa.Engine, samples: int) -> dict[str, float]:
    from engine.audit.history import case_at, cases_in_state
    from engine.clock import SystemClock
    from engine.core.decision import Actor
    from engine.definitions.registry import WorkflowRegistry
    from engine.service import CaseService

    registry = WorkflowRegistry(engine)
    service = CaseService(engine, registry, SystemClock())
    rng = random.Random(15)
    with engine.connect() as connection:
        cases = connection.execute(sa.text(
            "SELECT id, community, created_at FROM cases WHERE workflow_id = :w "
            "AND status = 'active'"), {"w": province.WORKFLOW_ID}).all()
        events = int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())
        size = int(connection.execute(sa.text(
            "SELECT pg_total_relation_size('events') + coalesce((SELECT sum("
            "pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = "
            "'events'::regclass), 0)")).scalar_one())
    picked = [rng.choice(cases) for _ in range(samples)]
    now = datetime.now(UTC)
    actor = Actor("bench", frozenset({"caseworker"}))

    def timed(action: Callable[[Any], object]) -> list[float]:
        times = []
        for row in picked:
            began = time.perf_counter()
            action(row)
            times.append(time.perf_counter() - began)
        return times

    service.fire(picked[0].id, "note", actor=actor)  # compiled once, connections warm
    fires = timed(lambda row: service.fire(row.id, "note", actor=actor))
    history = timed(lambda row: service.history(row.id))
    by_actor = timed(lambda row: service.list_events(
        actor=province.worker_of(row.community), since=now - timedelta(days=200),
        until=now - timedelta(days=170), limit=100))
    state_at = timed(lambda row: case_at(engine, registry, row.id,
                                         row.created_at + timedelta(days=90)))
    in_state = timed(lambda row: cases_in_state(
        engine, registry, province.WORKFLOW_ID, "reviewing", now - timedelta(days=180),
        community_prefix=row.community.rsplit("/", 2)[0], limit=50))
    return {
        "events": float(events),
        "bytes_per_event": round(size / max(events, 1), 1),
        "fire_ms": round(statistics.median(fires) * 1000, 2),
        "history_p95_ms": round(_quantile(history, 0.95) * 1000, 2),
        "by_actor_p95_ms": round(_quantile(by_actor, 0.95) * 1000, 2),
        "state_at_p95_ms": round(_quantile(state_at, 0.95) * 1000, 2),
        "in_state_p95_ms": round(_quantile(in_state, 0.95) * 1000, 2),
    }
