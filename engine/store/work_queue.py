"""A page of the work queue read in queue order: highest priority first, then oldest.

The queue's order (`priority DESC, created_at, id`) mixes directions, so no index gives it
and a plain `ORDER BY ... LIMIT` reads and sorts every case of the reader's scope (all
10,000 of a district's to show 25). Here the page is read the way a person reads the
queue: one priority level at a time (the few distinct levels are found through the
`(priority, created_at)` index), each level in `(created_at, id)` order through that same
index, a window of keys at a time, keeping the rows that pass the filters until the page
is full. A page of a broad scope reads about its own rows.

Walking suits a broad queue. A narrow one (a title search, a person's own records, a
small community in a large installation: see `broad`) is read by the sorted query, which
then sorts few rows. When other filters keep few of a broad scope (a status or stage
rarely seen), after `BUDGET` keys the rest of the page is read with the sorted query from
where the walk stopped, so a page never costs much more than the sorted query alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.store.pages import Keyset
from engine.store.tables import CASES as cases

__all__ = ["BROAD", "BUDGET", "after", "broad", "by_priority", "sorted_from"]

BUDGET = 1000
"""Keys walked before the rest of a page is read by the sorted query."""
BROAD = 1500
"""A scope of at least this many cases is walked; a smaller one is read and sorted."""
FIRST_WINDOW = 64

WITHIN_LEVEL = Keyset((cases.c.created_at, cases.c.id), (datetime, str))
"""The order within a priority level: oldest first."""
Position = tuple[float, datetime | None, str | None]
"""Where the walk stands: a priority level, and the last (created_at, id) read in it."""


def broad(connection: Connection, scope: Any) -> bool:
    """Whether `scope` (a condition on `cases`, the reader's communities) holds at least
    `BROAD` cases: counted on its index, never further than that."""
    bounded = sa.select(sa.literal(1)).where(scope).limit(BROAD).subquery()
    return bool(connection.execute(sa.select(sa.func.count()).select_from(bounded))
                .scalar_one() >= BROAD)


def after(position: Position) -> Any:
    """Cases after `position` in its priority level."""
    level, created, case_id = position
    if created is None or case_id is None:
        return cases.c.priority == level
    return sa.and_(cases.c.priority == level, WITHIN_LEVEL.after((created, case_id)))


def _next_level(connection: Connection, below: float | None) -> float | None:
    """The highest priority of any case (below `below`): one step down the index."""
    query = sa.select(sa.func.max(cases.c.priority))
    if below is not None:
        query = query.where(cases.c.priority < below)
    found = connection.execute(query).scalar()
    return None if found is None else float(found)


def sorted_from(connection: Connection, filtered: sa.Select[Any], want: int,
                position: Position | None) -> list[RowMapping]:
    """Up to `want` rows in queue order after `position` (from the start without one), by
    the sorted query: what a narrow queue is read by, and the rest of a walk's page."""
    query = filtered
    if position is not None:
        query = query.where(sa.or_(after(position), cases.c.priority < position[0]))
    query = query.order_by(cases.c.priority.desc(), cases.c.created_at, cases.c.id)
    return list(connection.execute(query.limit(want)).mappings())


def by_priority(connection: Connection, filtered: sa.Select[Any], want: int,
                cursor: tuple[float, datetime, str] | None) -> list[RowMapping]:
    """Up to `want` rows of `filtered` (a select of `cases` with the queue's filters and
    no order) in queue order, after `cursor` (the last row of the previous page)."""
    found: list[RowMapping] = []
    level = cursor[0] if cursor is not None else _next_level(connection, None)
    if level is None:
        return found
    position: Position = cursor if cursor is not None else (level, None, None)
    walked, window = 0, FIRST_WINDOW
    while len(found) < want:
        if walked >= BUDGET:
            return found + sorted_from(connection, filtered, want - len(found), position)
        walk = WITHIN_LEVEL.order(sa.select(cases.c.created_at, cases.c.id)
                                  .where(after(position))).limit(window)
        keys = list(connection.execute(walk))
        if keys:
            walked += len(keys)
            # The window as a subquery, not a list of ids: given a long list, SQLite's
            # planner would rather read the whole scope by its community index.
            window_ids = sa.select(walk.subquery().c.id)
            found.extend(connection.execute(
                WITHIN_LEVEL.order(filtered.where(cases.c.id.in_(window_ids)))
                .limit(want - len(found)))
                .mappings())
            position = (position[0], keys[-1].created_at, keys[-1].id)
        if len(keys) == window:
            window = min(window * 2, BUDGET)
            continue
        # The level is done (fewer keys than asked): the next one down.
        following = _next_level(connection, position[0])
        if following is None:
            break
        position = (following, None, None)
    return found
