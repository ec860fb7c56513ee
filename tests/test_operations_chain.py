"""The operations log is chained like the events: an entry edited, removed, inserted or
moved around the append-only triggers, a removed tail or a forged head shows at `verify`;
concurrent writers never fork the chain; the migration chains the entries already stored
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import START

from engine.audit import verify as audit
from engine.audit.seals import HEAD_FORGED, seal_heads
from engine.ledger.keys import ChainKey, attach
from engine.ledger.oplog import LOG_BROKEN, LOG_HEAD_MISMATCH
from engine.store.db import make_engine
from engine.store.migrating import upgrade
from engine.store.operations import list_operations, record

MINUTE = timedelta(minutes=1)


def _log(engine: sa.Engine, n: int = 5) -> list[int]:
    for i in range(n):
        record(engine, actor=f"审计员{i}", action="export", at=START + i * MINUTE,
               community="石景山/八角", detail={"rows": i, "text": "一二三", "ratio": 0.5})
    return [o.id for o in list_operations(engine)[0]]


def _around_the_triggers(engine: sa.Engine, *statements: str) -> None:
    """What a database operator could do: lift the guard, edit, put the guard back."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:
            saved = [connection.exec_driver_sql(
                f"SELECT sql FROM sqlite_master WHERE name = '{name}'").scalar_one()
                for name in ("operations_no_update", "operations_no_delete")]
            connection.exec_driver_sql("DROP TRIGGER operations_no_update")
            connection.exec_driver_sql("DROP TRIGGER operations_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE operations DISABLE TRIGGER "
                                       "operations_append_only")
        for statement in statements:
            connection.exec_driver_sql(statement)
        if sqlite:
            for sql in saved:
                connection.exec_driver_sql(sql)
        else:
            connection.exec_driver_sql("ALTER TABLE operations ENABLE ALWAYS TRIGGER "
                                       "operations_append_only")


def _reasons(engine: sa.Engine) -> list[tuple[str, int | None]]:
    return [(b.reason, b.seq) for b in audit.verify(engine)]


def test_an_intact_log_verifies(engine: sa.Engine) -> None:
    _log(engine)
    assert audit.verify(engine) == []


def test_an_edited_entry_is_detected(engine: sa.Engine) -> None:
    ids = _log(engine)
    _around_the_triggers(engine, f"UPDATE operations SET actor = 'mallory' WHERE id = {ids[2]}")
    assert _reasons(engine) == [(LOG_BROKEN, ids[2])]


def test_an_edited_detail_is_detected(engine: sa.Engine) -> None:
    ids = _log(engine)
    _around_the_triggers(engine, "UPDATE operations SET detail = '{\"rows\": 99}' "
                                 f"WHERE id = {ids[1]}")
    assert _reasons(engine) == [(LOG_BROKEN, ids[1])]


def test_a_removed_entry_is_detected(engine: sa.Engine) -> None:
    ids = _log(engine)
    _around_the_triggers(engine, f"DELETE FROM operations WHERE id = {ids[1]}")
    assert _reasons(engine) == [(LOG_BROKEN, ids[2])]


def test_a_removed_tail_is_detected_by_the_head(engine: sa.Engine) -> None:
    ids = _log(engine)
    _around_the_triggers(engine, f"DELETE FROM operations WHERE id = {ids[-1]}")
    found = audit.verify(engine)
    assert [(b.reason, b.seq) for b in found] == [(LOG_HEAD_MISMATCH, ids[-2])]
    assert "removed" in found[0].message


def test_reordered_entries_are_detected(engine: sa.Engine) -> None:
    ids = _log(engine)
    a, b = ids[1], ids[3]
    _around_the_triggers(engine, f"UPDATE operations SET id = -1 WHERE id = {a}",
                         f"UPDATE operations SET id = {a} WHERE id = {b}",
                         f"UPDATE operations SET id = {b} WHERE id = -1")
    assert _reasons(engine) == [(LOG_BROKEN, a)]


def test_an_entry_written_around_the_service_is_detected(engine: sa.Engine) -> None:
    _log(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO operations (at, actor, action, outcome, detail) "
            "VALUES ('2026-01-01 00:00:00+00:00', 'mallory', 'export', 'done', '{}')")
    assert [r for r, _ in _reasons(engine)] == [LOG_BROKEN]


def test_a_head_rewritten_without_the_key_is_detected(engine: sa.Engine) -> None:
    key = ChainKey.generate()
    attach(engine, key)
    ids = _log(engine)
    assert audit.verify(engine) == []
    # Rewrite the last entry and recompute its hash and the head, but without the key.
    from engine.ledger.oplog import entry_hash
    from engine.store.operations import HEAD, OPERATIONS

    with engine.connect() as connection:
        row = dict(connection.execute(sa.select(OPERATIONS).where(
            OPERATIONS.c.id == ids[-1])).mappings().one())
    row["actor"] = "mallory"
    forged = entry_hash(row["prev_hash"], row)
    _around_the_triggers(engine, f"UPDATE operations SET actor = 'mallory', hash = '{forged}' "
                                 f"WHERE id = {ids[-1]}")
    with engine.begin() as connection:
        connection.execute(sa.update(HEAD).values(head_hash=forged))
    assert _reasons(engine) == [(HEAD_FORGED, ids[-1])]


def test_a_rotation_reseals_the_log_head(engine: sa.Engine) -> None:
    old, new = ChainKey.generate(), ChainKey.generate()
    attach(engine, old)
    _log(engine, 2)
    seal_heads(engine, new, only_unsealed=False, previous=old)
    attach(engine, new)
    assert audit.verify(engine) == []


def test_concurrent_writers_do_not_fork_the_chain(engine: sa.Engine) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(10):
                record(engine, actor=f"w{worker}", action="export", at=START + i * MINUTE)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(list_operations(engine, limit=1000)[0]) == 80
    assert audit.verify(engine) == []


@pytest.mark.parametrize("n", [0, 3])
def test_the_migration_chains_the_entries_already_stored(empty_db_url: str, n: int) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0016_triggers_always")
        with engine.begin() as connection:
            for i in range(n):
                connection.execute(sa.text(
                    "INSERT INTO operations (at, actor, action, outcome, detail) "
                    "VALUES (:at, :actor, 'export', 'done', :detail)"),
                    {"at": START + i * MINUTE, "actor": f"审计员{i}",
                     "detail": '{"rows": 1}'})
        upgrade(engine)
        assert audit.verify(engine) == []
        record(engine, actor="after", action="export", at=START)
        assert audit.verify(engine) == []
        assert len(list_operations(engine)[0]) == n + 1
    finally:
        engine.dispose()


def test_audit_verify_on_the_command_line_reports_an_edited_entry(engine: sa.Engine,
                                                                  db_url: str) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    ids = _log(engine, 3)
    env = {"DATABASE_URL": db_url, "COLUMNS": "200"}
    intact = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.output
    _around_the_triggers(engine, f"UPDATE operations SET outcome = 'refused' WHERE id = {ids[0]}")
    broken = CliRunner().invoke(app, ["audit", "verify", "--json"], env=env)
    assert broken.exit_code == 1
    assert f"entry {ids[0]} was altered" in broken.stdout
    assert LOG_BROKEN in broken.stdout
