"""Audit queries over a large history: a case's history, events by actor in a month, a case
at an instant, the cases in a state at an instant, and export throughput.

1,000,000 events over 100,000 cases (QUICK: 50,000 over 5,000) are bulk-loaded straight
into the tables (ten events a case, 200 actors, two years of times, states of the store
incubation workflow); the queries are those the API runs (`engine.audit.history`,
`engine.audit.exports`). SQLite always; PostgreSQL when a server answers at
HATCHERY_BENCH_POSTGRES_URL, HATCHERY_TEST_POSTGRES_URL or, under CI, the CI default.

Keys (`<db>` is sqlite or postgres):

    audit.<db>.history.p50_ms / .p95_ms       a case's whole history
    audit.<db>.by_actor_month.p50_ms / .p95_ms  one actor's events in a one-month range
    audit.<db>.state_at.p50_ms / .p95_ms      one case replayed at an instant
    audit.<db>.states_at.p50_ms / .p95_ms     first page (100) of a workflow's cases in a
                                              state at an instant
    audit.<db>.export.rows_per_s              JSON Lines export, masked, trailer included
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._databases import scratch_store

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILE = ROOT / "tests" / "fixtures" / "store" / "store_incubation.yaml"
WORKFLOW = "store_incubation"
CI_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EVENTS_PER_CASE = 10
ACTORS = 200
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
PATH = ["selection", "confirmation", "cultivation", "cultivation", "cultivation",
        "cultivation", "final_evaluation", "cultivation", "final_evaluation", "graduated"]
SAMPLES = 200
EXPORT_ROWS = 100_000


def _postgres_url() -> str | None:
    url = (os.environ.get("HATCHERY_BENCH_POSTGRES_URL")
           or os.environ.get("HATCHERY_TEST_POSTGRES_URL")
           or (CI_POSTGRES_URL if os.environ.get("CI") else None))
    if url is None:
        return None
    import sqlalchemy as sa

    probe = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError:
        return None
    finally:
        probe.dispose()
    return url


@contextmanager
def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'audit.db'}"


def _load(engine: Any, cases: int) -> None:
    """`cases` cases of ten events each, inserted in chunks, then ANALYZE."""
    import sqlalchemy as sa

    from engine.store.tables import Case, Event

    case_table, event_table = Case.__table__, Event.__table__  # type: ignore[attr-defined]
    rng = random.Random(7)
    step = SPAN / (EVENTS_PER_CASE * 3)
    chunk = 2000
    for first in range(0, cases, chunk):
        case_rows, event_rows = [], []
        for n in range(first, min(first + chunk, cases)):
            case_id = f"c{n:08d}"
            began = START + timedelta(seconds=rng.uniform(0, SPAN.total_seconds() / 3))
            last = min(EVENTS_PER_CASE, rng.randint(3, EVENTS_PER_CASE))
            moment, previous = began, None
            for k in range(last):
                state = PATH[k]
                event_rows.append({
                    "case_id": case_id, "seq": k + 1, "workflow_id": WORKFLOW,
                    "workflow_version": "1.0.0", "kind": "start" if k == 0 else "transition",
                    "trigger": None if k == 0 else "step", "from_state": previous,
                    "to_state": state, "actor": f"actor{rng.randrange(ACTORS):03d}",
                    "role": "party_committee", "input": {"result": "good"},
                    "changes": {"name": f"Org {n}"} if k == 0 else {"evaluations": k},
                    "comment": None, "at": moment, "prev_hash": "0" * 64,
                    "hash": f"{n:032x}{k:032x}", "body": "{}"})
                previous = state
                moment += step * rng.uniform(0.2, 1.8)
            final = PATH[last - 1]
            case_rows.append({
                "id": case_id, "workflow_id": WORKFLOW, "workflow_version": "1.0.0",
                "state": final, "status": "closed" if final == "graduated" else "active",
                "outcome": None, "data": {"name": f"Org {n}"}, "version": last,
                "community": f"fuzhou/d{n % 13}/s{n % 7}/c{n % 5}", "title": f"Org {n}",
                "priority": 0.0, "overdue": n % 17 == 0, "entered_at": began,
                "state_entries": {}, "head_hash": f"{n:032x}{last - 1:032x}",
                "event_count": last, "created_at": began, "updated_at": moment})
        with engine.begin() as connection:
            connection.execute(case_table.insert(), case_rows)
            connection.execute(event_table.insert(), event_rows)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))


def _timed(samples: int, call: Callable[[int], Any]) -> tuple[float, float]:
    spent = []
    for i in range(samples):
        began = time.perf_counter()
        call(i)
        spent.append((time.perf_counter() - began) * 1000)
    spent.sort()
    return statistics.median(spent), spent[max(int(0.95 * len(spent)) - 1, 0)]


def _measure(url: str, db: str, cases: int) -> dict[str, float]:
    import sqlalchemy as sa

    from engine.audit.exports import ExportFilter, export
    from engine.audit.history import case_at, cases_in_state, history_until
    from engine.definitions.registry import WorkflowRegistry
    from engine.store.db import make_engine, read_connection
    from engine.store.migrating import upgrade
    from engine.store.tables import Event

    engine = make_engine(url)
    try:
        upgrade(engine)
        registry = WorkflowRegistry(engine)
        registry.register_text(WORKFLOW_FILE.read_text(encoding="utf-8"), str(WORKFLOW_FILE))
        _load(engine, cases)
        rng = random.Random(11)
        events = Event.__table__  # type: ignore[attr-defined]
        ids = [f"c{rng.randrange(cases):08d}" for _ in range(SAMPLES)]
        moments = [START + timedelta(seconds=rng.uniform(0, SPAN.total_seconds()))
                   for _ in range(SAMPLES)]
        # Cases begin in the first third of the span: any later instant finds them started.
        later = [START + timedelta(seconds=rng.uniform(SPAN.total_seconds() / 3,
                                                       SPAN.total_seconds()))
                 for _ in range(SAMPLES)]
        far = START + SPAN * 2
        figures: dict[str, float] = {}

        def history(i: int) -> None:
            with read_connection(engine) as connection:
                connection.execute(history_until(ids[i], far)).all()

        def by_actor(i: int) -> None:
            with read_connection(engine) as connection:
                connection.execute(
                    sa.select(events).where(events.c.actor == f"actor{i % ACTORS:03d}",
                                            events.c.at >= moments[i],
                                            events.c.at < moments[i] + timedelta(days=30))
                    .order_by(events.c.at, events.c.id).limit(1000)).all()

        def state_at(i: int) -> None:
            case_at(engine, registry, ids[i], later[i])

        def states_at(i: int) -> None:
            cases_in_state(engine, registry, WORKFLOW, "cultivation", moments[i], limit=100)

        for name, call in (("history", history), ("by_actor_month", by_actor),
                           ("state_at", state_at), ("states_at", states_at)):
            call(0)  # warm the caches and the compiled workflow
            p50, p95 = _timed(SAMPLES, call)
            figures[f"audit.{db}.{name}.p50_ms"] = round(p50, 3)
            figures[f"audit.{db}.{name}.p95_ms"] = round(p95, 3)

        total = cases * EVENTS_PER_CASE
        share = min(1.0, EXPORT_ROWS / max(total, 1))
        until = START + timedelta(seconds=SPAN.total_seconds() * share * 0.8)
        rows = 0
        began = time.perf_counter()
        for chunk in export(engine, registry.get, ExportFilter(until=until), fmt="jsonl",
                            trailer=True):
            rows += chunk.count(b"\n")
        elapsed = time.perf_counter() - began
        figures[f"audit.{db}.export.rows_per_s"] = round(max(rows - 1, 0) / elapsed, 1)
        return figures
    finally:
        engine.dispose()


def run(quick: bool) -> dict[str, float]:
    cases = 5_000 if quick else 100_000
    figures: dict[str, float] = {}
    with _sqlite() as url:
        figures.update(_measure(url, "sqlite", cases))
    base = _postgres_url()
    if base is not None:
        with scratch_store(base, "bench_audit") as url:
            figures.update(_measure(url, "postgres", cases))
    return figures


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv or bool(os.environ.get("QUICK"))), indent=2))
