"""The case row's `next_due`: the due time of its soonest pending timer, kept equal to its
timers by the door.

The locked read of every change reads `next_due` to learn whether a timer fell due before
the change (`engine.service.firing`), and a queue page shows it: both need it exact. The
door knows what most timer writes do to it without asking the database (arming takes the
earlier time, pausing leaves none, cancelling when none is pending changes nothing), and
such a value goes into the UPDATE of the case row that the change writes anyway
(`planned`). What it cannot know (some timers cancelled, paused ones resumed, a fired
timer marked) leaves the value unknown until the door is done with the case: then one
UPDATE reads it back from the timers (`settle`).

Every door path that writes timers ends with `settle` on the case it wrote; the test
tests/test_next_due.py compares the column with the timers after each kind of write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection

from engine.core.change import (
    ArmTimers,
    CancelTimers,
    Effect,
    KeepTimers,
    PauseTimers,
    ResumeTimers,
)
from engine.service.loading import Loaded
from engine.store import repository as repo

__all__ = ["after", "armed", "finished", "planned", "settle", "soonest"]

Due = tuple[datetime | None, bool]
"""The soonest pending due time, and whether it is known (False: read it back)."""


def soonest(dues: Iterable[datetime | None]) -> datetime | None:
    """The earliest of these times (None when there is none)."""
    present = [due for due in dues if due is not None]
    return min(present) if present else None


def after(due: datetime | None, known: bool, effects: Iterable[Effect]) -> Due:
    """What `effects`, written in order, leave of the soonest pending due time (pure)."""
    for effect in effects:
        match effect:
            case ArmTimers(plans):
                due = soonest([due, *(plan.due_at for plan in plans)])
            case PauseTimers():
                due, known = None, True  # every pending timer is paused
            case CancelTimers() | KeepTimers():
                # Which pending timers go is the database's to say; with none pending,
                # none can go.
                known = known and due is None
            case ResumeTimers():
                known = False  # due again after the time each had left: stored per row
    return due, known


def planned(loaded: Loaded, effects: Iterable[Effect]) -> dict[str, datetime | None]:
    """Take `effects` into account; the `next_due` column to write with the case row when
    its new value is known and differs from the stored one, else nothing."""
    loaded.next_due, loaded.next_due_known = after(loaded.next_due, loaded.next_due_known,
                                                   effects)
    if not loaded.next_due_known or loaded.next_due == loaded.stored_next_due:
        return {}
    loaded.stored_next_due = loaded.next_due
    return {"next_due": loaded.next_due}


def armed(loaded: Loaded, dues: Iterable[datetime]) -> None:
    """Timers with these due times were armed (pending) on the case."""
    loaded.next_due = soonest([loaded.next_due, *dues])


def finished(loaded: Loaded, due: datetime) -> None:
    """A timer due at `due` is no longer pending (it fired): when it may have been the
    soonest, the next one is the database's to say."""
    if loaded.next_due is not None and due <= loaded.next_due:
        loaded.next_due_known = False


def settle(connection: Connection, loaded: Loaded) -> None:
    """Store the case's `next_due` if it moved since it was stored, reading it back from
    the timers when it is not known."""
    if not loaded.next_due_known:
        loaded.next_due = repo.refresh_next_due(connection, loaded.id)
        loaded.next_due_known = True
        loaded.stored_next_due = loaded.next_due
    elif loaded.next_due != loaded.stored_next_due:
        repo.set_next_due(connection, loaded.id, loaded.next_due)
        loaded.stored_next_due = loaded.next_due
