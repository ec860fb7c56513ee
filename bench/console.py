"""The console's pages over a large store: the work queue and a record's page, rendered by
the real app on a loopback port for a signed-in person, and the bytes each page weighs.

10,000 records of the shipped `social_org_incubation` workflow and 1,000,000 events (100 a
record) are bulk-loaded straight into the tables on SQLite (QUICK: 1,000 records, 20,000
events), with a pending deadline each, four in five with a responsible person (fifty
caseworkers), a follow-up date on one in four and an escalation on some. A person scoped
to the whole district signs in; then 200 queue pages (the whole scope, filtered by stage,
by overdue, by a title search, sorted by follow-up date and by deadline, a following page,
and the person's own records) and 200
pages of random records are timed on the server (arrival to last byte sent) and by the
client.

Options (run as `python -m bench.console`): `--quick`; `--data DIR` builds the store in DIR
once and reuses it on later runs (profiling without reloading a million events).

Keys:

    console.queue.p50_ms / .p95_ms      a work-queue page (25 rows), server time
    console.case.p50_ms / .p95_ms       a record's page (history of 100 events, diagram)
    console.queue.round_trip_p95_ms     the same as the client saw them (request to last
    console.case.round_trip_p95_ms      byte over loopback; the client shares the process)
    console.queue.bytes / console.case.bytes    the HTML of one page
    console.assets.bytes                the CSS and scripts (cached a year after a first visit)
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = "social_org_incubation"
STATES = ["selection", "confirmation", "cultivation", "final_evaluation"]
ITEMS = ["venue", "startup_funds", "party_instructor", "incubation_plan"]
START = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SCOPE = "fuzhou/cangshan"
SAMPLES = 200
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


TIMERS = {"selection": "reply_due", "confirmation": "reply_due",
          "cultivation": "four_ones_due", "final_evaluation": "premises_return_due"}


def _assignee(n: int) -> str | None:
    """Four records in five have a responsible person: fifty caseworkers, the person
    signed in for the bench among them."""
    if n % 5 == 0:
        return None
    return "bench.worker" if n % 50 == 7 else f"worker{n % 50:02d}"


def _escalation(case_id: str, seq: int, version: str, n: int, began: datetime
                ) -> dict[str, Any]:
    """The last event of a record escalated in its stage (the queue's 已督办 badge)."""
    return {"case_id": case_id, "seq": seq, "workflow_id": WORKFLOW,
            "workflow_version": version, "kind": "escalation", "trigger": None,
            "from_state": None, "to_state": None, "actor": "system:timer", "role": None,
            "input": {"timer": "periodic_evaluation"}, "changes": {}, "comment": None,
            "at": began + timedelta(hours=seq), "prev_hash": "0" * 64,
            "hash": f"{n:032x}{seq:032x}", "body": "{}"}


def _load(engine: Any, version: str, cases: int, events_per_case: int) -> list[str]:
    """Records at every stage of the workflow's latest version, each with its history, in
    chunks (the version is the registered one, so that a new release of the shipped
    workflow does not break the foreign key)."""
    import sqlalchemy as sa

    from engine.store.tables import Case, Event, Timer

    case_table, event_table = Case.__table__, Event.__table__  # type: ignore[attr-defined]
    timer_table = Timer.__table__  # type: ignore[attr-defined]
    rng = random.Random(5)
    ids = []
    chunk = max(1, 20_000 // events_per_case)
    for first in range(0, cases, chunk):
        case_rows, event_rows, timer_rows = [], [], []
        for n in range(first, min(first + chunk, cases)):
            case_id = f"{n:016x}"
            ids.append(case_id)
            state = STATES[n % len(STATES)]
            party = n % 3 == 0
            began = START + timedelta(minutes=n)
            name = f"金洲第{n}号社会组织"
            escalation = n % 23 == 0 and state == "cultivation"
            for k in range(events_per_case):
                if escalation and k == events_per_case - 1:
                    event_rows.append(_escalation(case_id, k + 1, version, n, began))
                    continue
                event_rows.append({
                    "case_id": case_id, "seq": k + 1, "workflow_id": WORKFLOW,
                    "workflow_version": version, "kind": "start" if k == 0 else "checklist_tick",
                    "trigger": None, "from_state": None, "to_state": state if k == 0 else None,
                    "actor": f"worker{rng.randrange(50):02d}", "role": "caseworker",
                    "input": {"name": name} if k == 0 else
                    {"item": ITEMS[k % 4], "evidence": f"凭证 {k}"},
                    "changes": {}, "comment": None, "at": began + timedelta(hours=k),
                    "prev_hash": "0" * 64, "hash": f"{n:032x}{k:032x}", "body": "{}"})
            case_rows.append({
                "id": case_id, "workflow_id": WORKFLOW, "workflow_version": version,
                "state": state, "status": "active", "outcome": None,
                "data": {"name": name, "residents_need": "居家养老", "evaluations": 0,
                         "renewals": 0},
                "version": events_per_case, "community": f"{SCOPE}/s{n % 7}/c{n % 5}",
                "title": name, "priority": 3.0 if party else 0.0, "overdue": n % 17 == 0,
                "entered_at": began, "state_entries": {state: 1},
                "head_hash": f"{n:032x}{events_per_case - 1:032x}",
                "event_count": events_per_case, "created_at": began,
                "updated_at": began + timedelta(hours=events_per_case),
                "assignee": _assignee(n), "follow_up_on":
                (NOW + timedelta(days=n % 40 - 10)).date() if n % 4 == 1 else None,
                "next_due": NOW + timedelta(days=n % 60 - 5)})  # its one pending timer
            timer_rows.append({
                "case_id": case_id, "state": state, "timer_id": TIMERS[state],
                "due_at": NOW + timedelta(days=n % 60 - 5), "action": "mark_overdue",
                "trigger": None, "repeat": False, "status": "pending", "created_at": began})
        with engine.begin() as connection:
            connection.execute(case_table.insert(), case_rows)
            connection.execute(event_table.insert(), event_rows)
            connection.execute(timer_table.insert(), timer_rows)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    return ids


class ServerTime:
    """The app, timing each request on the server: from its arrival to the last byte of its
    response handed to the HTTP server (the client's round trip adds the loopback and the
    client itself, which shares this process)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.spent: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()

        async def timed(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.spent.append((time.perf_counter() - began) * 1000)

        await self.app(scope, receive, timed)


def _percentiles(spent: list[float]) -> tuple[float, float]:
    spent = sorted(spent)
    return statistics.median(spent), spent[max(int(0.95 * len(spent)) - 1, 0)]


def _timed(samples: int, call: Callable[[int], int], server: ServerTime
           ) -> tuple[float, float, float, float, int]:
    """Server p50, p95, round-trip p50, p95 and the bytes of the last page."""
    spent, size = [], 0
    server.spent.clear()
    for i in range(samples):
        began = time.perf_counter()
        size = call(i)
        spent.append((time.perf_counter() - began) * 1000)
    return (*_percentiles(server.spent), *_percentiles(spent), size)


def _measure(directory: Path, cases: int, events_per_case: int) -> dict[str, float]:
    import httpx

    sys.path.insert(0, str(ROOT / "tests"))
    from http_api.conftest import LiveServer

    from api.main import create_app
    from engine.access.users import UserStore
    from engine.clock import FrozenClock
    from engine.definitions.registry import WorkflowRegistry
    from engine.settings import Settings
    from engine.store.db import make_engine
    from engine.store.migrating import upgrade

    url = f"sqlite:///{directory / 'console.db'}"
    built = (directory / "console.db").exists()
    engine = make_engine(url)
    upgrade(engine)
    registry = WorkflowRegistry(engine)
    registry.sync_directory(ROOT / "workflows")
    users = UserStore(engine)
    if built:
        ids = [f"{n:016x}" for n in range(cases)]
    else:
        ids = _load(engine, registry.latest_version(WORKFLOW), cases, events_per_case)
        users.create("bench.worker", ["caseworker", "party_committee"], SCOPE,
                     password="Bench-pass-2026", now=NOW, must_change=False)
    engine.dispose()
    settings = Settings(database_url=url, HATCHERY_DATA_DIR=directory,
                        HATCHERY_RUN_TIMERS=False)
    app = create_app(settings, clock=FrozenClock(NOW))
    rng = random.Random(3)
    # The whole scope is the heavy view ("mine", the default, reads an index of the
    # person's own records); one query in six is "mine".
    queries = ["/?view=all", "/?view=all&stage=cultivation&workflow=" + WORKFLOW,
               "/?view=all&overdue=1", "/?view=all&q=第12", "/?view=all&status=active", "/",
               "/?view=all&sort=follow_up", "/?view=all&sort=deadline"]
    clock = ServerTime(app)
    with LiveServer(clock) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        _, token = users.sign_in("bench.worker", "Bench-pass-2026", address=None, now=NOW)
        from engine.access.sessions import load_secret, sign

        secret = load_secret(None, directory)
        client.cookies.set("hatchery_session", sign(token, secret))
        first = client.get("/?view=all")
        assert first.status_code == 200, first.status_code
        following = re.search(r'href="/\?([^"]*cursor=[^"]+)"', first.text)
        if following:
            queries.append("/?" + following.group(1).replace("&amp;", "&"))

        def queue(i: int) -> int:
            response = client.get(queries[i % len(queries)])
            assert response.status_code == 200
            return len(response.content)

        def record(i: int) -> int:
            response = client.get(f"/cases/{ids[rng.randrange(len(ids))]}")
            assert response.status_code == 200
            return len(response.content)

        queue(0)
        record(0)
        q50, q95, _, q_trip95, q_bytes = _timed(SAMPLES, queue, clock)
        c50, c95, _, c_trip95, c_bytes = _timed(SAMPLES, record, clock)
        assets = sum(len(client.get(path).content) for path in
                     dict.fromkeys(ASSET.findall(first.text)))
    app.state.db.dispose()
    return {"console.queue.p50_ms": round(q50, 2), "console.queue.p95_ms": round(q95, 2),
            "console.case.p50_ms": round(c50, 2), "console.case.p95_ms": round(c95, 2),
            "console.queue.round_trip_p95_ms": round(q_trip95, 2),
            "console.case.round_trip_p95_ms": round(c_trip95, 2),
            "console.queue.bytes": q_bytes, "console.case.bytes": c_bytes,
            "console.assets.bytes": assets}


def run(quick: bool, data: Path | None = None) -> dict[str, float]:
    cases, events = (1_000, 20) if quick else (10_000, 100)
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
        return _measure(data, cases, events)
    with tempfile.TemporaryDirectory() as directory:
        return _measure(Path(directory), cases, events)


if __name__ == "__main__":
    import json

    kept = sys.argv[sys.argv.index("--data") + 1] if "--data" in sys.argv else None
    print(json.dumps(run("--quick" in sys.argv, Path(kept) if kept else None), indent=2))
