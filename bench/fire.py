"""In-process fires per second through the one door, against the bare SQL they stand on.

A fire through `CaseService.fire` is one transaction: load the case (locked), its
parameters, checklist and links; decide (role, input, guard, effects, timers); write the
case row (`UPDATE ... WHERE id = :id AND version = :v`) and the hash-chained event; commit.
The floor is the least any such fire must cost: the same SQL statements (select the case,
conditional update, insert the event, commit) issued directly with the sqlite3 module (on
PostgreSQL with psycopg), on the same database file or server, in the same run, with no
decision, no hashing and no SQLAlchemy. Rounds of both alternate, so that both see the
same machine and the same database sizes; the medians are reported.

SQLite is a file in WAL mode with `synchronous=FULL` (every commit reaches the disk), as
the service runs it. PostgreSQL is used when a server answers at HATCHERY_BENCH_POSTGRES_URL,
HATCHERY_TEST_POSTGRES_URL or the CI default, in a schema of its own dropped afterwards.

Memory: the service keeps no state per case (cases are loaded per change), so what it
holds must not grow with the number of cases it has touched. After a warm-up, cases are
started and fired once each in two batches (the second several times the first); the
growth over the second batch is reported per 1,000 cases: Python's allocated blocks
(`sys.getallocatedblocks`, after a full collection: objects the service keeps) and the
resident set (which also sees the drivers' caches, bounded). Flat means about 0.

Keys:

    fire.sqlite.per_s      fire.sqlite.floor_per_s      fire.sqlite.ratio_to_floor
    fire.postgres.per_s    fire.postgres.floor_per_s    fire.postgres.ratio_to_floor
    fire.memory.cases      fire.memory.blocks_per_1000_cases
    fire.memory.rss_kb_per_1000_cases

DESIGN.md's budgets: ratio_to_floor at least 0.5; memory flat in the number of cases.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench._databases import postgres_url
from engine.clock import FrozenClock
from engine.core.decision import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService
from engine.store.db import make_engine
from engine.store.migrating import upgrade

WORKFLOW = """
id: bench_fire
version: 1.0.0
title: {zh: 触发基准, en: Fire benchmark}
roles: [caseworker]
title_field: name
parameters:
  limit: {type: integer, default: 1000000000}
fields:
  name: {type: string, required: true, max_length: 100}
  count: {type: integer, default: 0, min: 0}
  note: {type: text}
priority: double(data.count)
states:
  ping: {initial: true}
  pong: {}
  closed: {final: true, outcome: closed}
transitions:
  - trigger: ping
    from: ping
    to: pong
    roles: [caseworker]
    guard: data.count < params.limit
    refusal: {en: The limit is reached., zh: 已达上限。}
    input: {by: {type: integer, required: true, min: 1}}
    effects: {count: data.count + input.by}
  - trigger: pong
    from: pong
    to: ping
    roles: [caseworker]
    guard: data.count < params.limit
    input: {by: {type: integer, required: true, min: 1}}
    effects: {count: data.count + input.by}
  - {trigger: close, from: [ping, pong], to: closed, roles: [caseworker]}
"""
ACTOR = Actor("bench.caseworker", frozenset({"caseworker"}))
COMMUNITY = "bench/street/community"
CASES = 8
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def run(quick: bool) -> dict[str, float]:
    """QUICK: a few hundred fires per side (seconds); else several thousand."""
    count = 200 if quick else 2_000
    rounds = 3
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hatchery-bench-fire-") as folder:
        path = Path(folder) / "fire.db"
        figures.update(_measure("sqlite", f"sqlite:///{path}", _sqlite_floor(path),
                                count, rounds))
        figures.update(_memory(f"sqlite:///{Path(folder) / 'memory.db'}",
                               *((100, 400) if quick else (1_000, 9_000))))
    base = postgres_url()
    if base is not None:
        with _postgres_schema(base) as url:
            figures.update(_measure("postgres", url, _postgres_floor(url), count, rounds))
    else:
        print("bench.fire: no PostgreSQL server answers; fire.postgres.* not measured",
              file=sys.stderr)
    return figures


Floor = Callable[[list[str], int], None]


def _measure(name: str, url: str, floor_factory: Callable[[], tuple[Floor, Callable[[], None]]],
             count: int, rounds: int) -> dict[str, float]:
    with _service(url) as (service, clock):
        mine = _start_cases(service)
        theirs = _start_cases(service)
        floor, close = floor_factory()
        try:
            fired = _fire_loop(service, clock)
            fired(mine, 20)  # warm: compiled statements, CEL programs, connections
            floor(theirs, 20)
            rates, floor_rates = [], []
            for _ in range(rounds):
                rates.append(_rate(lambda: fired(mine, count), count))
                floor_rates.append(_rate(lambda: floor(theirs, count), count))
        finally:
            close()
    rate, floor_rate = statistics.median(rates), statistics.median(floor_rates)
    return {
        f"fire.{name}.per_s": round(rate, 1),
        f"fire.{name}.floor_per_s": round(floor_rate, 1),
        f"fire.{name}.ratio_to_floor": round(rate / floor_rate, 3),
    }


@contextmanager
def _service(url: str) -> Iterator[tuple[CaseService, FrozenClock]]:
    """The service over a migrated store at `url` with the bench's workflow registered,
    and the frozen clock it reads; the engine is disposed of afterwards."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        clock = FrozenClock(START)
        registry = WorkflowRegistry(engine, clock)
        registry.register_text(WORKFLOW, "bench_fire.yaml")
        yield CaseService(engine, registry, clock), clock
    finally:
        engine.dispose()


def _memory(url: str, first: int, second: int) -> dict[str, float]:
    """Blocks and resident memory the service gains per 1,000 more cases touched (each
    started and fired once), measured over the `second` batch after a `first` one."""
    with _service(url) as (service, clock):

        def touch(n: int) -> None:
            for i in range(n):
                clock.advance(timedelta(milliseconds=1))
                case = service.start_case("bench_fire", {"name": f"第{i}号组织"}, actor=ACTOR,
                                          community=COMMUNITY).case
                service.fire(case.id, "ping", input={"by": 1}, actor=ACTOR)

        touch(first)
        blocks, rss = _held()
        touch(second)
        grown_blocks, grown_rss = _held()
    per = 1000 / second
    return {
        "fire.memory.cases": float(first + second),
        "fire.memory.blocks_per_1000_cases": round((grown_blocks - blocks) * per, 1),
        "fire.memory.rss_kb_per_1000_cases": round((grown_rss - rss) * per, 1),
    }


def _held() -> tuple[int, float]:
    """Python's allocated blocks after a full collection, and the resident set in KiB."""
    gc.collect()
    blocks = sys.getallocatedblocks()
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    return blocks, resident


def _start_cases(service: CaseService) -> list[str]:
    return [service.start_case("bench_fire", {"name": f"第{i}号组织"}, actor=ACTOR,
                               community=COMMUNITY).case.id for i in range(CASES)]


def _fire_loop(service: CaseService, clock: FrozenClock) -> Callable[[list[str], int], None]:
    """Fires alternating ping and pong on each case in turn, each a real change."""
    states: dict[str, str] = {}

    def fire(case_ids: list[str], n: int) -> None:
        for i in range(n):
            case_id = case_ids[i % len(case_ids)]
            trigger = "pong" if states.get(case_id) == "pong" else "ping"
            clock.advance(timedelta(milliseconds=1))
            result = service.fire(case_id, trigger, input={"by": 1}, actor=ACTOR)
            states[case_id] = result.case.state

    return fire


def _rate(action: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    action()
    return count / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------
# The floors: the same statements with the bare drivers

_SELECT = "SELECT * FROM cases WHERE id = {p}"
_UPDATE = ("UPDATE cases SET state = {p}, data = {p}, version = {p}, title = {p}, "
           "state_entries = {p}, entered_at = {p}, priority = {p}, event_count = {p}, "
           "head_hash = {p}, updated_at = {p} WHERE id = {p} AND version = {p}")
_INSERT = ("INSERT INTO events (case_id, seq, workflow_id, workflow_version, kind, trigger, "
           "from_state, to_state, actor, role, input, changes, comment, at, prev_hash, hash, "
           "body) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, "
           "{p}, {p}, {p}, {p})")


def _floor_fire(execute: Callable[[str, tuple[Any, ...]], Any], row: dict[str, Any],
                at: Any, p: str) -> None:
    """One bare fire of a loaded row: the conditional update and the event insert of the
    same columns and sizes as the service writes, minus deciding and hashing (the caller
    begins and commits)."""
    state = "pong" if row["state"] == "ping" else "ping"
    data = json.loads(row["data"]) if isinstance(row["data"], str) else dict(row["data"])
    data["count"] = data.get("count", 0) + 1
    version, seq = row["version"], row["event_count"] + 1
    head = f"{seq:064x}"
    execute(_UPDATE.format(p=p), (state, json.dumps(data, ensure_ascii=False), version + 1,
                                  data["name"], json.dumps({state: seq}), at,
                                  float(data["count"]), seq, head, at, row["id"], version))
    body = json.dumps({"actor": ACTOR.id, "at": str(at), "case_id": row["id"],
                       "changes": {"count": data["count"]}, "comment": None,
                       "from_state": row["state"], "input": {"by": 1}, "kind": "transition",
                       "role": "caseworker", "seq": seq, "to_state": state, "trigger": state,
                       "workflow_id": row["workflow_id"],
                       "workflow_version": row["workflow_version"]},
                      separators=(",", ":"), sort_keys=True)
    execute(_INSERT.format(p=p), (row["id"], seq, row["workflow_id"], row["workflow_version"],
                                  "transition", state, row["state"], state, ACTOR.id,
                                  "caseworker", '{"by": 1}',
                                  json.dumps({"count": data["count"]}), None, at,
                                  row["head_hash"], head, body))


class _Ticks:
    """The floor's clock: one millisecond further at every fire, as the service's."""

    def __init__(self) -> None:
        self._now = START

    def next(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now


def _sqlite_floor(path: Path) -> Callable[[], tuple[Floor, Callable[[], None]]]:
    def make() -> tuple[Floor, Callable[[], None]]:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA busy_timeout = 10000")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        clock = _Ticks()

        def floor(case_ids: list[str], n: int) -> None:
            for i in range(n):
                case_id = case_ids[i % len(case_ids)]
                at = clock.next().strftime("%Y-%m-%d %H:%M:%S.%f")
                connection.execute("BEGIN IMMEDIATE")
                # fetchall: a statement left unfinished would hold its read snapshot
                # open, and the WAL could no longer be checkpointed behind it.
                [found] = connection.execute(_SELECT.format(p="?"), (case_id,)).fetchall()
                row = dict(found)
                _floor_fire(connection.execute, row, at, "?")
                connection.execute("COMMIT")

        return floor, connection.close

    return make


def _postgres_floor(url: str) -> Callable[[], tuple[Floor, Callable[[], None]]]:
    def make() -> tuple[Floor, Callable[[], None]]:
        import psycopg
        from psycopg.rows import dict_row

        parsed = make_url(url)
        options = parsed.query.get("options", "")
        connection = psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username,
            password=parsed.password, dbname=parsed.database,
            options=options if isinstance(options, str) else " ".join(options),
            row_factory=dict_row)
        clock = _Ticks()
        select = _SELECT.format(p="%s") + " FOR NO KEY UPDATE"

        def floor(case_ids: list[str], n: int) -> None:
            for i in range(n):
                case_id = case_ids[i % len(case_ids)]
                at = clock.next()
                with connection.transaction():
                    row = connection.execute(select, (case_id,)).fetchone()
                    assert row is not None
                    _floor_fire(connection.execute, row, at, "%s")

        return floor, connection.close

    return make


@contextmanager
def _postgres_schema(base: str) -> Iterator[str]:
    """A URL whose connections land in a fresh schema, dropped afterwards."""
    schema = f"bench_fire_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
