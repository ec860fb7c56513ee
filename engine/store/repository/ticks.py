"""Checklist ticks: an item ticked during one entry into a state (a later entry into the
same state starts with none ticked)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.store.direct import ByShape, Direct, listed, numbered
from engine.store.tables import TICKS as ticks

__all__ = ["current_ticks", "delete_tick", "insert_tick", "ticks_of"]

_ticks_of = (sa.select(ticks).where(ticks.c.case_id.in_(sa.bindparam("ids", expanding=True)))
             .order_by(ticks.c.id))
_delete_tick = sa.delete(ticks).where(ticks.c.id == sa.bindparam("tick_id"))
_direct_ticks = ByShape(lambda n: Direct(
    sa.select(ticks).where(ticks.c.case_id == sa.bindparam("case_id"),
                           ticks.c.entry_seq.in_(listed("seq", n))).order_by(ticks.c.id)))


def ticks_of(connection: Connection, case_ids: Sequence[str]) -> list[RowMapping]:
    """Ticks of the cases (all entries; callers keep those of the current entries)."""
    if not case_ids:
        return []
    return list(connection.execute(_ticks_of, {"ids": list(case_ids)}).mappings())


def current_ticks(connection: Connection, case_id: str,
                  entries: Mapping[str, int]) -> list[dict[str, Any]]:
    """Ticks made during the current entry into each of the case's active states."""
    if not entries:
        return []
    seqs = sorted(set(entries.values()))
    rows = _direct_ticks[len(seqs)].rows(connection, {"case_id": case_id,
                                                      **numbered("seq", seqs)})
    return [r for r in rows if entries.get(r["state"]) == r["entry_seq"]]


def insert_tick(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(ticks.insert(), dict(values))


def delete_tick(connection: Connection, tick_id: int) -> None:
    connection.execute(_delete_tick, {"tick_id": tick_id})
