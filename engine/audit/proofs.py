"""Integrity proofs within a community: chain verification and checkpoints of the cases
under a community prefix, or of the whole store when there is none. One loop does both
(`engine.audit.verify`); this module names the scoped forms the API and console call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from engine.audit.verify import heads, verify
from engine.ledger.chain import ChainBreak, Checkpoint

__all__ = ["checkpoint_scope", "verify_scope"]


def verify_scope(engine: Engine, community_prefix: str | None = None) -> list[ChainBreak]:
    """The first break of every case in the community (None: the whole store, with its
    guards and operations log)."""
    return verify(engine, community_prefix=community_prefix or None)


def checkpoint_scope(engine: Engine, now: datetime,
                     community_prefix: str | None = None) -> Checkpoint:
    """The heads of the community's cases (None: every case) at `now` (the caller's clock)
    and their digest."""
    return Checkpoint.take(heads(engine, community_prefix or None), now)
