"""The case list: every filter a queue or a search applies, in the queue's orders
(`engine.store.queue_orders`) or most recently changed first, keyset-paginated; and which
cases are escalated in their current state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.access.principals import community_scope
from engine.store import queue_orders, work_queue
from engine.store.pages import Keyset
from engine.store.tables import CASES as cases
from engine.store.tables import EVENTS as events

__all__ = ["UPDATED_ORDER", "escalated", "list_cases"]

UPDATED_ORDER = Keyset((cases.c.updated_at, cases.c.id), (datetime, str), descending=True)
"""Most recently changed first."""


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_cases(connection: Connection, *, workflow_id: str | None, state: str | None,
               community_prefix: str | None, overdue: bool | None, text: str | None,
               order: Literal["priority", "updated", "follow_up", "deadline"], limit: int,
               cursor: str | None, status: str | None = None,
               hidden_titles: Sequence[tuple[str, str]] = (),
               assignee: str | None = None, unassigned: bool = False,
               follow_up_by: date | None = None, escalated: bool | None = None
               ) -> tuple[list[RowMapping], str | None]:
    query = sa.select(cases)
    if escalated is not None:
        flagged = _escalations_in_state().exists()
        query = query.where(flagged if escalated else sa.not_(flagged))
    if assignee is not None:
        query = query.where(cases.c.assignee == assignee)
    if unassigned:
        query = query.where(cases.c.assignee.is_(None))
    if follow_up_by is not None:  # a follow-up due: like a deadline, on or before the day
        query = query.where(cases.c.follow_up_on <= follow_up_by)
    if workflow_id is not None:
        query = query.where(cases.c.workflow_id == workflow_id)
    if state is not None:
        query = query.where(cases.c.state == state)
    if status is not None:
        query = query.where(cases.c.status == status)
    scope = community_scope(cases.c.community, community_prefix) if community_prefix else None
    if scope is not None:
        query = query.where(scope)
    if overdue is not None:
        query = query.where(cases.c.overdue == overdue)
    if text:
        pattern = f"%{_like_escape(text)}%"
        # SQLite's LIKE already ignores ASCII case (as its lower() does): plain LIKE is
        # the same match, evaluated on the index of the scope without a call per row.
        title: sa.ColumnElement[bool] = (
            cases.c.title.like(pattern, escape="\\") if connection.dialect.name == "sqlite"
            else cases.c.title.ilike(pattern, escape="\\"))
        if hidden_titles:  # titles the reader sees masked are not searched
            title = sa.and_(title, sa.tuple_(cases.c.workflow_id, cases.c.workflow_version)
                            .not_in(list(hidden_titles)))
        query = query.where(sa.or_(title, cases.c.id == text))
    if order != "updated":
        # A broad queue is walked in queue order; a narrow one is read and sorted.
        walk = not (text or assignee is not None or follow_up_by is not None) and (
            scope is None or work_queue.broad(connection, scope))
        return queue_orders.page(connection, order, query, limit, cursor, walk)
    return UPDATED_ORDER.page(connection, query, limit, cursor)


def _escalations_in_state() -> sa.Select[Any]:
    """The escalation events of a case (correlated with `cases`) since it entered its
    current state: what makes a case escalated, for the flag, the badge and the filter.

    Since: at or after `entered_at`, and followed by no event that moved the case (an
    escalation timer fired ahead of a transition in the same change shares its time).
    """
    later = events.alias("moved")
    moved = sa.exists().where(later.c.case_id == events.c.case_id,
                              later.c.seq > events.c.seq,
                              later.c.kind.in_(("transition", "migration")),
                              later.c.from_state != later.c.to_state)
    return (sa.select(events.c.at)
            .where(events.c.case_id == cases.c.id, events.c.kind == "escalation",
                   events.c.at >= cases.c.entered_at, sa.not_(moved)))


def escalated(connection: Connection, case_ids: list[str]) -> dict[str, datetime]:
    """Those of these cases escalated since they entered their state, each with the time
    of its latest escalation (one query for a page of cases)."""
    if not case_ids:
        return {}
    rows = connection.execute(_escalated_query(), {"ids": case_ids})
    return {row.id: row.at for row in rows if row.at is not None}


@cache
def _escalated_query() -> sa.Select[Any]:
    """`escalated`'s statement, built once: the case page and every change read it, and
    building the correlated subqueries cost a fifth of a `GET /cases/{id}`."""
    latest = _escalations_in_state().with_only_columns(sa.func.max(events.c.at))
    return (sa.select(cases.c.id, latest.scalar_subquery().label("at"))
            .where(cases.c.id.in_(sa.bindparam("ids", expanding=True))))
