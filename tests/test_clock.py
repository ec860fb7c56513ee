"""Injectable clocks: real time for production, frozen time for tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.clock import Clock, FrozenClock, SystemClock

START = datetime(2025, 9, 30, 8, 0, tzinfo=UTC)


def test_system_clock_returns_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FrozenClock(START), Clock)


def test_frozen_clock_stays_at_its_start() -> None:
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_frozen_clock_converts_other_zones_to_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    clock = FrozenClock(datetime(2025, 9, 30, 16, 0, tzinfo=beijing))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)


def test_frozen_clock_rejects_naive_start() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        FrozenClock(datetime(2025, 9, 30, 8, 0))


def test_set_rejects_naive_datetime() -> None:
    clock = FrozenClock(START)
    with pytest.raises(ValueError, match="no timezone"):
        clock.set(datetime(2025, 1, 1))
    assert clock.now() == START


def test_advance_moves_forward_and_returns_new_now() -> None:
    clock = FrozenClock(START)
    assert clock.advance(timedelta(hours=12)) == START + timedelta(hours=12)
    assert clock.now() == START + timedelta(hours=12)


def test_advance_refuses_to_go_backward() -> None:
    clock = FrozenClock(START)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def test_set_can_jump_backward() -> None:
    clock = FrozenClock(START)
    earlier = START - timedelta(days=3)
    clock.set(earlier)
    assert clock.now() == earlier


def test_concurrent_advances_are_all_counted() -> None:
    clock = FrozenClock(START)
    threads = [
        threading.Thread(target=lambda: [clock.advance(timedelta(seconds=1)) for _ in range(500)])
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == START + timedelta(seconds=4000)
