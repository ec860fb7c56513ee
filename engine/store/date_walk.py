"""Reading a broad queue in the order of a date column (the follow-up day, the next
deadline) through that column's index, a window of dates at a time.

A plain `WHERE <scope and filters> ORDER BY <date>, ... LIMIT 26` over a district's 10,000
records lets SQLite's planner read the whole scope by its community index and sort it: a
page costs the scope. Here the page is read as `engine.store.work_queue` reads the queue
order: the next dates are found on the column's own index (`window` keys, whatever their
community), and the records of those dates that pass the filters are read by id, in the
page's full order. A window always ends after the last record of its last date, so records
of one date are never split between windows (their order within the date is the caller's
`order_by`). After `BUDGET` keys without a full page (filters that keep few of the
scope), the rest is read by the sorted query, so a page never costs much more than it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.store import work_queue
from engine.store.tables import CASES as cases

__all__ = ["by_date"]


def by_date(connection: Connection, filtered: sa.Select[Any], column: Any,
            order_by: tuple[Any, ...], want: int, cursor: Any | None,
            after_cursor: Any | None) -> list[RowMapping]:
    """Up to `want` rows of `filtered` whose `column` is set, in `order_by` (which begins
    with `column`), after the cursor: `cursor` is the cursor's date and `after_cursor` the
    condition of the rows after it (both None from the start)."""
    found: list[RowMapping] = []
    low, first = cursor, True
    walked, window = 0, work_queue.FIRST_WINDOW
    while len(found) < want:
        started = column.is_not(None) if low is None else (column >= low if first
                                                           else column > low)
        rest = sa.and_(started, after_cursor) if first and after_cursor is not None \
            else started
        if walked >= work_queue.BUDGET:
            return found + list(connection.execute(
                filtered.where(rest).order_by(*order_by).limit(want - len(found)))
                .mappings())
        dates = [row[0] for row in connection.execute(
            sa.select(column).where(started).order_by(column).limit(window))]
        if not dates:
            break
        walked += len(dates)
        ids = sa.select(cases.c.id).where(started, column <= dates[-1])
        found.extend(connection.execute(
            filtered.where(rest, column <= dates[-1], cases.c.id.in_(ids))
            .order_by(*order_by).limit(want - len(found))).mappings())
        if len(dates) < window:
            break
        low, first = dates[-1], False
        window = min(window * 2, work_queue.BUDGET)
    return found
