"""Firing due timers: claim them atomically, fire each through the one door, exactly once.

The timer rows are the truth; nothing about a timer is kept in process memory. Any number
of processes (the API's scheduler, `hatchery worker`s) may poll the same database:

    claim   one short transaction takes up to `limit` due timers, oldest due first, and
            stamps them with a lease (`claimed_by`, `claimed_until = now + lease`).
            PostgreSQL: `UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`, so that
            concurrent claimers never wait for each other and never take the same row.
            SQLite: one conditional `UPDATE ... WHERE id IN (...) AND status = 'pending'
            AND due_at <= :now AND <no live lease> RETURNING id` under the write lock.
    fire    `CaseService.fire_timer` for each claimed timer, in due order: the action, the
            timer's `fired` mark and a repeating timer's next occurrence in one
            transaction, with idempotency key `timer:<id>`; the case's earlier due timers
            fire first. Every third of the lease, the claims still in hand are renewed.

A claimed timer keeps status `pending` while its lease runs, so that leaving the state
cancels it and suspending the case pauses it exactly as for an unclaimed timer; the fire
re-reads the row under the case lock and does nothing unless it is still pending and
still claimed by this worker. A worker killed mid-batch leaves its leases behind; once
they expire (soon: leases are short, and renewed only while their worker lives), any
worker claims those timers again. Meanwhile no change of the case can skip them: every
change first fires the case's timers that are due (`engine.service.firing`). Since a fire
commits together with its `fired` mark, a timer is fired at most once, and since expired
leases are taken over, at least once.

Leases are compared with each process's clock: the processes sharing a database must
agree on the time to well within the lease (NTP does).

`start_scheduler` runs the polling as an APScheduler 3 interval job in a background
thread (the API process, `hatchery worker`). Its first run is immediate, so the timers
that fell due while nothing was running fire at start, oldest first. APScheduler only
paces the polling; whether a timer is due is decided by the injected clock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine

from engine.clock import Clock
from engine.store.db import write_connection
from engine.store.tables import TIMERS

if TYPE_CHECKING:
    from engine.service import CaseService, TimerOutcome

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_INTERVAL_S",
    "DEFAULT_LEASE_S",
    "Claim",
    "Scheduler",
    "claim_due",
    "default_worker_id",
    "fire_due",
    "renew",
    "start_scheduler",
]

log = logging.getLogger("hatchery.timers")

DEFAULT_INTERVAL_S = 5.0
"""Seconds between two polls of the timer rows."""
DEFAULT_BATCH = 100
"""Timers claimed at once; a poll claims batch after batch until fewer are due."""
DEFAULT_LEASE_S = 15.0
"""How long a claim is respected before another worker may take it over: short, so that
a crashed worker's timers are not late by much; a live worker renews the claims of its
batch while it works through it (every third of the lease)."""
JOB_ID = "hatchery-timers"
JOB_NAME = "fire due timers"

_timers = TIMERS


@dataclass(frozen=True)
class Claim:
    """A timer claimed by this worker until `claimed_until`."""

    id: int
    case_id: str
    due_at: datetime


def default_worker_id(prefix: str = "worker") -> str:
    """`prefix:host:pid:random`: unique per process, readable in `hatchery timers list`."""
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_timers.c.status == "pending", _timers.c.due_at <= now,
                   sa.or_(_timers.c.claimed_until.is_(None), _timers.c.claimed_until < now))


def _claim_rows(connection: Connection, *, now: datetime, worker_id: str,
                until: datetime, limit: int) -> Sequence[sa.Row[Any]]:
    due = (sa.select(_timers.c.id).where(_claimable(now))
           .order_by(_timers.c.due_at, _timers.c.id).limit(limit))
    stamp = {"claimed_by": worker_id, "claimed_until": until}
    returning = (_timers.c.id, _timers.c.case_id, _timers.c.due_at)
    if connection.dialect.name == "postgresql":
        locked = due.with_for_update(skip_locked=True).subquery("due")
        statement = (sa.update(_timers).where(_timers.c.id == locked.c.id)
                     .values(**stamp).returning(*returning))
    else:
        # Under SQLite's write lock (BEGIN IMMEDIATE) nothing can change between the
        # subquery and the update; the conditions are repeated all the same.
        statement = (sa.update(_timers)
                     .where(_timers.c.id.in_(due.scalar_subquery()), _claimable(now))
                     .values(**stamp).returning(*returning))
    return connection.execute(statement).all()


def claim_due(engine: Engine, *, now: datetime, worker_id: str, limit: int = DEFAULT_BATCH,
              lease_s: float = DEFAULT_LEASE_S) -> list[Claim]:
    """Claim up to `limit` timers due at `now` (pending, and unclaimed or with an expired
    lease) for `worker_id`; oldest due first. Commits before returning."""
    until = now + timedelta(seconds=lease_s)
    with write_connection(engine) as connection:
        rows = _claim_rows(connection, now=now, worker_id=worker_id, until=until,
                           limit=limit)
    claims = [Claim(row.id, row.case_id, row.due_at) for row in rows]
    claims.sort(key=lambda c: (c.due_at, c.id))
    return claims


def renew(engine: Engine, timer_ids: Sequence[int], *, worker_id: str,
          until: datetime) -> int:
    """Extend this worker's claims on `timer_ids` that are still pending; returns how many.
    A claim taken over by another worker (its lease had expired) stays theirs."""
    if not timer_ids:
        return 0
    with write_connection(engine) as connection:
        done = connection.execute(
            sa.update(_timers).where(_timers.c.id.in_(list(timer_ids)),
                                     _timers.c.claimed_by == worker_id,
                                     _timers.c.status == "pending")
            .values(claimed_until=until))
    return int(done.rowcount or 0)


def fire_due(service: CaseService, clock: Clock, *, worker_id: str,
             limit: int = DEFAULT_BATCH, lease_s: float = DEFAULT_LEASE_S
             ) -> list[TimerOutcome]:
    """Claim the timers due now (at most `limit`) and fire each, oldest due first.

    One timer's failure does not stop the others: it is logged and reported as `failed`,
    its claim stays, and it is retried once the lease expires. Refusals are outcomes,
    not failures.
    """
    from engine.service import TimerOutcome

    claims = claim_due(service.engine, now=clock.now(), worker_id=worker_id, limit=limit,
                       lease_s=lease_s)
    outcomes: list[TimerOutcome] = []
    renewed = time.monotonic()
    for index, claim in enumerate(claims):
        if time.monotonic() - renewed > lease_s / 3:
            renew(service.engine, [c.id for c in claims[index:]], worker_id=worker_id,
                  until=clock.now() + timedelta(seconds=lease_s))
            renewed = time.monotonic()
        try:
            outcomes.append(service.fire_timer(claim.id, worker_id=worker_id))
        except Exception as error:
            log.exception("timer %s of case %s could not be fired; it is retried after its "
                          "lease expires", claim.id, claim.case_id)
            outcomes.append(TimerOutcome(timer=claim.id, case_id=claim.case_id, key="",
                                         action="", result="failed", detail=str(error)))
    return outcomes


class _SkippedPolls(logging.Filter):
    """Drops APScheduler's warning that a poll was skipped because the previous one is
    still running: a long poll is draining a backlog, which is what it should do."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str)
                    and "maximum number of running instances" in record.msg
                    and any(JOB_NAME in str(arg) for arg in (record.args or ())))


_SKIPPED_POLLS = _SkippedPolls()


class Scheduler:
    """The APScheduler job that polls the timer rows; `stop()` ends it.

    `runs` counts completed polls and `fired` the timers they fired; `wait_for_runs`
    lets a caller (a test that moved the clock) wait until the job has looked again.
    """

    def __init__(self, service: CaseService, clock: Clock, *, interval_s: float,
                 worker_id: str, batch: int, lease_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s}")
        self.service = service
        self.clock = clock
        self.interval_s = interval_s
        self.worker_id = worker_id
        self.batch = batch
        self.lease_s = lease_s
        self.runs = 0
        self.fired = 0
        self.failures = 0
        self._stopping = threading.Event()
        self._ran = threading.Condition()
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.add_job(
            self.poll, IntervalTrigger(seconds=self.interval_s, timezone=UTC), id=JOB_ID,
            name=JOB_NAME, max_instances=1, coalesce=True, misfire_grace_time=None,
            # APScheduler's own time only paces the polls; due-ness is the injected clock's.
            next_run_time=datetime.now(UTC))
        scheduler_log = logging.getLogger("apscheduler.scheduler")
        if _SKIPPED_POLLS not in scheduler_log.filters:
            scheduler_log.addFilter(_SKIPPED_POLLS)
        self._scheduler.start()
        log.info("timer scheduler %s started: polling every %s s", self.worker_id,
                 self.interval_s)

    def poll(self) -> int:
        """Fire everything due now, batch after batch; return how many were fired."""
        fired = 0
        try:
            while not self._stopping.is_set():
                outcomes = fire_due(self.service, self.clock, worker_id=self.worker_id,
                                    limit=self.batch, lease_s=self.lease_s)
                fired += sum(1 for o in outcomes if o.result in ("fired", "refused"))
                self.failures += sum(1 for o in outcomes if o.result == "failed")
                if len(outcomes) < self.batch:
                    break
        except Exception:
            # The store may be briefly unavailable; the next poll tries again.
            self.failures += 1
            log.exception("timer poll of %s failed", self.worker_id)
        with self._ran:
            self.fired += fired
            self.runs += 1
            self._ran.notify_all()
        return fired

    def wake(self) -> None:
        """Poll now instead of at the next interval."""
        if self._scheduler.running:
            self._scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC))

    def wait_for_runs(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until `count` more polls have completed (False on timeout)."""
        with self._ran:
            target = self.runs + count
            return self._ran.wait_for(lambda: self.runs >= target, timeout)

    def stop(self, *, wait: bool = True) -> None:
        """Stop polling; with `wait`, let the batch in hand finish (its claims are kept
        either way and expire after the lease)."""
        self._stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        log.info("timer scheduler %s stopped after %d polls, %d timers fired",
                 self.worker_id, self.runs, self.fired)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running) and not self._stopping.is_set()


def start_scheduler(service: CaseService, clock: Clock, *,
                    interval_s: float = DEFAULT_INTERVAL_S, worker_id: str | None = None,
                    batch: int = DEFAULT_BATCH, lease_s: float = DEFAULT_LEASE_S
                    ) -> Scheduler:
    """Start polling the timer rows in a background thread; the first poll is immediate
    (catch-up). Call `stop()` on the result at shutdown."""
    scheduler = Scheduler(service, clock, interval_s=interval_s,
                          worker_id=worker_id or default_worker_id(), batch=batch,
                          lease_s=lease_s)
    scheduler.start()
    return scheduler
