"""The work queue walked in queue order (`engine.store.work_queue`) gives exactly the
pages the sorted query gives: every case once, highest priority first, then oldest, then
by id, whatever the filters, on both databases; narrow queues and filters that keep few
cases are read by the sorted query, walked ones stop at their budget and finish sorted."""

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
from engine.store.tables import Case

CASES = Case.__table__  # type: ignore[attr-defined]
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
            "assignee": "wang" if n % 5 == 0 else None})
    with engine.begin() as connection:
        connection.execute(CASES.insert(), rows)
    return rows


def _expected(rows: list[dict[str, Any]], f: dict[str, Any]) -> list[str]:
    prefix = f.get("community_prefix", SCOPE)

    def kept(r: dict[str, Any]) -> bool:
        return ((r["community"] == prefix or r["community"].startswith(prefix + "/"))
                and ("state" not in f or r["state"] == f["state"])
                and r["status"] == f.get("status", "active")
                and (not f.get("overdue") or r["overdue"])
                and ("text" not in f or f["text"] in r["title"])
                and (not f.get("unassigned") or r["assignee"] is None)
                and ("assignee" not in f or r["assignee"] == f["assignee"]))

    ordered = sorted(filter(kept, rows),
                     key=lambda r: (-r["priority"], r["created_at"], r["id"]))
    return [r["id"] for r in ordered]


def _pages(engine: sa.Engine, f: dict[str, Any], limit: int) -> list[str]:
    args: dict[str, Any] = {"workflow_id": None, "state": None, "community_prefix": SCOPE,
                            "overdue": None, "text": None, "status": "active", **f}
    found: list[str] = []
    cursor = None
    with engine.connect() as connection:
        while True:
            rows, cursor = repo.list_cases(connection, order="priority", limit=limit,
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
