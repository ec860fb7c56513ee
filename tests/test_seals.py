"""Chain heads are sealed with a key kept outside the database: a writer without the key
can append an event with a valid hash, but not the head's seal, and verify says so (SQLite
and PostgreSQL). The key is made once in the data folder, adopts the heads stored before
it, and rotates with every head resealed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from conftest import CASEWORKER
from test_audit_chain_store import grown_case

from engine.audit import verify as audit
from engine.audit.seals import HEAD_FORGED, HEAD_UNSEALED, attach_service_key, seal_heads
from engine.ledger.keys import KEY_FILE, ChainKey, attach, load
from engine.service import CaseService
from engine.store.tables import CASES


def test_heads_written_with_the_key_verify(service: CaseService, engine: sa.Engine) -> None:
    attach(engine, ChainKey.generate())
    grown_case(service)
    assert audit.verify(engine) == []


def test_an_event_appended_without_the_key_is_caught(service: CaseService,
                                                     engine: sa.Engine) -> None:
    key = ChainKey.generate()
    attach(engine, key)
    intact, forged = grown_case(service), grown_case(service)
    attach(engine, None)  # the same code, run by someone who can write but lacks the key
    service.fire(forged, "grow", input={"by": 5}, actor=CASEWORKER)
    attach(engine, None)
    assert audit.verify(engine) == []  # the chain alone is perfectly valid
    attach(engine, key)
    [found] = audit.verify(engine)
    assert (found.case_id, found.seq, found.reason) == (forged, 5, HEAD_FORGED)
    assert audit.verify(engine, intact) == []


def test_a_head_whose_seal_was_removed_is_caught(service: CaseService,
                                                 engine: sa.Engine) -> None:
    attach(engine, ChainKey.generate())
    case_id = grown_case(service)
    with engine.begin() as connection:
        connection.execute(sa.update(CASES).where(CASES.c.id == case_id)
                           .values(head_seal=None))
    [found] = audit.verify(engine)
    assert (found.case_id, found.reason) == (case_id, HEAD_UNSEALED)


def test_a_key_made_on_a_first_start_adopts_the_stored_heads(
        service: CaseService, engine: sa.Engine, tmp_path: Path) -> None:
    grown_case(service)
    key = attach_service_key(engine, None, tmp_path)
    assert key is not None and (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert audit.verify(engine) == []
    again = attach_service_key(engine, None, tmp_path)  # a later start: the same key
    assert again == key


def test_a_rotation_reseals_what_the_old_key_vouches_for_and_only_that(
        service: CaseService, engine: sa.Engine) -> None:
    old, new = ChainKey.generate(), ChainKey.generate()
    attach(engine, old)
    kept, forged = grown_case(service), grown_case(service)
    attach(engine, None)
    service.fire(forged, "grow", input={"by": 5}, actor=CASEWORKER)
    assert seal_heads(engine, new, only_unsealed=False, previous=old) == 1
    attach(engine, new)
    assert [(b.case_id, b.reason) for b in audit.verify(engine)] == [(forged, HEAD_FORGED)]
    assert audit.verify(engine, kept) == []


def test_a_configured_key_must_be_long_hex(tmp_path: Path) -> None:
    import pytest

    from engine.ledger.keys import ChainKeyError

    for bad in ("xyz", "ab" * 8):
        with pytest.raises(ChainKeyError):
            load(bad, tmp_path)
    key, made = load("ab" * 32, tmp_path)
    assert key == ChainKey(bytes.fromhex("ab" * 32)) and not made
