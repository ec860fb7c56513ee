"""A client load over loopback, as many caseworkers behind a load balancer make it: case
starts and fires spread over several API processes, with conflicts on purpose and retries.

Every logical operation carries its own `Idempotency-Key` and is retried until it gets an
answer: on a connection error (a process killed, restarting) with the same key on the
next process; on 409/412 (another change won the race, or the version it read is stale)
after reading the case again. Every attempt and its outcome is recorded, so that the
checks can hold the database to what the clients were told.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

RESIDENT = "api_resident_service"
TIMED = "timer_load"


@dataclass
class Operation:
    """One thing a client wanted done, and what it was told at each attempt."""

    kind: str  # "start" or "fire"
    key: str
    case_id: str | None = None
    statuses: list[int | str] = field(default_factory=list)
    answer: tuple[str, int] | None = None  # (case id, event seq) of its 2xx
    answers: set[tuple[str, int]] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)

    @property
    def saw_connection_error(self) -> bool:
        return "connection" in self.statuses


@dataclass
class Load:
    """What the clients did: operations, and requests per outcome."""

    operations: list[Operation] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    timed: list[str] = field(default_factory=list)

    def count(self, status: int | str) -> int:
        return sum(op.statuses.count(status) for op in self.operations)


class Driver:
    """Clients sending `concurrency` requests at once to `urls` in turn."""

    def __init__(self, urls: Sequence[str], token: str, community: str, *,
                 concurrency: int, attempts: int = 40, seed: int = 15) -> None:
        self.urls = list(urls)
        self.community = community
        self.headers = {"Authorization": f"Bearer {token}"}
        self.semaphore = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.attempts = attempts
        self.random = random.Random(seed)
        self.load = Load()
        self._next = 0
        self.client: httpx.AsyncClient | None = None

    def _url(self) -> str:
        self._next += 1
        return self.urls[self._next % len(self.urls)]

    async def __aenter__(self) -> Driver:
        limits = httpx.Limits(max_connections=self.concurrency * 2,
                              max_keepalive_connections=self.concurrency * 2)
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(30, connect=5), limits=limits)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.aclose()

    async def _send(self, op: Operation, method: str, path: str, **kwargs: Any
                    ) -> httpx.Response | None:
        assert self.client is not None
        begun = time.perf_counter()
        try:
            response = await self.client.request(method, self._url() + "/api/v1" + path,
                                                 headers={**self.headers,
                                                          **kwargs.pop("headers", {})},
                                                 **kwargs)
        except httpx.TransportError:
            op.statuses.append("connection")
            await asyncio.sleep(0.05 + self.random.random() * 0.2)
            return None
        op.latencies.append(time.perf_counter() - begun)
        op.statuses.append(response.status_code)
        return response

    def _answered(self, op: Operation, response: httpx.Response) -> None:
        body = response.json()
        answer = (str(body["case"]["id"]), int(body["event"]["seq"]))
        op.answers.add(answer)
        op.answer = answer

    async def start(self, workflow: str, data: dict[str, Any]) -> Operation:
        op = Operation("start", f"start-{uuid.uuid4().hex}")
        self.load.operations.append(op)
        body = {"workflow_id": workflow, "community": self.community, "data": data}
        async with self.semaphore:
            for _ in range(self.attempts):
                response = await self._send(op, "POST", "/cases", json=body,
                                            headers={"Idempotency-Key": op.key})
                if response is None:
                    continue
                if response.status_code == 201:
                    self._answered(op, response)
                    op.case_id = op.answer[0] if op.answer else None
                    return op
                if response.status_code >= 500:
                    await asyncio.sleep(0.1)
                    continue
                return op
        return op

    async def fire(self, case_id: str, trigger: str, *, if_match: bool,
                   data: dict[str, Any] | None = None) -> Operation:
        """Fire `trigger`; with `if_match`, on the version read just before (a conflict
        when another client changes the case in between: read again, retry)."""
        op = Operation("fire", f"fire-{uuid.uuid4().hex}", case_id)
        self.load.operations.append(op)
        async with self.semaphore:
            for _ in range(self.attempts):
                headers = {"Idempotency-Key": op.key}
                if if_match:
                    read = await self._send(op, "GET", f"/cases/{case_id}")
                    if read is None or read.status_code != 200:
                        continue
                    headers["If-Match"] = read.headers["ETag"]
                response = await self._send(op, "POST", f"/cases/{case_id}/events",
                                            json={"trigger": trigger, "input": data or {}},
                                            headers=headers)
                if response is None:
                    continue
                if response.status_code == 200:
                    self._answered(op, response)
                    return op
                if response.status_code in (409, 412) or response.status_code >= 500:
                    await asyncio.sleep(self.random.random() * 0.02)
                    continue
                return op
        return op


async def run_load(urls: Sequence[str], token: str, community: str, *, cases: int,
                   timed_cases: int, fires: int, concurrency: int, hot: int = 8,
                   before_fires: Callable[[], Any] | None = None,
                   midway: Callable[[], Any] | None = None, seed: int = 15) -> Load:
    """Start `cases` resident cases and `timed_cases` timer cases, then `fires` fires on
    them, a third of them on `hot` cases only (conflicts), half with If-Match.
    `before_fires()` runs (in a thread) between the two; `midway()` runs in a thread once
    half of the fires are answered (a process killed and restarted) while the load goes
    on."""
    async with Driver(urls, token, community, concurrency=concurrency, seed=seed) as driver:
        starts = [driver.start(RESIDENT, {"applicant": f"居民 {i}"}) for i in range(cases)]
        starts += [driver.start(TIMED, {"name": f"计时 {i}"}) for i in range(timed_cases)]
        done = await asyncio.gather(*starts)
        resident = [op.case_id for op in done[:cases] if op.case_id]
        driver.load.started = resident
        driver.load.timed = [op.case_id for op in done[cases:] if op.case_id]
        if before_fires is not None:
            await asyncio.to_thread(before_fires)
        rng = driver.random
        hot_set = resident[:hot]
        finished = 0

        async def counted(target: str, if_match: bool) -> Operation:
            nonlocal finished
            op = await driver.fire(target, "note", if_match=if_match)
            finished += 1
            return op

        async def watch() -> None:
            while finished < fires // 2:
                await asyncio.sleep(0.02)
            if midway is not None:
                await asyncio.to_thread(midway)

        jobs = [counted(rng.choice(hot_set) if i % 3 == 0 else rng.choice(resident),
                        i % 2 == 0) for i in range(fires)]
        await asyncio.gather(watch(), *jobs)
        return driver.load


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
