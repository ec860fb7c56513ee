"""Who may do what: roles, community scopes and permissions, one model for API tokens and
for the people who sign in to the console.

Roles: `admin` may do everything; `designer` manages definitions and reads; `auditor` only
reads; `caseworker` and the workflow roles a definition declares (`party_committee`)
advance cases, and each transition's `roles` decide who may fire it. Designer and auditor
roles are never passed on to the engine as acting roles, so they cannot advance a case
even where a definition names them.

Communities nest as paths (`fuzhou/cangshan/jinshan/jinzhou`): a principal scoped to
`fuzhou/cangshan/jinshan` sees its communities and nothing else; `*` is every community.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.core.decision import Actor

__all__ = [
    "ADMIN",
    "ALL_COMMUNITIES",
    "AUDITOR",
    "BUILTIN_ROLES",
    "CASEWORKER",
    "DEFINITION_ROLES",
    "DESIGNER",
    "PERMISSIONS",
    "PII",
    "READ_ONLY_ROLES",
    "AccessError",
    "Principal",
    "check_grant",
    "in_scope",
    "narrow_scope",
    "valid_community",
]

ADMIN, DESIGNER, CASEWORKER, AUDITOR = "admin", "designer", "caseworker", "auditor"
BUILTIN_ROLES = frozenset({ADMIN, DESIGNER, CASEWORKER, AUDITOR})
READ_ONLY_ROLES = frozenset({DESIGNER, AUDITOR})
DEFINITION_ROLES = frozenset({ADMIN, DESIGNER})
PII = "pii"
PERMISSIONS = frozenset({PII})
ALL_COMMUNITIES = "*"

ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_SEGMENT = r"(?!\.\.?(?:/|$))[^/\s\x00-\x1f\x7f\ud800-\udfff]{1,64}"
COMMUNITY_PATTERN = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT}){{0,7}}$")


class AccessError(ValueError):
    """A token or a person could not be created or changed as asked (the message says why)."""


def valid_community(path: str) -> bool:
    """A community path: up to 8 segments of up to 64 characters (no spaces, no control
    characters, no `.` or `..` segment), `/` between."""
    return path == ALL_COMMUNITIES or COMMUNITY_PATTERN.fullmatch(path) is not None


def in_scope(scope: str, community: str) -> bool:
    """Whether `community` is `scope` itself or nested inside it."""
    return (scope == ALL_COMMUNITIES or community == scope
            or community.startswith(scope + "/"))


def community_scope(column: Any, prefix: str) -> Any:
    """`in_scope` as SQL: `column` is `prefix` or lies under it. A range, so an index on
    the column serves it; the community columns are byte-ordered (collation "C" on
    PostgreSQL), where every path under `p/` sorts between `p/` and `p0`."""
    prefix = prefix.rstrip("/")
    return sa.or_(column == prefix, sa.and_(column >= prefix + "/", column < prefix + "0"))


def narrow_scope(scope: str, requested: str | None) -> str | None:
    """The community prefix to list by: the narrower of the principal's scope and the filter.

    Returns None for "every community". Raises ValueError when the two do not overlap.
    """
    if requested is None or requested == ALL_COMMUNITIES:
        return None if scope == ALL_COMMUNITIES else scope
    if in_scope(scope, requested):
        return requested
    if in_scope(requested, scope):
        return scope
    raise ValueError(requested)


def check_grant(name: str, roles: Iterable[str], community: str,
                permissions: Iterable[str], *, holder: str = "a token") -> None:
    """Raise AccessError naming the first thing wrong with what a token or person is given."""
    if not NAME_PATTERN.fullmatch(name):
        raise AccessError(f"name '{name}': letters, digits, '_', '.', '@', '-' (up to 64); "
                          "it is recorded as the actor in history")
    roles = list(roles)
    if not roles:
        raise AccessError(f"{holder} needs at least one role")
    for role in roles:
        if not ROLE_PATTERN.fullmatch(role):
            raise AccessError(f"role '{role}' is not a role name (lower case, digits, '_')")
    if not valid_community(community):
        raise AccessError(f"community '{community}' is not a path like "
                          f"district/street/community (or '{ALL_COMMUNITIES}' for all)")
    for permission in permissions:
        if permission not in PERMISSIONS:
            raise AccessError(f"unknown permission '{permission}' "
                              f"(known: {sorted(PERMISSIONS)})")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for, a token or a signed-in person: name, roles, community scope
    and permissions. `token_id` is the credential's id (a token's, or a person's), which
    keeps one caller's idempotency keys apart from another's."""

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
        """The engine's view of the caller; history records the principal's name."""
        return Actor(self.name, self.acting_roles)

    @property
    def sees_pii(self) -> bool:
        return PII in self.permissions

    def sees(self, community: str) -> bool:
        return in_scope(self.community, community)
