"""The SQL the service needs, on a connection the caller's transaction owns, one module
per concept:

    cases        a case's row: read (and locked), written under its version, next deadline
    case_list    the case list with its filters and orders; escalated cases
    events       appending events, a case's history, the events list
    ticks        checklist ticks
    links        links between cases
    timers       arming, cancelling, pausing, firing and listing timers
    idempotency  idempotency records
    parameters   community parameter overrides

Nothing here commits, rolls back or opens a transaction: `engine.service.door` owns each one.
Statements are SQLAlchemy Core on the SQLModel tables (no ORM session and identity map on
the hot path of a fire); the hot path's run on the driver's cursor (`engine.store.direct`).
Every listing pages by keyset (`engine.store.pages`). Callers use this package's names
(`from engine.store import repository as repo; repo.load_case(...)`).
"""

from __future__ import annotations

from engine.store.pages import CursorError, decode_cursor, encode_cursor
from engine.store.repository.case_list import escalated, list_cases
from engine.store.repository.cases import (
    HEAD_COLUMNS,
    case_heads,
    case_rows,
    case_version,
    head_columns,
    insert_case,
    load_case,
    load_case_and_overrides,
    load_for_change,
    next_due,
    refresh_next_due,
    set_next_due,
    update_case,
    write_change,
)
from engine.store.repository.events import (
    event_hash_at,
    events_of,
    events_of_cases,
    input_clause,
    insert_event,
    list_events,
)
from engine.store.repository.idempotency import find_idempotency, insert_idempotency
from engine.store.repository.links import delete_link, find_link, insert_link, links_of
from engine.store.repository.parameters import parameter_overrides, set_parameter
from engine.store.repository.ticks import current_ticks, delete_tick, insert_tick, ticks_of
from engine.store.repository.timers import (
    LIVE_TIMERS,
    TIMER_GROUPS,
    arm_timers,
    cancel_timer_rows,
    cancel_timers,
    due_timers,
    finish_timer,
    list_timers,
    pause_timers,
    resume_timers,
    timer_row,
    timers_of,
)

__all__ = [
    "HEAD_COLUMNS", "LIVE_TIMERS", "TIMER_GROUPS", "CursorError", "arm_timers",
    "cancel_timer_rows", "cancel_timers", "case_heads", "case_rows", "case_version",
    "current_ticks", "decode_cursor", "delete_link", "delete_tick", "due_timers",
    "encode_cursor", "escalated", "event_hash_at", "events_of", "events_of_cases",
    "find_idempotency", "find_link", "finish_timer", "head_columns", "input_clause",
    "insert_case", "insert_event", "insert_idempotency", "insert_link", "insert_tick",
    "links_of", "list_cases", "list_events", "list_timers", "load_case",
    "load_case_and_overrides", "load_for_change", "next_due", "parameter_overrides", "pause_timers",
    "refresh_next_due", "resume_timers", "set_next_due", "set_parameter", "ticks_of",
    "timer_row", "timers_of", "update_case", "write_change",
]
