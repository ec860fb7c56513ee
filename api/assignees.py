"""Who can be made responsible for a case (责任人): a person who signs in (not disabled),
whose roles may change cases and whose community scope covers the case. The door records
any name it is given; this is where people are known, for the API and the console alike.
"""

from __future__ import annotations

from sqlalchemy import Engine

from engine.access.users import UserRecord, UserStore

__all__ = ["candidates", "is_candidate"]


def candidates(engine: Engine, community: str) -> list[UserRecord]:
    """The people who may be responsible for a case in `community`, by name."""
    return [u for u in UserStore(engine).list()
            if u.principal.acting_roles and u.principal.sees(community)]


def is_candidate(engine: Engine, name: str, community: str) -> bool:
    return any(u.name == name for u in candidates(engine, community))
