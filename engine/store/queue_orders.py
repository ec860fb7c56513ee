"""The work queue in the orders a caseworker sorts it by, each a page and the cursor after
it: the queue's own order (priority, then oldest: `engine.store.work_queue`), the
follow-up date a person set for themselves (soonest first), and the next deadline (the
soonest pending timer of the record, kept on the record as `next_due`). Records without a
follow-up date, or without a pending deadline, come after those with one, in queue order.

A cursor of these two orders names the part of the list it stands in (`f` or `d`: records
with a date; `q`: the rest, in queue order), so a page may end in one part and the next
begin in the other. The queue order's own cursor is the keys of its last row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.store import date_walk, work_queue
from engine.store.pages import CursorError, Keyset, decode_cursor, encode_cursor
from engine.store.tables import CASES as cases

__all__ = ["ORDERS", "QueueOrder", "page"]

QueueOrder = Literal["priority", "follow_up", "deadline"]
ORDERS: tuple[str, ...] = ("priority", "follow_up", "deadline")
QUEUE_KEYS = (float, datetime, str)
SHAPES: dict[str, tuple[type, ...]] = {
    "q": QUEUE_KEYS, "f": (str, *QUEUE_KEYS), "d": (datetime, str)}
BY_DEADLINE = Keyset((cases.c.next_due, cases.c.id), (datetime, str))
"""Records with a pending deadline: soonest first (`cases.next_due`), then by id."""


def _read(cursor: str, tags: str) -> tuple[str, list[Any]]:
    """The part a cursor stands in (one of `tags`) and its keys."""
    for tag in tags:
        try:
            values = decode_cursor(cursor, (str, *SHAPES[tag]))
        except CursorError:
            continue
        if values[0] == tag:
            return tag, values[1:]
    raise CursorError(f"not a cursor of this order ({tags})")


def _queue_after(keys: list[Any]) -> tuple[float, datetime, str]:
    return float(keys[0]), keys[1], str(keys[2])


def _rest(connection: Connection, filtered: sa.Select[Any], want: int,
          after: tuple[float, datetime, str] | None, walk: bool) -> list[RowMapping]:
    """Up to `want` rows in queue order after `after`: walked, or read sorted."""
    if walk:
        return work_queue.by_priority(connection, filtered, want, after)
    return work_queue.sorted_from(connection, filtered, want, after)


def _queue_cursor(row: RowMapping) -> list[Any]:
    return ["q", row["priority"], row["created_at"], row["id"]]


def page(connection: Connection, order: QueueOrder, filtered: sa.Select[Any], limit: int,
         cursor: str | None, walk: bool) -> tuple[list[RowMapping], str | None]:
    """A page of `filtered` (a select of `cases` with the queue's filters) in `order`.

    `walk`: the queue is broad enough to be walked in queue order (see
    `engine.store.work_queue`); otherwise its queue-ordered part is read sorted.
    """
    want = limit + 1
    if order == "priority":  # its cursor untagged, as it has always been
        after = _queue_after(decode_cursor(cursor, QUEUE_KEYS)) if cursor is not None else None
        rows = _rest(connection, filtered, want, after, walk)
        cursors = [_queue_cursor(row)[1:] for row in rows]
    elif order == "follow_up":
        rows, cursors = _by_follow_up(connection, filtered, want, cursor, walk)
    else:
        rows, cursors = _by_deadline(connection, filtered, want, cursor, walk)
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(cursors[limit - 1])


def _by_follow_up(connection: Connection, filtered: sa.Select[Any], want: int,
                  cursor: str | None, walk: bool) -> tuple[list[RowMapping], list[Any]]:
    """Records with a follow-up date, soonest first (then in queue order), then the rest."""
    tag, keys = _read(cursor, "fq") if cursor is not None else ("f", None)
    rows: list[RowMapping] = []
    cursors: list[Any] = []
    if tag == "f":
        dated = filtered.where(cases.c.follow_up_on.is_not(None))
        if keys is not None:
            try:
                on = date.fromisoformat(keys[0])
            except ValueError as error:
                raise CursorError(str(error)) from error
            same = sa.and_(cases.c.follow_up_on == on, sa.or_(
                work_queue.after(_queue_after(keys[1:])), cases.c.priority < keys[1]))
            beyond: Any = sa.or_(cases.c.follow_up_on > on, same)
        order_by = (cases.c.follow_up_on, cases.c.priority.desc(), cases.c.created_at,
                    cases.c.id)
        if walk:
            rows = date_walk.by_date(connection, filtered, cases.c.follow_up_on, order_by,
                                     want, on if keys is not None else None,
                                     beyond if keys is not None else None)
        else:
            if keys is not None:
                dated = dated.where(beyond)
            rows = list(connection.execute(dated.order_by(*order_by).limit(want))
                        .mappings())
        cursors = [["f", row["follow_up_on"].isoformat(), *_queue_cursor(row)[1:]]
                   for row in rows]
        keys = None
    if len(rows) < want:
        after = _queue_after(keys) if keys is not None else None
        rest = _rest(connection, filtered.where(cases.c.follow_up_on.is_(None)),
                     want - len(rows), after, walk)
        rows += rest
        cursors += [_queue_cursor(row) for row in rest]
    return rows, cursors


def _by_deadline(connection: Connection, filtered: sa.Select[Any], want: int,
                 cursor: str | None, walk: bool) -> tuple[list[RowMapping], list[Any]]:
    """Records by their soonest pending deadline (`cases.next_due`, which the door keeps
    equal to the soonest pending timer: `engine.service.deadlines`), then by id; then
    those with none, in queue order. Indexed: a page reads its rows, not the scope."""
    tag, keys = _read(cursor, "dq") if cursor is not None else ("d", None)
    rows: list[RowMapping] = []
    cursors: list[Any] = []
    if tag == "d":
        dated = filtered.where(cases.c.next_due.is_not(None))
        due, beyond = None, None
        if keys is not None:
            due, beyond = keys[0], BY_DEADLINE.after(keys)
        order_by = BY_DEADLINE.columns
        if walk:
            rows = date_walk.by_date(connection, filtered, cases.c.next_due, order_by,
                                     want, due, beyond)
        else:
            if beyond is not None:
                dated = dated.where(beyond)
            rows = list(connection.execute(dated.order_by(*order_by).limit(want))
                        .mappings())
        cursors = [["d", row["next_due"], row["id"]] for row in rows]
        keys = None
    if len(rows) < want:
        after = _queue_after(keys) if keys is not None else None
        undated = filtered.where(cases.c.next_due.is_(None))
        rest = _rest(connection, undated, want - len(rows), after, walk)
        rows += rest
        cursors += [_queue_cursor(row) for row in rest]
    return rows, cursors
