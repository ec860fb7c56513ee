"""Bounding what one token can add to the operations log by refused attempts.

Each refused attempt to change something is recorded (who tried what, and why it was
refused), so a token that keeps trying would grow the log without bound and keep the
service busy refusing. Each token has a bucket of `burst` refusals, refilled at
`per_minute`; while it is empty, the token's changing requests are answered 429
(`too_many_refusals`, with Retry-After) before any work is done. Accepted changes cost
nothing. The buckets live in each process (a few bytes per token that was refused
lately): with N processes a token may be refused up to N times as often, still bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RefusalLimit"]

_MAX_TRACKED = 10_000


class RefusalLimit:
    """A token bucket of refusals per token name. Thread-safe."""

    def __init__(self, *, burst: int = 60, per_minute: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("a refusal limit needs burst >= 1 and per_minute > 0")
        self.burst = burst
        self.rate = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)

    def _level(self, name: str, now: float) -> float:
        tokens, at = self._buckets.get(name, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def wait(self, name: str) -> float | None:
        """Seconds until `name` may try again, or None when it may now."""
        with self._lock:
            level = self._level(name, self._clock())
        return None if level >= 1.0 else (1.0 - level) / self.rate

    def spend(self, name: str) -> None:
        """Count one refused attempt of `name`."""
        with self._lock:
            now = self._clock()
            self._buckets[name] = (max(self._level(name, now) - 1.0, 0.0), now)
            if len(self._buckets) > _MAX_TRACKED:
                # Forget the tokens whose buckets have filled up again.
                self._buckets = {k: v for k, v in self._buckets.items()
                                 if self._level(k, now) < self.burst}
