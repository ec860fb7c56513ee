"""Console sessions, kept on the server: the browser's cookie holds a random id (signed with
the installation's secret), the table holds only its sha256, so a copy of the database
gives no one a session, and signing out, idling or disabling a person ends it at once.

Every sign-in and sign-out is recorded in the operations log with the person's address, in
the transaction that opens or ends the session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.access.principals import Principal
from engine.store.db import read_connection, write_connection
from engine.store.operations import record_in
from engine.store.tables import SESSIONS, USERS

__all__ = ["SECRET_FILE", "SessionInfo", "SessionStore", "load_secret", "open_session", "sign",
           "unsign"]

SECRET_FILE = "session-secret"
TOUCH_EVERY = timedelta(seconds=60)
"""A session's last activity is written at most this often (not on every page)."""


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The secret that signs cookies: the configured one, else the one generated once into
    the data folder (readable by the service's user only)."""
    if configured:
        return configured.encode("utf-8")
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def sign(value: str, secret: bytes) -> str:
    """`value.signature` (HMAC-SHA256, URL-safe)."""
    mac = hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(signed: str, secret: bytes) -> str | None:
    """The value of a signed string, or None when the signature does not match."""
    value, _, mac = signed.rpartition(".")
    if not value or len(signed) > 300:
        return None
    expected = hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    """A live session: who, the form token its changing forms carry, and whether the person
    must change the password before anything else."""

    user_id: str
    name: str
    display_name: str
    principal: Principal
    csrf_token: str
    must_change_password: bool


def open_session(connection: Connection, user_id: str, name: str, *, address: str | None,
                 now: datetime) -> str:
    """Open a session in the caller's transaction (with its sign-in entry); returns the
    random id the cookie carries."""
    token = secrets.token_urlsafe(32)
    connection.execute(SESSIONS.insert().values(
        id_hash=_hash(token), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
        address=address, created_at=now, last_seen_at=now, ended_at=None))
    record_in(connection, actor=name, action="sign_in", at=now, target=address)
    return token


class SessionStore:
    """Looking up and ending console sessions."""

    def __init__(self, engine: Engine, *, idle: timedelta) -> None:
        self.engine = engine
        self.idle = idle

    def lookup(self, token: str, *, now: datetime) -> SessionInfo | None:
        """The live session of a cookie's id; an idle one is ended here (and recorded)."""
        s, u = SESSIONS, USERS
        query = (sa.select(s.c.id_hash, s.c.csrf_token, s.c.last_seen_at, s.c.address,
                           u.c.id, u.c.name, u.c.display_name, u.c.roles, u.c.community,
                           u.c.permissions, u.c.must_change_password, u.c.disabled_at)
                 .join(u, u.c.id == s.c.user_id)
                 .where(s.c.id_hash == _hash(token), s.c.ended_at.is_(None)))
        with read_connection(self.engine) as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        if row.disabled_at is not None or now - row.last_seen_at > self.idle:
            reason = "disabled" if row.disabled_at is not None else "idle"
            self._end(row.id_hash, row.name, row.address, now, reason)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            with write_connection(self.engine) as connection:
                connection.execute(SESSIONS.update().where(
                    SESSIONS.c.id_hash == row.id_hash, SESSIONS.c.ended_at.is_(None))
                    .values(last_seen_at=now))
        principal = Principal(f"user:{row.id}", row.name, frozenset(row.roles or ()),
                              row.community, frozenset(row.permissions or ()))
        return SessionInfo(row.id, row.name, row.display_name, principal, row.csrf_token,
                           bool(row.must_change_password))

    def close(self, token: str, *, now: datetime, address: str | None) -> bool:
        """Sign out: end the session on the server (recorded with the address)."""
        with read_connection(self.engine) as connection:
            row = connection.execute(
                sa.select(SESSIONS.c.id_hash, USERS.c.name)
                .join(USERS, USERS.c.id == SESSIONS.c.user_id)
                .where(SESSIONS.c.id_hash == _hash(token),
                       SESSIONS.c.ended_at.is_(None))).first()
        if row is None:
            return False
        return self._end(row.id_hash, row.name, address, now, "sign_out")

    def _end(self, id_hash: str, name: str, address: str | None, now: datetime,
             reason: str) -> bool:
        with write_connection(self.engine) as connection:
            ended = connection.execute(SESSIONS.update().where(
                SESSIONS.c.id_hash == id_hash, SESSIONS.c.ended_at.is_(None))
                .values(ended_at=now)).rowcount
            if ended:
                record_in(connection, actor=name, action="sign_out", at=now, target=address,
                          detail={"reason": reason})
        return bool(ended)
