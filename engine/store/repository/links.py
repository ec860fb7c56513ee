"""Links between cases: made from one case to another, read from either side with the
other case's workflow, state and community (what guards of linked cases see)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from engine.store.direct import Direct
from engine.store.tables import CASES as cases
from engine.store.tables import LINKS as links

__all__ = ["delete_link", "find_link", "insert_link", "links_of"]


def _links_of(matches: Callable[[sa.Column[Any]], sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """The links of the cases `matches` selects, seen from each side (one statement)."""
    other = cases.alias("other")

    def side(own: sa.Column[Any], far: sa.Column[Any], direction: str) -> sa.Select[Any]:
        return (sa.select(own.label("case_id"), far.label("other_case_id"), links.c.relation,
                          sa.literal_column(f"'{direction}'", sa.String).label("direction"),
                          other.c.workflow_id, other.c.workflow_version, other.c.state,
                          other.c.community, links.c.id)
                .join(other, other.c.id == far)
                .where(matches(own)))

    union = sa.union_all(side(links.c.case_id, links.c.other_case_id, "outgoing"),
                         side(links.c.other_case_id, links.c.case_id, "incoming")).subquery()
    return sa.select(union).order_by(union.c.case_id, union.c.id)


_links_of_cases = _links_of(lambda own: own.in_(sa.bindparam("ids", expanding=True)))
_direct_links_of_one = Direct(_links_of(lambda own: own == sa.bindparam("case_id")))
_find_link = sa.select(links).where(sa.or_(
    sa.and_(links.c.case_id == sa.bindparam("a"), links.c.other_case_id == sa.bindparam("b")),
    sa.and_(links.c.case_id == sa.bindparam("b"), links.c.other_case_id == sa.bindparam("a"))))
_delete_link = sa.delete(links).where(links.c.id == sa.bindparam("link_id"))


def links_of(connection: Connection, case_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every link touching the cases, seen from each side, with the other case's state.

    Columns: `case_id` (one of `case_ids`), `other_case_id`, `relation`, `direction`
    (`outgoing` when the link was made from `case_id`), `workflow_id`, `state`, `community`
    (of the other case).
    """
    if not case_ids:
        return []
    if len(case_ids) == 1:
        return _direct_links_of_one.rows(connection, {"case_id": case_ids[0]})
    found = connection.execute(_links_of_cases, {"ids": list(case_ids)}).mappings()
    return [dict(r) for r in found]


def find_link(connection: Connection, case_id: str, other_case_id: str) -> RowMapping | None:
    """The link between the two cases, made from either side."""
    return connection.execute(_find_link, {"a": case_id, "b": other_case_id}
                              ).mappings().first()


def insert_link(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(links.insert(), dict(values))


def delete_link(connection: Connection, link_id: int) -> None:
    connection.execute(_delete_link, {"link_id": link_id})
