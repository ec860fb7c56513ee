"""What a person keeps for themselves: work-queue filters saved under names of their own.

A saved filter is the queue's query string (`workflow=...&overdue=1`); the queue reads it
back through the same parsing as a typed one, so a filter that names a workflow no longer
shown simply drops that part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.store.db import read_connection, write_connection
from engine.store.tables import SAVED_FILTERS

__all__ = ["SavedFilterView", "SavedFilters"]

FILTERS: sa.Table = SAVED_FILTERS
MAX_PER_PERSON = 50


@dataclass(frozen=True)
class SavedFilterView:
    name: str
    query: str


class SavedFilters:
    """Saved queue filters in the `saved_filters` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self, user_id: str) -> list[SavedFilterView]:
        query = (sa.select(FILTERS.c.name, FILTERS.c.query)
                 .where(FILTERS.c.user_id == user_id).order_by(FILTERS.c.name)
                 .limit(MAX_PER_PERSON))
        with read_connection(self.engine) as connection:
            return [SavedFilterView(r.name, r.query) for r in connection.execute(query)]

    def save(self, user_id: str, name: str, query: str, *, now: datetime) -> None:
        """Save (or replace) the filter called `name`."""
        with write_connection(self.engine) as connection:
            connection.execute(FILTERS.delete().where(FILTERS.c.user_id == user_id,
                                                      FILTERS.c.name == name))
            count = connection.execute(sa.select(sa.func.count()).select_from(FILTERS)
                                       .where(FILTERS.c.user_id == user_id)).scalar_one()
            if count < MAX_PER_PERSON:
                connection.execute(FILTERS.insert().values(user_id=user_id, name=name,
                                                           query=query, created_at=now))

    def delete(self, user_id: str, name: str) -> None:
        with write_connection(self.engine) as connection:
            connection.execute(FILTERS.delete().where(FILTERS.c.user_id == user_id,
                                                      FILTERS.c.name == name))
