"""The people who sign in to the console: created, listed, disabled, their passwords set
and changed, and the sign-in rules an MLPS level 2 assessment checks.

A person has exactly what a token has (roles, a community scope, the `pii` permission) and
acts as a `Principal` like a token. The first password is set by whoever creates the
person (or generated and printed once) and must be changed at the first sign-in.

Sign-in rules (`SignInRules`): after `slow_after` failures in a row each further attempt
waits twice as long as the one before (1 s, 2 s, 4 s, ... up to `max_delay`), refused
without even checking the password until then; after `lock_after` failures the account is
locked for `lock_for` (an administrator's `hatchery user passwd` unlocks it). Every
attempt, done or refused, is recorded in the operations log with the address, in the
transaction that changes the counters (and that opens the session, when it succeeds).
The password is checked outside any transaction: Argon2 takes tens of milliseconds, and
no writer should wait for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.access.passwords import (
    PolicyProblem,
    check_policy,
    generate_password,
    hash_password,
    verify_password,
)
from engine.access.principals import AccessError, Principal, check_grant
from engine.access.sessions import open_session
from engine.store.db import read_connection, write_connection
from engine.store.operations import record_in
from engine.store.tables import SESSIONS, USERS

__all__ = ["PasswordRefused", "SignInRefused", "SignInRules", "UserRecord", "UserStore"]

Reason = Literal["failed", "locked", "slowed", "disabled"]


@dataclass(frozen=True)
class SignInRules:
    """How repeated failures are slowed and when an account locks."""

    slow_after: int = 3
    max_delay: timedelta = timedelta(seconds=60)
    lock_after: int = 5
    lock_for: timedelta = timedelta(minutes=30)

    def wait_after(self, failures: int) -> timedelta:
        """How long after the last failure the next attempt is heard."""
        if failures < self.slow_after:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (failures - self.slow_after)), self.max_delay)


class SignInRefused(Exception):
    """A sign-in was refused; `reason` says why, `wait` how long until it may be tried."""

    def __init__(self, reason: Reason, wait: timedelta = timedelta(0)) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class PasswordRefused(Exception):
    """A new password was refused: the policy's problems, or a wrong current password."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("; ".join(p.en for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class UserRecord:
    """A person as stored, without the password hash."""

    id: str
    name: str
    display_name: str
    roles: list[str]
    community: str
    permissions: list[str]
    must_change_password: bool
    failed_attempts: int
    locked_until: datetime | None
    disabled_at: datetime | None
    created_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(f"user:{self.id}", self.name, frozenset(self.roles), self.community,
                         frozenset(self.permissions))


def _record(row: sa.Row[tuple[object, ...]] | Mapping[Any, Any]) -> UserRecord:
    r = row._mapping if isinstance(row, sa.Row) else row
    return UserRecord(str(r["id"]), r["name"], r["display_name"], list(r["roles"] or ()),
                      r["community"], list(r["permissions"] or ()),
                      bool(r["must_change_password"]), int(r["failed_attempts"]),
                      r["locked_until"], r["disabled_at"], r["created_at"])


WRONG_CURRENT = PolicyProblem("wrong_current", "当前密码不正确",
                              "the current password is not right")
SAME_AS_BEFORE = PolicyProblem("same_as_before", "新密码不能与当前密码相同",
                               "the new password must differ from the current one")


class UserStore:
    """People in the `users` table, and their sign-ins."""

    def __init__(self, engine: Engine, rules: SignInRules | None = None) -> None:
        self.engine = engine
        self.rules = rules or SignInRules()

    # -- administration (the command line) ------------------------------------------------

    def create(self, name: str, roles: Iterable[str], community: str,
               permissions: Iterable[str] = (), *, display_name: str | None = None,
               password: str | None = None, now: datetime, actor: str = "cli",
               must_change: bool = True) -> tuple[UserRecord, str]:
        """Store a new person and return them with their first password (the one given, or
        a generated one); it must be changed at the first sign-in (unless `must_change` is
        False: the demo's people)."""
        roles, permissions = sorted(set(roles)), sorted(set(permissions))
        check_grant(name, roles, community, permissions, holder="a person")
        first = password if password is not None else generate_password()
        problems = check_policy(first, name=name)
        if problems:
            raise AccessError("; ".join(p.en for p in problems))
        values = {"id": uuid4().hex, "name": name, "display_name": display_name or name,
                  "password_hash": hash_password(first), "roles": roles,
                  "community": community, "permissions": permissions,
                  "must_change_password": must_change, "failed_attempts": 0, "last_failed_at": None,
                  "locked_until": None, "disabled_at": None, "password_changed_at": now,
                  "created_at": now}
        with write_connection(self.engine) as connection:
            if connection.execute(sa.select(USERS.c.id).where(USERS.c.name == name)).first():
                raise AccessError(f"a person named '{name}' exists already")
            connection.execute(USERS.insert().values(**values))
            record_in(connection, actor=actor, action="user_create", at=now, target=name,
                      community=community,
                      detail={"id": values["id"], "roles": roles, "permissions": permissions})
        return _record(values), first

    def set_password(self, name: str, password: str, *, now: datetime, actor: str = "cli"
                     ) -> None:
        """An administrator sets a password: it must be changed at the next sign-in, and
        the lock and failure count are cleared."""
        problems = check_policy(password, name=name)
        if problems:
            raise PasswordRefused(problems)
        digest = hash_password(password)
        with write_connection(self.engine) as connection:
            done = connection.execute(USERS.update().where(USERS.c.name == name).values(
                password_hash=digest, must_change_password=True, failed_attempts=0,
                locked_until=None, password_changed_at=now)).rowcount
            if not done:
                raise AccessError(f"no person named '{name}'")
            record_in(connection, actor=actor, action="user_passwd", at=now, target=name)

    def disable(self, name: str, *, now: datetime, actor: str = "cli") -> None:
        """Disable a person: no further sign-in, and their sessions end at once."""
        with write_connection(self.engine) as connection:
            row = connection.execute(sa.select(USERS.c.id).where(
                USERS.c.name == name, USERS.c.disabled_at.is_(None))).first()
            if row is None:
                raise AccessError(f"no active person named '{name}'")
            connection.execute(USERS.update().where(USERS.c.id == row.id)
                               .values(disabled_at=now))
            connection.execute(SESSIONS.update().where(
                SESSIONS.c.user_id == row.id, SESSIONS.c.ended_at.is_(None))
                .values(ended_at=now))
            record_in(connection, actor=actor, action="user_disable", at=now, target=name)

    def list(self, *, include_disabled: bool = False) -> list[UserRecord]:
        query = sa.select(USERS).order_by(USERS.c.name)
        if not include_disabled:
            query = query.where(USERS.c.disabled_at.is_(None))
        with read_connection(self.engine) as connection:
            return [_record(row) for row in connection.execute(query)]

    def display_names(self, names: Iterable[str]) -> dict[str, str]:
        """Sign-in name -> the name shown on pages, for the people among `names`."""
        wanted = sorted(set(names))[:500]
        if not wanted:
            return {}
        query = sa.select(USERS.c.name, USERS.c.display_name).where(USERS.c.name.in_(wanted))
        with read_connection(self.engine) as connection:
            return {row.name: row.display_name for row in connection.execute(query)}

    def any_active(self) -> bool:
        with read_connection(self.engine) as connection:
            return connection.execute(sa.select(USERS.c.id).where(
                USERS.c.disabled_at.is_(None)).limit(1)).first() is not None

    # -- signing in and changing one's own password ---------------------------------------

    def sign_in(self, name: str, password: str, *, address: str | None, now: datetime
                ) -> tuple[UserRecord, str]:
        """Check a person's password under the sign-in rules; returns the person and the
        new session's id, or raises SignInRefused (recorded either way)."""
        with read_connection(self.engine) as connection:
            row = connection.execute(sa.select(USERS).where(USERS.c.name == name)).first()
        stored = row._mapping if row is not None else None
        refusal = self._precheck(stored, now)
        if refusal is not None:
            verify_password(None, password)  # the same time whatever the reason
            self._refused(name, address, now, refusal, stored)
            raise refusal
        assert stored is not None
        if not verify_password(stored["password_hash"], password):
            raise self._failed(stored, address, now)
        user = _record(stored)
        with write_connection(self.engine) as connection:
            connection.execute(USERS.update().where(USERS.c.id == user.id)
                               .values(failed_attempts=0, last_failed_at=None,
                                       locked_until=None))
            token = open_session(connection, user.id, user.name, address=address, now=now)
        return user, token

    def change_password(self, user_id: str, current: str, new: str, *, now: datetime,
                        address: str | None) -> None:
        """A person changes their own password (the current one proves it is them)."""
        with read_connection(self.engine) as connection:
            row = connection.execute(sa.select(USERS).where(USERS.c.id == user_id)).first()
        if row is None:
            raise AccessError("no such person")
        stored = row._mapping
        if not verify_password(stored["password_hash"], current):
            raise PasswordRefused([WRONG_CURRENT])
        problems = check_policy(new, name=stored["name"])
        if new == current:
            problems.append(SAME_AS_BEFORE)
        if problems:
            raise PasswordRefused(problems)
        digest = hash_password(new)
        with write_connection(self.engine) as connection:
            connection.execute(USERS.update().where(USERS.c.id == user_id).values(
                password_hash=digest, must_change_password=False, password_changed_at=now))
            record_in(connection, actor=stored["name"], action="password_change", at=now,
                      target=address)

    def _precheck(self, stored: sa.RowMapping | None, now: datetime) -> SignInRefused | None:
        if stored is None:
            return SignInRefused("failed")
        if stored["disabled_at"] is not None:
            return SignInRefused("disabled")
        if stored["locked_until"] is not None and stored["locked_until"] > now:
            return SignInRefused("locked", stored["locked_until"] - now)
        last = stored["last_failed_at"]
        wait = self.rules.wait_after(int(stored["failed_attempts"]))
        if last is not None and wait and last + wait > now:
            return SignInRefused("slowed", last + wait - now)
        return None

    def _failed(self, stored: sa.RowMapping, address: str | None, now: datetime
                ) -> SignInRefused:
        failures = int(stored["failed_attempts"]) + 1
        locked = failures >= self.rules.lock_after
        values: dict[str, object] = {"failed_attempts": USERS.c.failed_attempts + 1,
                                     "last_failed_at": now}
        if locked:
            values["locked_until"] = now + self.rules.lock_for
        refusal = (SignInRefused("locked", self.rules.lock_for) if locked
                   else SignInRefused("failed"))
        with write_connection(self.engine) as connection:
            connection.execute(USERS.update().where(USERS.c.id == stored["id"]).values(values))
            self._log_refusal(connection, stored["name"], address, now, refusal, failures)
        return refusal

    def _refused(self, name: str, address: str | None, now: datetime,
                 refusal: SignInRefused, stored: sa.RowMapping | None) -> None:
        with write_connection(self.engine) as connection:
            self._log_refusal(connection, name[:64], address, now, refusal,
                              None if stored is None else int(stored["failed_attempts"]))

    @staticmethod
    def _log_refusal(connection: sa.Connection, name: str, address: str | None,
                     now: datetime, refusal: SignInRefused, failures: int | None) -> None:
        detail: dict[str, object] = {"reason": refusal.reason}
        if failures is not None:
            detail["failures"] = failures
        record_in(connection, actor=name, action="sign_in", at=now, outcome="refused",
                  target=address, detail=detail)
