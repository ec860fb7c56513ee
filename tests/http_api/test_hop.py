"""The quick path's worker-thread hop (`api.hop`) behaves as anyio's `to_thread.run_sync`
does for it: another thread, the caller's context, the result or the exception back, and
one limit shared with every other `run_in_threadpool`."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import anyio.to_thread
import pytest

from api import hop

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("MARK")


def test_the_work_runs_in_another_thread_with_the_callers_context() -> None:
    async def main() -> tuple[str, int]:
        MARK.set("request-1")
        return await hop.run(lambda: (MARK.get(), threading.get_ident()))

    mark, ident = asyncio.run(main())
    assert mark == "request-1"
    assert ident != threading.get_ident()


def test_the_works_exception_is_raised_to_the_caller() -> None:
    def fail() -> None:
        raise LookupError("no such token")

    with pytest.raises(LookupError, match="no such token"):
        asyncio.run(hop.run(fail))


def test_a_job_waits_while_every_token_of_anyios_thread_limit_is_taken() -> None:
    async def main() -> list[str]:
        order: list[str] = []
        limiter = anyio.to_thread.current_default_thread_limiter()
        holders = [object() for _ in range(int(limiter.total_tokens))]
        for holder in holders:
            limiter.acquire_on_behalf_of_nowait(holder)
        job = asyncio.ensure_future(hop.run(lambda: order.append("job")))
        await asyncio.sleep(0.05)
        order.append("token freed")
        limiter.release_on_behalf_of(holders.pop())
        await job
        for holder in holders:
            limiter.release_on_behalf_of(holder)
        return order

    assert asyncio.run(main()) == ["token freed", "job"]


def test_a_cancelled_callers_job_keeps_its_token_until_its_work_is_over() -> None:
    async def main() -> tuple[float, float]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        started, release = threading.Event(), threading.Event()

        def work() -> None:
            started.set()
            release.wait(5)

        job = asyncio.ensure_future(hop.run(work))
        while not started.is_set():
            await asyncio.sleep(0.001)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        during = limiter.borrowed_tokens
        release.set()
        for _ in range(500):
            if not limiter.borrowed_tokens:
                break
            await asyncio.sleep(0.01)
        return during, limiter.borrowed_tokens

    assert asyncio.run(main()) == (1, 0)
