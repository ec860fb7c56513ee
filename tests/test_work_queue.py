"""The work queue walked in queue order (`engine.store.work_queue`) gives exactly the
pages the sorted query gives: every case once, highest priority first, then oldest, then
by id, whatever the filters, on both databases; narrow queues and filters that keep few
cases are read by the sorted query, walked ones stop at their budget and finish sorted.
Sorted by follow-up date or by next deadline (`engine.store.queue_orders`), the records
with one come first, soonest first, then the others in queue order, page after page."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import START

from engine.definitions.registry import WorkflowRegistry
from engine.store import repository as repo
from engine.store import work_queue
from engine.store.tables import CASES, TIMERS

SCOPE = "fuzhou/cangshan"
FILTERS: list[dict[str, Any]] = [
    {}, {"state": "review"}, {"overdue": True}, {"status": "suspended"},
    {"community_prefix": SCOPE + "/s1"}, {"community_prefix": SCOPE + "/s1/c2"},
    {"text": "第1"}, {"unassigned": True}, {"assignee": "wang"},
    {"community_prefix": "fuzhou/gulou"},
]


def _seed(engine: sa.Engine, registry: WorkflowRegistry) -> list[dict[str, Any]]:
    """300 cases over seven priority levels, with ties in time, in and out of scope."""
    definition = registry.definitions()[0]
    rng = random.Random(7)
    rows = []
    for n in range(300):
        at = START + timedelta(minutes=rng.randrange(40))  # many share a time
        rows.append({
            "id": f"{n:04d}{rng.randrange(16**4):04x}", "workflow_id": definition.id,
            "workflow_version": definition.version,
            "state": rng.choice(["draft", "review"]),
            "status": "suspended" if n % 11 == 0 else "active", "outcome": None,
            "data": {}, "version": 1,
            "community": (f"{SCOPE}/s{n % 3}/c{n % 4}" if n % 9 else "fuzhou/gulou/x"),
            "title": f"第{n}号", "priority": float(rng.choice([0, 0, 1, 2.5, 3, 7, -1])),
            "overdue": n % 7 == 0, "entered_at": at, "state_entries": {}, "head_hash": "0",
            "event_count": 1, "created_at": at, "updated_at": at,
            "assignee": "wang" if n % 5 == 0 else None,
            "follow_up_on": (START + timedelta(days=rng.randrange(5))).date()
            if n % 3 == 0 else None})
    timer_rows = []
    for row in rows[::2]:  # half have timers: some pending, some fired, equal times too
        for _ in range(rng.randrange(1, 4)):
            timer_rows.append({
                "case_id": row["id"], "state": row["state"], "timer_id": "t",
                "due_at": START + timedelta(days=rng.randrange(6)), "action": "escalate",
                "trigger": None, "repeat": False, "created_at": START,
                "status": rng.choice(["pending", "pending", "fired", "paused"])})
    with engine.begin() as connection:
        connection.execute(CASES.insert(), rows)
        connection.execute(TIMERS.insert(), timer_rows)
        stored = connection.execute(sa.select(TIMERS)).mappings()
        soonest: dict[str, tuple[Any, int]] = {}
        for timer in stored:
            if timer["status"] == "pending":
                key = (timer["due_at"], timer["id"])
                soonest[timer["case_id"]] = min(soonest.get(timer["case_id"], key), key)
        for case_id, (due, _) in soonest.items():  # as the door keeps it
            connection.execute(CASES.update().where(CASES.c.id == case_id)
                               .values(next_due=due))
    for row in rows:
        row["soonest"] = soonest.get(row["id"])
    return rows


def _expected(rows: list[dict[str, Any]], f: dict[str, Any], order: str = "priority"
              ) -> list[str]:
    prefix = f.get("community_prefix", SCOPE)

    def kept(r: dict[str, Any]) -> bool:
        return ((r["community"] == prefix or r["community"].startswith(prefix + "/"))
                and ("state" not in f or r["state"] == f["state"])
                and r["status"] == f.get("status", "active")
                and (not f.get("overdue") or r["overdue"])
                and ("text" not in f or f["text"] in r["title"])
                and (not f.get("unassigned") or r["assignee"] is None)
                and ("assignee" not in f or r["assignee"] == f["assignee"]))

    def queue(r: dict[str, Any]) -> tuple[Any, ...]:
        return (-r["priority"], r["created_at"], r["id"])

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        if order == "follow_up":
            on = r["follow_up_on"]
            return (on is None, on or START.date(), *queue(r))
        if order == "deadline":
            due = r["soonest"][0] if r["soonest"] else None
            return (due is None, due or START, *(queue(r) if due is None else (r["id"],)))
        return queue(r)

    return [r["id"] for r in sorted(filter(kept, rows), key=key)]


def _pages(engine: sa.Engine, f: dict[str, Any], limit: int, order: str = "priority"
           ) -> list[str]:
    args: dict[str, Any] = {"workflow_id": None, "state": None, "community_prefix": SCOPE,
                            "overdue": None, "text": None, "status": "active", **f}
    found: list[str] = []
    cursor = None
    with engine.connect() as connection:
        while True:
            rows, cursor = repo.list_cases(connection, order=order, limit=limit,  # type: ignore[arg-type]
                                           cursor=cursor, **args)
            found += [r["id"] for r in rows]
            if cursor is None:
                return found


@pytest.fixture
def seeded(engine: sa.Engine, registry: WorkflowRegistry) -> list[dict[str, Any]]:
    return _seed(engine, registry)


@pytest.mark.parametrize("limit", [1, 7, 25])
def test_the_walked_queue_pages_as_the_sorted_order_does(
        engine: sa.Engine, seeded: list[dict[str, Any]], limit: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work_queue, "BROAD", 60)  # the scope (about 270) is broad
    for f in FILTERS:
        assert _pages(engine, f, limit) == _expected(seeded, f), f


def test_a_walk_over_its_budget_finishes_with_the_sorted_query(
        engine: sa.Engine, seeded: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work_queue, "BROAD", 60)
    monkeypatch.setattr(work_queue, "BUDGET", 16)
    monkeypatch.setattr(work_queue, "FIRST_WINDOW", 4)
    for f in FILTERS:
        assert _pages(engine, f, 10) == _expected(seeded, f), f


def test_a_broad_scope_is_walked_and_a_narrow_one_sorted(
        engine: sa.Engine, seeded: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work_queue, "BROAD", 60)
    walked: list[int] = []
    real = work_queue.by_priority
    monkeypatch.setattr(work_queue, "by_priority",
                        lambda *a, **k: walked.append(1) or real(*a, **k))
    _pages(engine, {}, 300)
    assert walked == [1]
    _pages(engine, {"community_prefix": SCOPE + "/s1/c2"}, 300)  # about 20 cases
    _pages(engine, {"text": "第1"}, 300)
    assert walked == [1]


@pytest.mark.parametrize("order", ["follow_up", "deadline"])
@pytest.mark.parametrize("broad", [60, 100_000])
def test_sorted_by_follow_up_or_deadline_the_dated_come_first_soonest_first(
        engine: sa.Engine, seeded: list[dict[str, Any]], order: str, broad: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work_queue, "BROAD", broad)  # walked, then read sorted
    for limit in (1, 9, 40):
        for f in FILTERS:
            assert _pages(engine, f, limit, order) == _expected(seeded, f, order), (f, limit)


@pytest.mark.parametrize("order", ["follow_up", "deadline"])
def test_a_walk_by_date_over_its_budget_finishes_with_the_sorted_query(
        engine: sa.Engine, seeded: list[dict[str, Any]], order: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work_queue, "BROAD", 60)
    monkeypatch.setattr(work_queue, "BUDGET", 6)
    monkeypatch.setattr(work_queue, "FIRST_WINDOW", 2)
    for limit in (1, 9):
        for f in FILTERS:
            assert _pages(engine, f, limit, order) == _expected(seeded, f, order), (f, limit)


def test_a_cursor_of_one_order_is_refused_by_another(
        engine: sa.Engine, seeded: list[dict[str, Any]]) -> None:
    args: dict[str, Any] = {"workflow_id": None, "state": None, "community_prefix": SCOPE,
                            "overdue": None, "text": None, "status": "active"}
    with engine.connect() as connection:
        _, cursor = repo.list_cases(connection, order="deadline", limit=5, cursor=None,
                                    **args)
        assert cursor is not None
        with pytest.raises(repo.CursorError):
            repo.list_cases(connection, order="follow_up", limit=5, cursor=cursor, **args)
