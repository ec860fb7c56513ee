"""SQLite writers take turns before asking for the write lock (engine.store.db): across
processes through a lock file beside the database, ending at the busy timeout with the same
clear "locked" error SQLite gives."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import StoreUnavailable
from engine.store.db import make_engine, write_connection


def test_a_writer_waits_for_the_turn_of_another_process_then_says_locked(
        tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0.3)
    holder = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # as another worker process in its write would
    try:
        with pytest.raises(StoreUnavailable) as caught, write_connection(engine):
            pass
        assert "locked" in str(caught.value) and str(path) in str(caught.value)
    finally:
        os.close(holder)
    with write_connection(engine) as connection:  # the turn is free again
        connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    engine.dispose()


def test_threads_writing_at_once_all_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with write_connection(engine) as connection:
        connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))

    def write(n: int) -> None:
        for i in range(20):
            with write_connection(engine) as connection:
                connection.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n * 100 + i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(DISTINCT n) FROM t")).scalar() == 160
    engine.dispose()
