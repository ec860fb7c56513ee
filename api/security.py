"""Tokens, roles, community scopes and the masking of personal data: a few pure functions
and one small store.

A token is `hat_` + 43 random URL-safe characters (256 bits from `secrets`). Only its
sha256 is stored, so a database dump cannot be replayed as credentials; the plain token is
shown once, when it is created.

Roles: `admin` may do everything; `designer` manages definitions and reads; `auditor` only
reads; `caseworker` and the workflow roles a definition declares (`party_committee`)
advance cases, and each transition's `roles` decide who may fire it. Designer and auditor
roles are never passed on to the engine as acting roles, so they cannot advance a case
even where a definition names them.

Communities nest as paths (`fuzhou/cangshan/jinshan/jinzhou`): a token scoped to
`fuzhou/cangshan/jinshan` sees its communities and nothing else; `*` is every community.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4

import sqlalchemy as sa

from engine.core.decision import Actor
from engine.store.db import read_connection, write_connection
from engine.store.operations import record as record_operation

TOKEN_PREFIX = "hat_"
ADMIN, DESIGNER, CASEWORKER, AUDITOR = "admin", "designer", "caseworker", "auditor"
BUILTIN_ROLES = frozenset({ADMIN, DESIGNER, CASEWORKER, AUDITOR})
READ_ONLY_ROLES = frozenset({DESIGNER, AUDITOR})
DEFINITION_ROLES = frozenset({ADMIN, DESIGNER})
PII = "pii"
PERMISSIONS = frozenset({PII})
ALL_COMMUNITIES = "*"

ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
COMMUNITY_PATTERN = re.compile(r"^[^/\s]{1,64}(?:/[^/\s]{1,64}){0,7}$")


def generate_token() -> str:
    """A new random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored and looked up: sha256 of the token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def valid_community(path: str) -> bool:
    """A community path: up to 8 segments of up to 64 characters (no spaces), `/` between."""
    return path == ALL_COMMUNITIES or COMMUNITY_PATTERN.fullmatch(path) is not None


def in_scope(scope: str, community: str) -> bool:
    """Whether `community` is `scope` itself or nested inside it."""
    return (scope == ALL_COMMUNITIES or community == scope
            or community.startswith(scope + "/"))


def narrow_scope(scope: str, requested: str | None) -> str | None:
    """The community prefix to list by: the narrower of the token's scope and the filter.

    Returns None for "every community". Raises ValueError when the two do not overlap.
    """
    if requested is None or requested == ALL_COMMUNITIES:
        return None if scope == ALL_COMMUNITIES else scope
    if in_scope(scope, requested):
        return requested
    if in_scope(requested, scope):
        return scope
    raise ValueError(requested)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the token's name, roles, community scope and permissions."""

    token_id: str
    name: str
    roles: frozenset[str]
    community: str
    permissions: frozenset[str] = frozenset()

    @property
    def acting_roles(self) -> frozenset[str]:
        """The roles that may advance cases (designer and auditor only read)."""
        return self.roles - READ_ONLY_ROLES

    @property
    def actor(self) -> Actor:
        """The engine's view of the caller; history records the token's name."""
        return Actor(self.name, self.acting_roles)

    @property
    def sees_pii(self) -> bool:
        return PII in self.permissions

    def sees(self, community: str) -> bool:
        return in_scope(self.community, community)


class CaseCommunities:
    """case id -> community: a bounded cache that spares reading a whole case when only its
    scope is needed (a fire without If-Match). Safe because a case's community is set when
    it starts and nothing changes it; a miss is simply read from the store."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._known: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, case_id: str) -> str | None:
        with self._lock:
            community = self._known.get(case_id)
            if community is not None:
                self._known.move_to_end(case_id)
            return community

    def put(self, case_id: str, community: str) -> None:
        with self._lock:
            self._known[case_id] = community
            self._known.move_to_end(case_id)
            while len(self._known) > self._size:
                self._known.popitem(last=False)


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


class TokenError(ValueError):
    """A token could not be created or revoked as asked (the message says why)."""


def check_token_fields(name: str, roles: Iterable[str], community: str,
                       permissions: Iterable[str]) -> None:
    """Raise TokenError naming the first thing wrong with a token to be created."""
    if not NAME_PATTERN.fullmatch(name):
        raise TokenError(f"name '{name}': letters, digits, '_', '.', '@', '-' (up to 64); "
                         "it is recorded as the actor in history")
    roles = list(roles)
    if not roles:
        raise TokenError("a token needs at least one role")
    for role in roles:
        if not ROLE_PATTERN.fullmatch(role):
            raise TokenError(f"role '{role}' is not a role name (lower case, digits, '_')")
    if not valid_community(community):
        raise TokenError(f"community '{community}' is not a path like district/street/community"
                         f" (or '{ALL_COMMUNITIES}' for all)")
    for permission in permissions:
        if permission not in PERMISSIONS:
            raise TokenError(f"unknown permission '{permission}' (known: {sorted(PERMISSIONS)})")


class TokenStore:
    """API tokens in the `api_tokens` table: create, look up by hash, revoke, list."""

    def __init__(self, engine: sa.Engine, table: sa.Table | None = None) -> None:
        self.engine = engine
        self.table = table if table is not None else tokens_table()

    def create(self, name: str, roles: Iterable[str], community: str,
               permissions: Iterable[str] = (), *, now: datetime, actor: str = "cli"
               ) -> tuple[TokenRecord, str]:
        """Store a new token and return it with the plain token (shown once); the operations
        log records who made it, with its roles and scope (never the token)."""
        roles, permissions = sorted(set(roles)), sorted(set(permissions))
        check_token_fields(name, roles, community, permissions)
        token = generate_token()
        record = TokenRecord(uuid4().hex, name, roles, community, permissions, now)
        t = self.table
        with write_connection(self.engine) as conn:
            clash = conn.execute(sa.select(t.c.id).where(
                t.c.name == name, t.c.revoked_at.is_(None))).first()
            if clash is not None:
                raise TokenError(f"an active token named '{name}' exists; revoke it first")
            conn.execute(t.insert().values(
                id=record.id, name=name, token_hash=hash_token(token), roles=roles,
                community=community, permissions=permissions, created_at=now,
                revoked_at=None))
        record_operation(self.engine, actor=actor, action="token_create", at=now, target=name,
                         community=community,
                         detail={"id": record.id, "roles": roles, "permissions": permissions})
        return record, token

    def lookup(self, token: str) -> Principal | None:
        """The principal of an active token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        t = self.table
        with read_connection(self.engine) as conn:
            row = conn.execute(sa.select(t.c.id, t.c.name, t.c.roles, t.c.community,
                                         t.c.permissions)
                               .where(t.c.token_hash == hash_token(token),
                                      t.c.revoked_at.is_(None))).first()
        if row is None:
            return None
        return Principal(str(row.id), row.name, frozenset(row.roles or ()), row.community,
                         frozenset(row.permissions or ()))

    def revoke(self, name_or_id: str, *, now: datetime, actor: str = "cli") -> int:
        """Revoke the active token with this id, or the active tokens with this name; the
        operations log records the attempt, refused when nothing matched."""
        t = self.table
        with write_connection(self.engine) as conn:
            result = conn.execute(t.update().where(
                sa.or_(t.c.id == name_or_id, t.c.name == name_or_id),
                t.c.revoked_at.is_(None)).values(revoked_at=now))
        count = int(result.rowcount or 0)
        record_operation(self.engine, actor=actor, action="token_revoke", at=now,
                         target=name_or_id, outcome="done" if count else "refused",
                         detail={"revoked": count})
        return count

    def list(self, *, include_revoked: bool = False) -> list[TokenRecord]:
        t = self.table
        query = sa.select(t).order_by(t.c.created_at, t.c.name)
        if not include_revoked:
            query = query.where(t.c.revoked_at.is_(None))
        with read_connection(self.engine) as conn:
            rows = conn.execute(query).all()
        return [TokenRecord(str(r.id), r.name, list(r.roles or ()), r.community,
                            list(r.permissions or ()), r.created_at, r.revoked_at)
                for r in rows]

    def any_active(self) -> bool:
        t = self.table
        with read_connection(self.engine) as conn:
            return conn.execute(sa.select(t.c.id).where(t.c.revoked_at.is_(None))
                                .limit(1)).first() is not None


def tokens_table() -> sa.Table:
    """The `api_tokens` table as declared in `engine.store.tables`."""
    from engine.store.tables import ApiToken

    table = ApiToken.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table
