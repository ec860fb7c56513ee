"""Tamper evidence over the stored histories: the database refuses to change events, and
where somebody gets around it (triggers dropped), `engine.audit.verify` names the first
broken case and sequence; checkpoints catch a history rewritten from end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY

from engine.audit import verify as audit
from engine.audit.projection import replay
from engine.clock import FrozenClock
from engine.ledger.chain import (
    CHECKPOINT_EVENTS_MISSING,
    CHECKPOINT_REWRITTEN,
    CONTENT_CHANGED,
    COUNT_MISMATCH,
    GENESIS,
    HEAD_MISMATCH,
    REORDERED,
    SEQ_GAP,
    STATE_MISMATCH,
    Checkpoint,
    canonical_json,
    event_hash,
)
from engine.service import CaseService, verify_store
from engine.store.tables import CASES


def grown_case(service: CaseService, times: int = 3) -> str:
    """A case with 1 + `times` events."""
    case_id = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                                 community=COMMUNITY).case.id
    for _ in range(times):
        service.fire(case_id, "grow", input={"by": 1}, actor=CASEWORKER)
    return case_id


@contextmanager
def tampering(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection that may change events: the append-only triggers are set aside for the
    edit and put back as they were (a careful forger leaves no dropped trigger behind)."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            saved = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name IN ('events_no_update', "
                "'events_no_delete')").scalars().all()
            connection.exec_driver_sql("DROP TRIGGER events_no_update")
            connection.exec_driver_sql("DROP TRIGGER events_no_delete")
            yield connection
            for sql in saved:
                connection.exec_driver_sql(sql)
            return
        modes = connection.execute(sa.text(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c "
            "ON c.oid = t.tgrelid WHERE c.relnamespace = current_schema()::regnamespace "
            "AND NOT t.tgisinternal AND t.tgparentid = 0 AND (c.relname = 'events' "
            "OR c.relname LIKE 'events\\_%')")).all()
        connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
        for table, _, _ in modes:
            connection.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        yield connection
        words = {"A": "ALWAYS ", "R": "REPLICA ", "O": ""}
        for table, name, mode in modes:
            connection.exec_driver_sql(
                f'ALTER TABLE "{table}" ENABLE {words.get(mode, "")}TRIGGER "{name}"')


def cut_tail(connection: sa.Connection, case_id: str, keep: int) -> None:
    """Remove a case's events after `keep` and make its row agree (count, head, version
    and data as those events left them): the chain alone cannot tell."""
    connection.execute(sa.text("DELETE FROM events WHERE case_id = :c AND seq > :k"),
                       {"c": case_id, "k": keep})
    bodies = [json.loads(text) for (text,) in connection.execute(sa.text(
        "SELECT body FROM events WHERE case_id = :c ORDER BY seq"), {"c": case_id})]
    head = connection.execute(sa.text("SELECT hash FROM events WHERE case_id = :c AND "
                                      "seq = :k"), {"c": case_id, "k": keep}).scalar_one()
    connection.execute(sa.update(CASES).where(CASES.c.id == case_id).values(
        event_count=keep, head_hash=head, version=keep,
        data=replay(bodies, "", lambda *_: None)["data"]))


def only_break(engine: sa.Engine) -> Any:
    [found] = audit.verify(engine)
    return found


def test_the_database_refuses_to_update_or_delete_events(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service, 1)
    for statement in ("UPDATE events SET actor = 'mallory' WHERE case_id = :c",
                      "DELETE FROM events WHERE case_id = :c"):
        with pytest.raises(sa.exc.DatabaseError) as caught, engine.begin() as connection:
            connection.execute(sa.text(statement), {"c": case_id})
        assert "append-only" in str(caught.value)
    if engine.dialect.name == "postgresql":  # SQLite has no TRUNCATE
        with pytest.raises(sa.exc.DatabaseError), engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE events CASCADE")
    assert len(service.history(case_id)) == 2


def test_an_intact_store_verifies(service: CaseService, engine: sa.Engine) -> None:
    first, second = grown_case(service), grown_case(service, 0)
    service.tick(first, "venue", evidence="hall", actor=COMMITTEE)
    service.suspend(second, actor=COMMITTEE, reason="check")
    assert audit.verify(engine) == []
    assert audit.verify(engine, first) == []
    assert verify_store(engine) == []


def test_a_missing_case_is_reported(engine: sa.Engine) -> None:
    [found] = audit.verify(engine, "nope")
    assert (found.case_id, found.seq) == ("nope", None)


def test_an_edited_column_is_caught_even_when_the_hashed_body_is_untouched(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service)
    with tampering(engine) as connection:
        connection.execute(sa.text(
            "UPDATE events SET actor = 'mallory' WHERE case_id = :c AND seq = 3"),
            {"c": case_id})
    found = only_break(engine)
    assert (found.case_id, found.seq, found.reason) == (case_id, 3, CONTENT_CHANGED)
    assert "'actor'" in found.message


def test_an_edited_body_no_longer_matches_its_hash(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service)
    with tampering(engine) as connection:
        body = json.loads(connection.execute(sa.text(
            "SELECT body FROM events WHERE case_id = :c AND seq = 2"), {"c": case_id}
        ).scalar_one())
        body["input"] = {"by": 100}
        connection.execute(sa.text(
            "UPDATE events SET body = :b, input = :i WHERE case_id = :c AND seq = 2"),
            {"b": canonical_json(body).decode(), "i": json.dumps({"by": 100}), "c": case_id})
    found = only_break(engine)
    assert (found.seq, found.reason) == (2, CONTENT_CHANGED)


def test_a_deleted_event_is_caught_by_its_sequence_gap(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service)
    with tampering(engine) as connection:
        connection.execute(sa.text("DELETE FROM events WHERE case_id = :c AND seq = 2"),
                           {"c": case_id})
    found = only_break(engine)
    assert (found.case_id, found.seq, found.reason) == (case_id, 2, SEQ_GAP)


def test_a_deleted_tail_is_caught_by_the_case_count(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service)
    with tampering(engine) as connection:
        connection.execute(sa.text("DELETE FROM events WHERE case_id = :c AND seq = 4"),
                           {"c": case_id})
    found = only_break(engine)
    assert (found.seq, found.reason) == (4, COUNT_MISMATCH)


def test_an_event_written_around_the_door_is_caught(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service, 1)
    [*_, last] = service.history(case_id)
    body = {"case_id": case_id, "seq": 3, "kind": "transition", "workflow_id": "store_org",
            "workflow_version": "1.0.0", "trigger": "grow", "from_state": "forming",
            "to_state": "forming", "actor": "mallory", "role": None, "input": {},
            "changes": {}, "comment": None, "at": last.at}
    with engine.begin() as connection:  # inserting is allowed; the case row is not updated
        connection.execute(sa.text(
            "INSERT INTO events (case_id, seq, workflow_id, workflow_version, kind, trigger, "
            "from_state, to_state, actor, input, changes, at, prev_hash, hash, body) VALUES "
            "(:c, 3, 'store_org', '1.0.0', 'transition', 'grow', 'forming', 'forming', "
            "'mallory', '{}', '{}', :at, :prev, :hash, :body)"),
            {"c": case_id, "at": last.at.replace(tzinfo=None)
             if engine.dialect.name == "sqlite" else last.at,
             "prev": last.hash, "hash": event_hash(last.hash, body),
             "body": canonical_json(body).decode()})
    found = only_break(engine)
    assert (found.seq, found.reason) == (3, COUNT_MISMATCH)


def test_reordered_events_are_caught(service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service)
    with tampering(engine) as connection:
        for seq, temporary in ((2, -2), (3, 2), (-2, 3)):
            connection.execute(sa.text(
                "UPDATE events SET seq = :t WHERE case_id = :c AND seq = :s"),
                {"t": temporary, "c": case_id, "s": seq})
    found = only_break(engine)
    assert (found.seq, found.reason) == (2, REORDERED)


def test_a_case_whose_state_no_longer_matches_its_history_is_caught(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service, 1)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE cases SET state = 'established' WHERE id = :c"),
                           {"c": case_id})
    found = only_break(engine)
    assert (found.case_id, found.seq, found.reason) == (case_id, 2, STATE_MISMATCH)


def test_a_forged_head_is_caught(service: CaseService, engine: sa.Engine) -> None:
    case_id = grown_case(service, 1)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE cases SET head_hash = :h WHERE id = :c"),
                           {"h": GENESIS, "c": case_id})
    assert only_break(engine).reason == HEAD_MISMATCH


def test_only_the_broken_case_is_reported(service: CaseService, engine: sa.Engine) -> None:
    intact, broken = grown_case(service), grown_case(service)
    with tampering(engine) as connection:
        connection.execute(sa.text(
            "UPDATE events SET comment = 'edited' WHERE case_id = :c AND seq = 2"),
            {"c": broken})
    assert [b.case_id for b in audit.verify(engine)] == [broken]
    assert audit.verify(engine, intact) == []


# -- checkpoints ---------------------------------------------------------------------------


def rewrite_history(engine: sa.Engine, case_id: str) -> None:
    """Rewrite a case's whole history consistently (every hash and the head recomputed):
    the chain verifies, only a checkpoint can tell."""
    with tampering(engine) as connection:
        rows = connection.execute(sa.text(
            "SELECT seq, body FROM events WHERE case_id = :c ORDER BY seq"),
            {"c": case_id}).all()
        prev = GENESIS
        for seq, text in rows:
            body = json.loads(text)
            if seq == 1:
                body["actor"] = "mallory"
            digest = event_hash(prev, body)
            connection.execute(sa.text(
                "UPDATE events SET actor = :a, body = :b, prev_hash = :p, hash = :h "
                "WHERE case_id = :c AND seq = :s"),
                {"a": body["actor"], "b": canonical_json(body).decode(), "p": prev,
                 "h": digest, "c": case_id, "s": seq})
            prev = digest
        connection.execute(sa.text("UPDATE cases SET head_hash = :h WHERE id = :c"),
                           {"h": prev, "c": case_id})


def test_a_checkpoint_allows_growth_and_catches_a_rewritten_history(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    first, second = grown_case(service), grown_case(service, 1)
    kept = audit.checkpoint(engine, clock)
    assert set(kept.heads) == {first, second}
    kept = Checkpoint.from_json(kept.to_json())
    service.fire(first, "grow", input={"by": 1}, actor=CASEWORKER)
    grown_case(service)
    assert audit.verify_checkpoint(engine, kept, expected_digest=kept.digest) is None

    rewrite_history(engine, second)

    assert audit.verify(engine) == []
    found = audit.verify_checkpoint(engine, kept)
    assert found is not None
    assert (found.case_id, found.seq, found.reason) == (second, 2, CHECKPOINT_REWRITTEN)


def test_a_checkpoint_catches_events_removed_with_the_count(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = grown_case(service)
    kept = audit.checkpoint(engine, clock)
    with tampering(engine) as connection:
        cut_tail(connection, case_id, keep=3)
    assert audit.verify(engine) == []
    found = audit.verify_checkpoint(engine, kept)
    assert found is not None and found.reason == CHECKPOINT_EVENTS_MISSING


def test_the_checkpoint_digest_does_not_depend_on_the_database(
        service: CaseService, engine: sa.Engine, clock: FrozenClock) -> None:
    grown_case(service)
    kept = audit.checkpoint(engine, clock)
    assert kept.recomputed_digest() == kept.digest
    assert audit.checkpoint(engine, clock).digest == kept.digest
