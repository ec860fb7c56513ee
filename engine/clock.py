"""Injectable time.

Deadlines, timers and history timestamps all ask a `Clock` for "now" instead of calling
`datetime.now()`, so that tests can freeze and advance time without sleeping, and so that
every timestamp the engine writes is timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Source of the current instant. `now()` always returns an aware datetime in UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, for production. The only place the engine reads real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to, for tests of timers and deadlines.

    Thread-safe: a test may advance it while worker threads read it.
    """

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _as_utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (never backward: use `set` for that) and return the new now."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only advances forward; got {delta}; use set() to go back")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, dt: datetime) -> None:
        """Jump to `dt`, forward or backward."""
        new = _as_utc(dt)
        with self._lock:
            self._now = new


def _as_utc(dt: datetime) -> datetime:
    # A naive datetime has no defined instant; guessing its zone is how timers drift by 8 hours.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{dt.isoformat()} has no timezone; give an aware datetime")
    return dt.astimezone(UTC)
