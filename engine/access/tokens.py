"""API tokens for machine clients: created, looked up by hash, revoked, listed.

A token is `hat_` + 43 random URL-safe characters (256 bits from `secrets`). Only its
sha256 is stored, so a database dump cannot be replayed as credentials; the plain token is
shown once, when it is created. A token's creation or revocation and its operations-log
entry are written in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4

import sqlalchemy as sa

from engine.access.principals import AccessError, Principal, check_grant
from engine.store.db import read_connection, translate_errors, write_connection
from engine.store.direct import Direct
from engine.store.operations import record_in
from engine.store.tables import TOKENS

__all__ = ["TOKEN_PREFIX", "TokenError", "TokenRecord", "TokenStore", "generate_token",
           "hash_token"]

TOKEN_PREFIX = "hat_"
_LOOKUP = Direct(sa.select(TOKENS.c.id, TOKENS.c.name, TOKENS.c.roles, TOKENS.c.community,
                           TOKENS.c.permissions)
                 .where(TOKENS.c.token_hash == sa.bindparam("token_hash"),
                        TOKENS.c.revoked_at.is_(None)))
"""Every API request looks its token up: compiled once, run on the driver's cursor (building
and executing the select through SQLAlchemy cost three times as much), as a statement of
its own (`Direct.first_alone`: one round trip on PostgreSQL, no `Connection` set-up)."""
TokenError = AccessError
"""The name callers knew before tokens moved into the engine."""


def generate_token() -> str:
    """A new random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored and looked up: sha256 of the token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """A stored token, without the token itself."""

    id: str
    name: str
    roles: list[str]
    community: str
    permissions: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenStore:
    """API tokens in the `api_tokens` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create(self, name: str, roles: Iterable[str], community: str,
               permissions: Iterable[str] = (), *, now: datetime, actor: str = "cli"
               ) -> tuple[TokenRecord, str]:
        """Store a new token and return it with the plain token (shown once); the operations
        log records who made it, with its roles and scope (never the token)."""
        roles, permissions = sorted(set(roles)), sorted(set(permissions))
        check_grant(name, roles, community, permissions)
        token = generate_token()
        record = TokenRecord(uuid4().hex, name, roles, community, permissions, now)
        t = TOKENS
        with write_connection(self.engine) as conn:
            clash = conn.execute(sa.select(t.c.id).where(
                t.c.name == name, t.c.revoked_at.is_(None))).first()
            if clash is not None:
                raise AccessError(f"an active token named '{name}' exists; revoke it first")
            conn.execute(t.insert().values(
                id=record.id, name=name, token_hash=hash_token(token), roles=roles,
                community=community, permissions=permissions, created_at=now,
                revoked_at=None))
            record_in(conn, actor=actor, action="token_create", at=now, target=name,
                      community=community,
                      detail={"id": record.id, "roles": roles, "permissions": permissions})
        return record, token

    def lookup(self, token: str) -> Principal | None:
        """The principal of an active token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        # One statement, atomic on its own: no transaction around it, and nothing cached
        # (a token revoked a moment ago is refused at once, by every process).
        with translate_errors(self.engine):
            row = _LOOKUP.first_alone(self.engine, {"token_hash": hash_token(token)})
        if row is None:
            return None
        return Principal(str(row["id"]), row["name"], frozenset(row["roles"] or ()),
                         row["community"], frozenset(row["permissions"] or ()))

    def revoke(self, name_or_id: str, *, now: datetime, actor: str = "cli") -> int:
        """Revoke the active token with this id, or the active tokens with this name; the
        operations log records the attempt, refused when nothing matched."""
        t = TOKENS
        with write_connection(self.engine) as conn:
            result = conn.execute(t.update().where(
                sa.or_(t.c.id == name_or_id, t.c.name == name_or_id),
                t.c.revoked_at.is_(None)).values(revoked_at=now))
            count = int(result.rowcount or 0)
            record_in(conn, actor=actor, action="token_revoke", at=now, target=name_or_id,
                      outcome="done" if count else "refused", detail={"revoked": count})
        return count

    def list(self, *, include_revoked: bool = False) -> list[TokenRecord]:
        t = TOKENS
        query = sa.select(t).order_by(t.c.created_at, t.c.name)
        if not include_revoked:
            query = query.where(t.c.revoked_at.is_(None))
        with read_connection(self.engine) as conn:
            rows = conn.execute(query).all()
        return [TokenRecord(str(r.id), r.name, list(r.roles or ()), r.community,
                            list(r.permissions or ()), r.created_at, r.revoked_at)
                for r in rows]

    def any_active(self) -> bool:
        t = TOKENS
        with read_connection(self.engine) as conn:
            return conn.execute(sa.select(t.c.id).where(t.c.revoked_at.is_(None))
                                .limit(1)).first() is not None
