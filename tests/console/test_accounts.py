"""The store of people and tokens on both databases: one model of who may do what, every
change written with its operations-log entry, passwords never stored in the clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.access.passwords import check_policy
from engine.access.principals import AccessError
from engine.access.sessions import SessionStore
from engine.access.tokens import TokenStore
from engine.access.users import SignInRefused, UserStore
from engine.store.operations import list_operations

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
COMMUNITY = "fuzhou/cangshan/jinshan/jinzhou"


def test_a_person_acts_with_the_same_roles_scope_and_permissions_as_a_token(
        engine: sa.Engine) -> None:
    record, _ = UserStore(engine).create("wang.li", ["caseworker", "auditor"], COMMUNITY,
                                         ["pii"], password="Jinzhou-2026", now=NOW)
    _, token = TokenStore(engine).create("wang.li.api", ["caseworker", "auditor"], COMMUNITY,
                                         ["pii"], now=NOW)
    person, machine = record.principal, TokenStore(engine).lookup(token)
    assert machine is not None
    assert (person.roles, person.community, person.permissions) == (
        machine.roles, machine.community, machine.permissions)
    assert person.acting_roles == frozenset({"caseworker"})
    assert person.sees(COMMUNITY + "/grid-1") and not person.sees("fuzhou/gulou")


def test_the_password_is_stored_only_as_an_argon2_hash(engine: sa.Engine) -> None:
    UserStore(engine).create("li.mei", ["caseworker"], COMMUNITY, password="Jinzhou-2026",
                             now=NOW)
    with engine.connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT password_hash FROM users WHERE name = 'li.mei'")).scalar_one()
    assert stored.startswith("$argon2id$") and "Jinzhou-2026" not in stored


def test_creating_a_person_is_logged_in_the_same_store(engine: sa.Engine) -> None:
    UserStore(engine).create("li.mei", ["caseworker"], COMMUNITY, password="Jinzhou-2026",
                             now=NOW, actor="cli:root")
    entries, _ = list_operations(engine, action="user_create")
    assert [(e.actor, e.target, e.community) for e in entries] == [
        ("cli:root", "li.mei", COMMUNITY)]


def test_a_refused_creation_writes_neither_the_person_nor_a_log_entry(
        engine: sa.Engine) -> None:
    store = UserStore(engine)
    store.create("li.mei", ["caseworker"], COMMUNITY, password="Jinzhou-2026", now=NOW)
    with pytest.raises(AccessError):
        store.create("li.mei", ["auditor"], COMMUNITY, password="Jinzhou-2026", now=NOW)
    entries, _ = list_operations(engine, action="user_create")
    assert len(entries) == 1 and len(store.list()) == 1


def test_a_first_password_that_breaks_the_policy_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(AccessError, match="at least 10 characters"):
        UserStore(engine).create("li.mei", ["caseworker"], COMMUNITY, password="short",
                                 now=NOW)


def test_the_policy_names_every_problem_at_once() -> None:
    codes = {p.code for p in check_policy("li.mei", name="li.mei")}
    assert codes == {"too_short", "too_simple", "contains_name"}


def test_failures_lock_the_account_and_each_is_logged(engine: sa.Engine) -> None:
    store = UserStore(engine)
    store.create("li.mei", ["caseworker"], COMMUNITY, password="Jinzhou-2026", now=NOW)
    at = NOW
    for _ in range(5):
        with pytest.raises(SignInRefused):
            store.sign_in("li.mei", "Wrong-pass-2026", address="10.0.0.8", now=at)
        at += timedelta(minutes=1)
    with pytest.raises(SignInRefused) as locked:
        store.sign_in("li.mei", "Jinzhou-2026", address="10.0.0.8", now=at)
    assert locked.value.reason == "locked"
    entries, _ = list_operations(engine, actor="li.mei", action="sign_in")
    assert [e.outcome for e in entries] == ["refused"] * 6
    assert {e.target for e in entries} == {"10.0.0.8"}


def test_an_administrators_new_password_unlocks_and_must_be_changed(
        engine: sa.Engine) -> None:
    store = UserStore(engine)
    store.create("li.mei", ["caseworker"], COMMUNITY, password="Jinzhou-2026", now=NOW)
    for minute in range(5):
        with pytest.raises(SignInRefused):
            store.sign_in("li.mei", "Wrong-pass-2026", address=None,
                          now=NOW + timedelta(minutes=minute))
    store.set_password("li.mei", "Reset-pass-2026", now=NOW + timedelta(minutes=6))
    person, _ = store.sign_in("li.mei", "Reset-pass-2026", address=None,
                              now=NOW + timedelta(minutes=7))
    assert person.must_change_password


def test_a_session_ends_after_the_idle_time(engine: sa.Engine) -> None:
    store = UserStore(engine)
    store.create("li.mei", ["caseworker"], COMMUNITY, password="Jinzhou-2026", now=NOW)
    _, token = store.sign_in("li.mei", "Jinzhou-2026", address=None, now=NOW)
    sessions = SessionStore(engine, idle=timedelta(minutes=30))
    assert sessions.lookup(token, now=NOW + timedelta(minutes=29)) is not None
    assert sessions.lookup(token, now=NOW + timedelta(minutes=60)) is None
    assert sessions.lookup(token, now=NOW + timedelta(minutes=61)) is None  # stays ended


def test_revoking_a_token_is_logged_in_its_transaction(engine: sa.Engine) -> None:
    tokens = TokenStore(engine)
    tokens.create("robot", ["caseworker"], COMMUNITY, now=NOW)
    assert tokens.revoke("robot", now=NOW) == 1
    assert tokens.revoke("robot", now=NOW) == 0
    entries, _ = list_operations(engine, action="token_revoke")
    assert [e.outcome for e in entries] == ["done", "refused"]
