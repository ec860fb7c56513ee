"""Community parameters: a workflow's declared parameters overridden for a community and
everything under it; the most specific override applies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from engine.store.direct import ByShape, Direct, listed, numbered
from engine.store.tables import PARAMETERS as parameters

__all__ = ["community_prefixes", "most_specific", "parameter_overrides", "set_parameter"]

_direct_overrides = ByShape(lambda n: Direct(
    sa.select(parameters.c.community, parameters.c.name, parameters.c.value).where(
        parameters.c.workflow_id == sa.bindparam("workflow_id"),
        parameters.c.community.in_(listed("prefix", n)))))


def community_prefixes(community: str) -> list[str]:
    """'a/b/c' -> ['', 'a', 'a/b', 'a/b/c']: least specific first."""
    parts = [p for p in community.split("/") if p]
    return [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]


def parameter_overrides(connection: Connection, workflow_id: str,
                        community: str) -> dict[str, Any]:
    """Overrides for a case of `workflow_id` in `community`; the most specific wins."""
    prefixes = community_prefixes(community)
    rows = _direct_overrides[len(prefixes)].rows(
        connection, {"workflow_id": workflow_id, **numbered("prefix", prefixes)})
    return most_specific((r["community"], r["name"], r["value"]) for r in rows)


def most_specific(overrides: Iterable[tuple[str, str, Any]]) -> dict[str, Any]:
    """Override values by name from `(community, name, value)`s that all apply: where two
    name the same parameter, the more specific (longer) community wins."""
    values: dict[str, Any] = {}
    for _, name, value in sorted(overrides, key=lambda override: len(override[0])):
        values[name] = value
    return values


def set_parameter(connection: Connection, community: str, workflow_id: str, name: str,
                  value: Any, now: datetime) -> None:
    """Insert or replace one override."""
    where = (parameters.c.community == community, parameters.c.workflow_id == workflow_id,
             parameters.c.name == name)
    updated = connection.execute(
        sa.update(parameters).where(*where).values(value=value, updated_at=now))
    if updated.rowcount == 0:
        connection.execute(sa.insert(parameters).values(
            community=community, workflow_id=workflow_id, name=name, value=value,
            updated_at=now))

