"""A writer whose turn is held by another process waits for it in the kernel
(engine.store.turns `_FileWaiter`): it gets the turn once the other process gives it back,
and a writer that gave up at its busy timeout leaves nothing held behind it."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import StoreUnavailable
from engine.store.db import make_engine, write_connection


def other_process_holds(path: Path) -> int:
    """The turn file locked through an open file of its own, as another worker would."""
    holder = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    return holder


def taken_by_another_process(path: Path, patience: float = 10.0) -> bool:
    """Whether another process could take the turn (it may have to wait for a writer of
    the engine to give it back, up to `patience` seconds)."""
    other = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT)
    deadline = time.monotonic() + patience
    try:
        while True:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
    finally:
        os.close(other)


def test_a_writer_gets_the_turn_another_process_gives_back(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    engine = make_engine(f"sqlite:///{path}")
    holder = other_process_holds(path)
    written: list[int] = []

    def write() -> None:
        with write_connection(engine) as connection:
            connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))
            written.append(1)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.05)  # the writer is waiting for the turn by now (or soon: either way)
    assert written == []
    os.close(holder)
    writer.join()
    assert written == [1]
    assert taken_by_another_process(path)
    engine.dispose()


def test_a_writer_that_gave_up_leaves_the_turn_to_the_other_process(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0.1)
    holder = other_process_holds(path)
    with pytest.raises(StoreUnavailable, match="locked"), write_connection(engine):
        pass
    os.close(holder)  # the waiting thread of the engine's process gets it, and gives it back
    assert taken_by_another_process(path)
    engine.dispose()


def test_the_next_writer_after_one_gave_up_writes_and_gives_the_turn_back(
        tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0.5)
    holder = other_process_holds(path)
    with pytest.raises(StoreUnavailable), write_connection(engine):
        pass
    os.close(holder)
    for n in range(3):
        with write_connection(engine) as connection:
            connection.execute(sa.text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            connection.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
    assert taken_by_another_process(path)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar() == 3
    engine.dispose()
