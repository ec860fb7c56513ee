"""`hatchery worker`: fire due timers against DATABASE_URL until SIGTERM or SIGINT.

Any number of workers (and API processes) may run against one PostgreSQL database: each
timer is claimed by one of them and fired exactly once (see `engine.timers.worker`). On SQLite
the write lock serialises them, so one worker is enough.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from engine.errors import DefinitionError, StoreUnavailable
from engine.settings import Settings
from engine.timers.worker import DEFAULT_BATCH, DEFAULT_INTERVAL_S, DEFAULT_LEASE_S

log = logging.getLogger("hatchery.worker")


def worker(
    interval: Annotated[float, typer.Option(
        "--interval", min=0.01, envvar="HATCHERY_TIMER_INTERVAL",
        help="Seconds between two polls of the timer rows.")] = DEFAULT_INTERVAL_S,
    batch: Annotated[int, typer.Option(
        "--batch", min=1, max=10_000, help="Timers claimed at once.")] = DEFAULT_BATCH,
    lease: Annotated[float, typer.Option(
        "--lease", min=0.1, envvar="HATCHERY_TIMER_LEASE",
        help="Seconds a claim is respected before another worker may take it over.")]
        = DEFAULT_LEASE_S,
    worker_id: Annotated[str | None, typer.Option(
        "--id", help="This worker's name in claims (default: worker:host:pid:random).")]
        = None,
) -> None:
    """Fire due timers (deadlines, reminders, periodic reviews) until stopped.

    Timers that fell due while nothing was running fire at once, oldest first.
    """
    from engine.clock import SystemClock
    from engine.service import build_service
    from engine.store.db import database_label
    from engine.timers.worker import default_worker_id, start_scheduler

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every run of the job at INFO (every few seconds, forever), and
    # Alembic its plugins at every start.
    for chatty in ("apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

    settings = Settings()
    try:
        service = build_service(settings)
    except (StoreUnavailable, DefinitionError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker: %s received, finishing the batch in hand",
                 signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    name = worker_id or default_worker_id()
    scheduler = start_scheduler(service, SystemClock(), interval_s=interval, worker_id=name,
                                batch=batch, lease_s=lease)
    log.info("worker %s (pid %d) ready on %s: polling every %s s, batches of %d, lease %s s",
             name, os.getpid(), database_label(service.engine), interval, batch, lease)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.stop(wait=True)
        service.engine.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("worker %s stopped: %d timers fired", name, scheduler.fired)
