"""The quick path's worker-thread hop (`api.quick`): blocking work run in a thread, its
result handed back to the event loop.

anyio's `to_thread.run_sync` (what `run_in_threadpool` calls) costs more on the event loop
than the token lookup it often carries: two extra turns of the loop (a checkpoint, and
another taking the limiter's token), a cancel scope, and a `queue.Queue` whose `put` wakes
its thread through a `threading.Condition` written in Python (8 % of a fire's
GIL-holding samples on PostgreSQL). Here a job is put on a `queue.SimpleQueue` (C) that
the hop's own long-lived threads wait on, and the result comes back by
`call_soon_threadsafe`, as anyio's does.

What stays as with anyio:
- the limit: each job holds a token of anyio's default thread limiter (40) while it runs,
  taken without waiting when one is free, else waited for in turn as anyio waits; so the
  quick path and every other `run_in_threadpool` share one limit, and there are never
  more of these threads than it allows;
- the work runs in a copy of the caller's context (`REQUEST_ID`, `ATTEMPT`);
- a job, once in a thread, is done to the end: a caller cancelled meanwhile (uvicorn
  does not cancel requests; a test client may) sees the cancellation at once, but the
  job keeps its token until its work is over, so the limit still counts it.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter, WouldBlock

__all__ = ["run"]

T = TypeVar("T")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context,
             Callable[[], Any], CapacityLimiter]


class _Threads:
    """The hop's threads (one process's), started as the limit lets jobs run at once."""

    def __init__(self) -> None:
        self.jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self.started = 0
        self.running = 0  # jobs given to the threads and not yet reported back
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.limiter: CapacityLimiter | None = None

    def limiter_of(self, loop: asyncio.AbstractEventLoop) -> CapacityLimiter:
        """anyio's default thread limiter of `loop` (one per loop), looked up once."""
        if loop is not self.loop or self.limiter is None:
            self.limiter = anyio.to_thread.current_default_thread_limiter()
            self.loop = loop
        return self.limiter

    def give(self, job: _Job) -> None:
        with self.lock:
            self.running += 1
            if self.running > self.started:
                self.started += 1
                threading.Thread(target=self.serve, name="hatchery-hop", daemon=True).start()
        self.jobs.put(job)

    def serve(self) -> None:
        get = self.jobs.get
        while True:
            job = get()
            if job is None:
                return
            loop, future, context, func, limiter = job
            del job
            try:
                result = context.run(func)
            except BaseException as exc:  # handed to the caller, as anyio does
                self.report(loop, _failed, future, exc, limiter)
            else:
                self.report(loop, _done, future, result, limiter)
            del loop, future, context, func, limiter

    def report(self, loop: asyncio.AbstractEventLoop,
               how: Callable[[asyncio.Future[Any], Any, CapacityLimiter], None],
               future: asyncio.Future[Any], value: Any, limiter: CapacityLimiter) -> None:
        with self.lock:
            self.running -= 1
        try:
            loop.call_soon_threadsafe(how, future, value, limiter)
        except RuntimeError:  # the loop closed meanwhile: nobody waits any more
            if not loop.is_closed():
                raise


def _done(future: asyncio.Future[Any], result: Any, limiter: CapacityLimiter) -> None:
    # The token goes back only now that the work is over, even when the caller was
    # cancelled before: the limit counts the threads at work.
    limiter.release_on_behalf_of(future)
    if not future.cancelled():
        future.set_result(result)


def _failed(future: asyncio.Future[Any], exc: BaseException, limiter: CapacityLimiter) -> None:
    limiter.release_on_behalf_of(future)
    if not future.cancelled():
        if isinstance(exc, StopIteration):  # a future cannot hold one (anyio's way)
            error = RuntimeError("coroutine raised StopIteration")
            error.__cause__ = exc
            exc = error
        future.set_exception(exc)


_threads = _Threads()


def _forget_threads() -> None:
    """A forked child has none of its parent's threads: it starts its own."""
    global _threads
    _threads = _Threads()


os.register_at_fork(after_in_child=_forget_threads)


async def run(func: Callable[[], T]) -> T:
    """`func()` in a worker thread, its result (or exception) returned here."""
    loop = asyncio.get_running_loop()
    threads = _threads
    limiter = threads.limiter_of(loop)
    future: asyncio.Future[T] = loop.create_future()
    try:
        limiter.acquire_on_behalf_of_nowait(future)
    except WouldBlock:
        await limiter.acquire_on_behalf_of(future)
    threads.give((loop, future, contextvars.copy_context(), func, limiter))
    return await future
