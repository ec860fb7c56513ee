"""The API's view of who may do what: the model itself (roles, community scopes,
permissions, tokens) lives in `engine.access`, shared with the console's sign-in; this
module re-exports it for the routes and keeps what only the HTTP layer needs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from engine.access.principals import (
    ADMIN,
    ALL_COMMUNITIES,
    AUDITOR,
    BUILTIN_ROLES,
    CASEWORKER,
    DEFINITION_ROLES,
    DESIGNER,
    PERMISSIONS,
    PII,
    READ_ONLY_ROLES,
    Principal,
    in_scope,
    narrow_scope,
    valid_community,
)
from engine.access.tokens import TokenError, TokenRecord, TokenStore, generate_token, hash_token

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
    "CaseCommunities",
    "Principal",
    "TokenError",
    "TokenRecord",
    "TokenStore",
    "generate_token",
    "hash_token",
    "in_scope",
    "narrow_scope",
    "valid_community",
]


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
