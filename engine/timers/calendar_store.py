"""Imported holiday notices in the database, and the working-day calendar kept in step.

`hatchery calendar import FILE` stores a notice (`import_notice`, one transaction plus an
entry in the operations log); every process loads the stored notices into the shared
working-day calendar when it starts (`load_notices`, called by `build_service`) and when it
reports its readiness, so that a new year's notice reaches running services without a new
release. The calendar itself stays pure (`engine.timers.calendar`).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.store.db import read_connection, write_connection
from engine.store.operations import record as record_operation
from engine.store.tables import CALENDAR_NOTICES
from engine.timers.calendar import WorkingCalendar, default_calendar
from engine.timers.holiday_notice import HolidayNotice

__all__ = ["import_notice", "load_notices", "stored_notices"]

NOTICES = CALENDAR_NOTICES


def _hash(notice: HolidayNotice) -> str:
    canonical = "|".join([str(notice.year), notice.notice,
                          ",".join(sorted(d.isoformat() for d in notice.days_off)),
                          ",".join(sorted(d.isoformat() for d in notice.working_days))])
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _from_row(row: sa.RowMapping) -> HolidayNotice:
    return HolidayNotice(int(row["year"]), str(row["notice"]),
                         frozenset(date.fromisoformat(d) for d in row["days_off"]),
                         frozenset(date.fromisoformat(d) for d in row["working_days"]))


def stored_notices(engine: Engine) -> list[HolidayNotice]:
    """Every imported notice, by year."""
    with read_connection(engine) as connection:
        rows = connection.execute(sa.select(NOTICES).order_by(NOTICES.c.year)).mappings()
        return [_from_row(row) for row in rows]


def import_notice(engine: Engine, notice: HolidayNotice, *, actor: str, at: datetime,
                  calendar: WorkingCalendar | None = None) -> bool:
    """Store `notice` (replacing an earlier import for its year) and use it at once in
    `calendar` (the shared one by default). False when the same notice was already there."""
    digest = _hash(notice)
    values = {"notice": notice.notice,
              "days_off": sorted(d.isoformat() for d in notice.days_off),
              "working_days": sorted(d.isoformat() for d in notice.working_days),
              "content_hash": digest, "imported_at": at, "imported_by": actor[:200]}
    with write_connection(engine) as connection:
        found = connection.execute(sa.select(NOTICES.c.content_hash).where(
            NOTICES.c.year == notice.year)).scalar_one_or_none()
        if found == digest:
            changed = False
        elif found is None:
            connection.execute(NOTICES.insert(), {"year": notice.year, **values})
            changed = True
        else:
            connection.execute(NOTICES.update().where(NOTICES.c.year == notice.year), values)
            changed = True
    if changed:
        record_operation(engine, actor=actor, action="calendar_import", at=at,
                         target=str(notice.year),
                         detail={"notice": notice.notice, "days_off": len(notice.days_off),
                                 "working_days": len(notice.working_days),
                                 "content_hash": digest})
    (calendar or default_calendar()).add_notice(notice)
    return changed


def load_notices(engine: Engine, calendar: WorkingCalendar | None = None) -> int:
    """Load every stored notice into `calendar` (the shared one by default); how many."""
    target = calendar or default_calendar()
    notices = stored_notices(engine)
    for notice in notices:
        target.add_notice(notice)
    return len(notices)
