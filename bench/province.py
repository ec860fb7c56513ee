"""A simulated province: cases and their histories generated straight into the database,
for measuring how fires and the auditors' queries cost as the history grows.

    python -m bench.province --database URL --cases 100000 --events-per-case 100

writes 100,000 cases of the `province_incubation` workflow (registered if missing) and
10,000,000 events (the province of issue 15), spread over 10,000 communities
(`province/cN/dN/sN/cmN`: 10 cities x 10 districts x 10 streets x 10 communities, one
caseworker each) and over the last 24 months (PostgreSQL: a partition per month). Calling
it again adds more cases beside those already there.

What is real and what is not: every row has the service's shape (case rows whose state,
version, event count and head hash are their last event's, events with bodies of the
service's size, chained by sha256 from the genesis value), so the service fires on these
cases and the auditors' queries read them as they read real ones. The chains are not the
service's own hashes (no keyed heads, a simplified body), so `verify` does not pass on a
generated history: it is for measuring, never for auditing. Rows go in with COPY on
PostgreSQL (executemany on SQLite); about 2,500 events a second on the shared 2-core
machine it was written on (the Python side: a JSON body and a sha256 per event).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.store.db import make_engine
from engine.store.migrating import upgrade

WORKFLOW_ID = "province_incubation"
WORKFLOW = """
id: province_incubation
version: 1.0.0
title: {zh: 省级孵化模拟, en: Province incubation (simulated)}
title_field: name
fields:
  name: {type: string, required: true, max_length: 100, title: {zh: 名称, en: Name}}
  notes: {type: integer, default: 0, title: {zh: 记录数, en: Notes}}
states:
  applied: {initial: true, title: {zh: 申请, en: Applied}}
  reviewing: {title: {zh: 审核, en: Reviewing}}
  cultivating: {title: {zh: 培育, en: Cultivating}}
  graduated: {final: true, outcome: graduated, title: {zh: 出壳, en: Graduated}}
transitions:
  - {trigger: note, from: applied, to: applied, effects: {notes: data.notes + 1}}
  - {trigger: note, from: reviewing, to: reviewing, effects: {notes: data.notes + 1}}
  - {trigger: note, from: cultivating, to: cultivating, effects: {notes: data.notes + 1}}
  - {trigger: review, from: applied, to: reviewing}
  - {trigger: admit, from: reviewing, to: cultivating}
"""
STATES = ("applied", "reviewing", "cultivating")
MONTHS = 24
GENESIS = "0" * 64
EVENT_COLUMNS = ("case_id", "seq", "workflow_id", "workflow_version", "kind", "trigger",
                 "from_state", "to_state", "actor", "role", "input", "changes", "comment",
                 "at", "prev_hash", "hash", "body")
CASE_COLUMNS = ("id", "workflow_id", "workflow_version", "state", "status", "outcome", "data",
                "version", "community", "title", "priority", "overdue", "entered_at",
                "state_entries", "head_hash", "event_count", "created_at", "updated_at")


def community(index: int) -> str:
    """The `index`-th of 10,000 communities."""
    a, b, c, d = index // 1000 % 10, index // 100 % 10, index // 10 % 10, index % 10
    return f"province/c{a}/d{b}/s{c}/cm{d}"


def worker(index: int) -> str:
    return f"worker_{index % 10000:04d}"


def worker_of(path: str) -> str:
    """The caseworker of the community at `path` (see `community`)."""
    a, b, c, d = (int(part.lstrip("cdsm")) for part in path.split("/")[1:])
    return worker(1000 * a + 100 * b + 10 * c + d)


def _trigger(seq: int, per_case: int) -> tuple[str, str, str]:
    """(trigger, from, to) of event `seq` (2..per_case) of a case: two stage changes at a
    third and two thirds of its history, notes otherwise."""
    review_at, admit_at = max(2, per_case // 3), max(3, 2 * per_case // 3)
    if seq == review_at:
        return "review", "applied", "reviewing"
    if seq == admit_at:
        return "admit", "reviewing", "cultivating"
    state = "applied" if seq < review_at else "reviewing" if seq < admit_at else "cultivating"
    return "note", state, state


def _histories(start_index: int, cases: int, per_case: int, now: datetime, seed: int
               ) -> Iterator[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    rng = random.Random(seed)
    span = timedelta(days=30 * MONTHS)
    for n in range(start_index, start_index + cases):
        case_id = uuid.UUID(int=rng.getrandbits(128)).hex[:16]
        where = community(n)
        actor = worker(n)
        at = now - span + timedelta(seconds=rng.uniform(0, span.total_seconds() * 0.5))
        step = (now - at).total_seconds() * 0.9 / max(1, per_case)
        head, rows, notes, state, entered = GENESIS, [], 0, "applied", at
        entries = {"applied": 1}
        for seq in range(1, per_case + 1):
            if seq == 1:
                trigger, before, state, kind = None, None, "applied", "start"
                changes: dict[str, Any] = {"name": f"社会组织 {n}", "notes": 0}
            else:
                trigger, before, state = _trigger(seq, per_case)
                kind = "transition"
                if trigger == "note":
                    notes += 1
                    changes = {"notes": notes}
                else:
                    changes, entered = {}, at
                    entries = {state: seq}
            body = json.dumps({"actor": actor, "at": at.isoformat(), "case_id": case_id,
                               "changes": changes, "from": before, "kind": kind,
                               "seq": seq, "to": state, "trigger": trigger,
                               "workflow": WORKFLOW_ID, "version": "1.0.0"},
                              ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256((head + body).encode()).hexdigest()
            rows.append((case_id, seq, WORKFLOW_ID, "1.0.0", kind, trigger, before, state,
                         actor, "caseworker", "{}", json.dumps(changes, ensure_ascii=False),
                         None, at, head, digest, body))
            head = digest
            at += timedelta(seconds=step * rng.uniform(0.5, 1.5))
        last = rows[-1][13]
        yield ({"id": case_id, "workflow_id": WORKFLOW_ID, "workflow_version": "1.0.0",
                "state": state, "status": "active", "outcome": None,
                "data": json.dumps({"name": f"社会组织 {n}", "notes": notes},
                                   ensure_ascii=False),
                "version": per_case, "community": where, "title": f"社会组织 {n}",
                "priority": 0.0, "overdue": False, "entered_at": entered,
                "state_entries": json.dumps(entries), "head_hash": head,
                "event_count": per_case, "created_at": rows[0][13], "updated_at": last},
               rows)


def prepare(url: str) -> sa.Engine:
    """The database migrated, the workflow registered, the months' partitions made."""
    from engine.definitions.registry import WorkflowRegistry
    from engine.store.partitions import ensure_partitions

    engine = make_engine(url)
    upgrade(engine)
    WorkflowRegistry(engine).register_text(WORKFLOW, "bench/province.py")
    ensure_partitions(engine, datetime.now(UTC) - timedelta(days=31 * MONTHS + 31),
                      ahead=MONTHS + 14)
    return engine


def existing_cases(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT count(*) FROM cases WHERE workflow_id = :w"), {"w": WORKFLOW_ID}
        ).scalar_one())


def generate(engine: sa.Engine, cases: int, per_case: int, *, seed: int = 15,
             batch_cases: int = 2000) -> int:
    """Add `cases` cases of `per_case` events each; returns the events written."""
    start = existing_cases(engine)
    now = datetime.now(UTC)
    written = 0
    histories = _histories(start, cases, per_case, now, seed + start)
    while True:
        chunk = [h for _, h in zip(range(batch_cases), histories, strict=False)]
        if not chunk:
            return written
        _write(engine, [c for c, _ in chunk], [r for _, rows in chunk for r in rows])
        written += sum(len(rows) for _, rows in chunk)


def _write(engine: sa.Engine, case_rows: list[dict[str, Any]],
           event_rows: list[tuple[Any, ...]]) -> None:
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in case_rows:
                    copy.write_row(tuple(row[c] for c in CASE_COLUMNS))
            with cursor.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for event in event_rows:
                    copy.write_row(event)
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as connection:
        connection.execute(sa.text(
            f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES "
            f"({', '.join(':' + c for c in CASE_COLUMNS)})"),
            [{**row, "entered_at": row["entered_at"].replace(tzinfo=None),
              "created_at": row["created_at"].replace(tzinfo=None),
              "updated_at": row["updated_at"].replace(tzinfo=None)} for row in case_rows])
        connection.execute(sa.text(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "
            f"({', '.join(':' + c for c in EVENT_COLUMNS)})"),
            [{**dict(zip(EVENT_COLUMNS, e, strict=True)), "at": e[13].replace(tzinfo=None)}
             for e in event_rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.province", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="DATABASE_URL to fill")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events-per-case", type=int, default=100)
    parser.add_argument("--seed", type=int, default=15)
    options = parser.parse_args(argv)
    engine = prepare(options.database)
    try:
        began = time.perf_counter()
        written = generate(engine, options.cases, options.events_per_case, seed=options.seed)
        took = time.perf_counter() - began
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("ANALYZE cases"))
                connection.execute(sa.text("ANALYZE events"))
    finally:
        engine.dispose()
    print(f"{options.cases} cases, {written} events in {took:.0f} s "
          f"({written / max(took, 1e-9):,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
