"""Timers: armed when a state is entered, cancelled when it is left, paused and resumed
with their case, fired once (claims are made in `engine.timers.worker`), and listed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.access.principals import community_scope
from engine.core.decision import TimerPlan
from engine.store.direct import ByShape, Direct, listed, numbered
from engine.store.pages import CursorError, Keyset, cut, decode_cursor
from engine.store.tables import CASES as cases
from engine.store.tables import TIMERS as timers

__all__ = ["LIVE_TIMERS", "TIMER_GROUPS", "TIMER_ORDER", "arm_timers", "cancel_timer_rows",
           "cancel_timers", "due_timers", "finish_timer", "list_timers", "pause_timers",
           "resume_timers", "timer_row", "timers_of"]

LIVE_TIMERS = ("pending", "paused")
TIMER_GROUPS = (LIVE_TIMERS, ("fired", "cancelled"))
"""How timers are listed: the live ones (still to fall due) first, then those done with."""
TIMER_ORDER = Keyset((timers.c.due_at, timers.c.id), (datetime, int))
"""The order within each group: soonest due first, then as armed."""

_timers_with_status = sa.select(timers).where(timers.c.case_id == sa.bindparam("case_id"),
                                              timers.c.status == sa.bindparam("w_status"))
_update_timer = sa.update(timers).where(timers.c.id == sa.bindparam("w_id"))
_timer_by_id = sa.select(timers).where(timers.c.id == sa.bindparam("timer_row"))
_finish_timer = (sa.update(timers).where(timers.c.id == sa.bindparam("w_id"))
                 .values(status="fired", fired_at=sa.bindparam("w_at"),
                         outcome=sa.bindparam("w_outcome"), claimed_until=None))
_direct_cancel_base = (sa.update(timers)
                       .where(timers.c.case_id == sa.bindparam("w_case_id"),
                              timers.c.status.in_([sa.bindparam(f"live{i}", status)
                                                   for i, status in enumerate(LIVE_TIMERS)]))
                       .values(status="cancelled"))
_direct_cancel_timers = Direct(_direct_cancel_base)
_direct_cancel_state_timers = ByShape(lambda n: Direct(_direct_cancel_base.where(
    timers.c.state.in_(listed("state", n)))))
_direct_due_timers = Direct(
    sa.select(timers).where(timers.c.case_id == sa.bindparam("case_id"),
                            timers.c.status == sa.bindparam("w_status"),
                            timers.c.due_at <= sa.bindparam("now"))
    .order_by(timers.c.due_at, timers.c.id))


def arm_timers(connection: Connection, case_id: str, plans: Iterable[TimerPlan],
               now: datetime) -> None:
    rows = [{"case_id": case_id, "state": p.state, "timer_id": p.timer_id,
             "due_at": p.due_at, "action": p.action, "trigger": p.trigger,
             "repeat": p.repeat, "status": "pending", "created_at": now} for p in plans]
    if rows:
        connection.execute(timers.insert(), rows)


def cancel_timers(connection: Connection, case_id: str,
                  states: Iterable[str] | None = None) -> None:
    """Cancel the live timers of the case (only those owned by `states`, when given)."""
    if states is None:
        _direct_cancel_timers.write(connection, {"w_case_id": case_id})
        return
    owned = list(dict.fromkeys(states))
    if owned:
        _direct_cancel_state_timers[len(owned)].write(
            connection, {"w_case_id": case_id, **numbered("state", owned)})


def pause_timers(connection: Connection, case_id: str, now: datetime) -> None:
    """Pending timers stop, remembering how long they still had to run."""
    rows = connection.execute(_timers_with_status,
                              {"case_id": case_id, "w_status": "pending"}).mappings().all()
    for row in rows:
        remaining = max((row["due_at"] - now).total_seconds(), 0.0)
        connection.execute(_update_timer, {"w_id": row["id"], "status": "paused",
                                           "remaining_seconds": remaining})


def resume_timers(connection: Connection, case_id: str, now: datetime) -> None:
    """Paused timers run again for the time they had left."""
    rows = connection.execute(_timers_with_status,
                              {"case_id": case_id, "w_status": "paused"}).mappings().all()
    for row in rows:
        due = now + timedelta(seconds=row["remaining_seconds"] or 0.0)
        connection.execute(_update_timer, {"w_id": row["id"], "status": "pending",
                                           "remaining_seconds": None, "due_at": due})


def timers_of(connection: Connection, case_id: str) -> list[RowMapping]:
    return list(connection.execute(
        sa.select(timers).where(timers.c.case_id == case_id).order_by(timers.c.id)
    ).mappings())


def cancel_timer_rows(connection: Connection, timer_ids: Sequence[int]) -> None:
    """Cancel these timers (a migration drops those its new version no longer defines)."""
    for timer_id in timer_ids:
        connection.execute(_update_timer, {"w_id": timer_id, "status": "cancelled"})


def due_timers(connection: Connection, case_id: str, now: datetime) -> list[dict[str, Any]]:
    """The case's pending timers due at `now`, oldest first (claimed or not)."""
    return _direct_due_timers.rows(connection, {"case_id": case_id, "w_status": "pending",
                                                "now": now})


def timer_row(connection: Connection, timer_row_id: int) -> RowMapping | None:
    """One timer row by its id."""
    return connection.execute(_timer_by_id, {"timer_row": timer_row_id}).mappings().first()


def finish_timer(connection: Connection, timer_row_id: int, *, outcome: str,
                 now: datetime) -> None:
    """The timer has done its work: status `fired`, when, and what came of it (JSON)."""
    connection.execute(_finish_timer, {"w_id": timer_row_id, "w_at": now,
                                       "w_outcome": outcome})


def list_timers(connection: Connection, *, case_id: str | None, due_before: datetime | None,
                status: str | None, community_prefix: str | None, now: datetime,
                limit: int, cursor: str | None, state: str | None = None
                ) -> tuple[list[RowMapping], str | None]:
    """Timers still to fall due first, then fired and cancelled ones, each group soonest
    due first; keyset-paginated on (group, due_at, id), one indexed range per group.

    `status` is a stored status, or `claimed`: pending with a lease still running at `now`
    (a worker is firing it); `pending` then means pending and not claimed. `state` is the
    state that armed the timer.
    """
    query = sa.select(timers)
    if case_id is not None:
        query = query.where(timers.c.case_id == case_id)
    if state is not None:
        query = query.where(timers.c.state == state)
    if due_before is not None:
        query = query.where(timers.c.due_at < due_before)
    leased = sa.and_(timers.c.claimed_until.is_not(None), timers.c.claimed_until >= now)
    if status == "claimed":
        query = query.where(timers.c.status == "pending", leased)
    elif status == "pending":
        query = query.where(timers.c.status == "pending", sa.not_(leased))
    elif status is not None:
        query = query.where(timers.c.status == status)
    if community_prefix:
        scoped = sa.select(cases.c.id).where(community_scope(cases.c.community,
                                                             community_prefix))
        query = query.where(timers.c.case_id.in_(scoped))
    # The cursor: the group of the last row, then its keys in the group's order.
    first, after = 0, None
    if cursor is not None:
        first, *after = decode_cursor(cursor, (int, *TIMER_ORDER.kinds))
        if not 0 <= first < len(TIMER_GROUPS):
            raise CursorError("no such group")
    groups: list[int] = []
    rows: list[RowMapping] = []
    for group in range(first, len(TIMER_GROUPS)):
        statuses = timers.c.status.in_(TIMER_GROUPS[group])
        read = TIMER_ORDER.read(connection, query.where(statuses), limit + 1 - len(rows),
                                after if group == first else None)
        groups += [group] * len(read)
        rows += read
        if len(rows) > limit:
            break
    return cut(rows, limit, lambda last: [groups[limit - 1], *TIMER_ORDER.keys_of(last)])
