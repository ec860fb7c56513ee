"""Writing a change the core decided: the case row (version-checked), the event chained
to the case's head, then the change's effects; and the automatic transitions that follow,
written the same way. Every function runs in the caller's transaction and commits
nothing; the `Loaded` case is brought up to date as it is written."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.clock import Clock
from engine.core import operations as core
from engine.core.change import (
    AddLink,
    AddTick,
    ArmTimers,
    CancelTimers,
    Change,
    Effect,
    KeepTimers,
    PauseTimers,
    Record,
    RemoveLink,
    RemoveTick,
    ResumeTimers,
)
from engine.core.decision import priority
from engine.errors import Conflict
from engine.ledger.chain import chain_event
from engine.service import deadlines
from engine.service.loading import Loaded
from engine.service.views import EVENT_VIEW_FIELDS as _VIEW_FIELDS
from engine.service.views import EventView, built
from engine.store import repository as repo
from engine.store.operations import record_in

__all__ = ["automatic", "insert_event", "priority_moved", "reprioritise", "write"]

log = logging.getLogger("hatchery.service")


def write(connection: Connection, loaded: Loaded, change: Change, now: datetime) -> EventView:
    """Write one change: the case row (version-checked), its chained event, its effects."""
    row = loaded.row
    version, seq, prev = row["version"], row["event_count"] + 1, row["head_hash"]
    body = {**change.event, "case_id": row["id"], "seq": seq}
    digest, canonical = chain_event(prev, body)
    update = {**change.values, "version": version + 1, "event_count": seq,
              "head_hash": digest, "updated_at": now}
    next_due = deadlines.planned(loaded, change.effects)
    values = _event_values(body, prev, digest)
    if not repo.write_change(connection, row["id"], version, {**update, **next_due},
                             {**values, "body": canonical}):
        current = repo.case_version(connection, row["id"])
        raise Conflict(row["id"], version, current if current is not None else -1)
    event = built(EventView, values)
    row.update(update)
    if change.workflow is not None:
        loaded.wf = change.workflow
        loaded.params = dict(change.params or {})
    for effect in change.effects:
        _effect(connection, loaded, effect, now)
    if "state_entries" in change.values:
        entries = row["state_entries"]
        items = loaded.wf.checklist_of(row["state"])
        loaded.ticks = [t for t in loaded.ticks
                        if entries.get(t["state"]) == t["entry_seq"] and t["item"] in items]
    loaded.state_changed = loaded.state_changed or change.moved
    return event


def _effect(connection: Connection, loaded: Loaded, effect: Effect, now: datetime) -> None:
    case_id = loaded.id
    match effect:
        case ArmTimers(plans):
            repo.arm_timers(connection, case_id, plans, now)
        case CancelTimers(states):
            repo.cancel_timers(connection, case_id, states)
        case KeepTimers(keep):
            repo.cancel_timer_rows(connection, [
                t["id"] for t in repo.timers_of(connection, case_id)
                if t["status"] in repo.LIVE_TIMERS and (t["state"], t["timer_id"]) not in keep])
        case PauseTimers():
            repo.pause_timers(connection, case_id, now)
        case ResumeTimers():
            repo.resume_timers(connection, case_id, now)
        case AddTick(state, entry_seq, item, evidence, actor):
            tick = {"case_id": case_id, "state": state, "entry_seq": entry_seq, "item": item,
                    "evidence": evidence, "actor": actor, "at": now}
            repo.insert_tick(connection, tick)
            loaded.ticks.append(tick)
        case RemoveTick(item):
            found = next(t for t in loaded.ticks if t["item"] == item)
            repo.delete_tick(connection, found["id"])
            loaded.ticks.remove(found)
        case AddLink(other):
            repo.insert_link(connection, {"case_id": case_id, "other_case_id": other.case_id,
                                          "relation": other.relation, "created_at": now})
            loaded.links.append({"case_id": case_id, "other_case_id": other.case_id,
                                 "relation": other.relation, "direction": "outgoing",
                                 "workflow_id": other.workflow_id, "state": other.state,
                                 "within": other.within, "community": other.community})
        case RemoveLink(other_case_id):
            found_link = repo.find_link(connection, case_id, other_case_id)
            if found_link is not None:
                repo.delete_link(connection, found_link["id"])
            loaded.links = [x for x in loaded.links if x["other_case_id"] != other_case_id]
        case Record(action, actor, detail):
            record_in(connection, actor=actor, action=action, at=now, target=case_id,
                      community=loaded.row["community"], detail=dict(detail))


def insert_event(connection: Connection, body: Mapping[str, Any], prev: str, digest: str,
                 canonical: str) -> EventView:
    values = _event_values(body, prev, digest)
    repo.insert_event(connection, {**values, "body": canonical})
    return built(EventView, values)


_LEADING = _VIEW_FIELDS[:_VIEW_FIELDS.index("prev_hash")]
"""The event view's fields before its hashes: the body's fields but `changes`, which
follows the hashes (tests/test_fire_path.py holds them to `EVENT_FIELDS`)."""


def _event_values(body: Mapping[str, Any], prev: str, digest: str) -> dict[str, Any]:
    """The event's columns but its stored body: the body's fields (None for one it
    lacks), chained; in the order `EventView` declares its fields, so that the same
    dict makes the event's view (`built`) once it is written."""
    values = dict(zip(_LEADING, map(body.get, _LEADING), strict=True))
    values["input"] = dict(values["input"] or {})
    values["prev_hash"], values["hash"] = prev, digest
    values["changes"] = dict(body.get("changes") or {})
    return values


def automatic(connection: Connection, loaded: Loaded, clock: Clock,
              budget: int) -> list[EventView]:
    """Take the case's automatic transitions (actor `system:auto`), at most `budget`."""
    taken: list[EventView] = []
    if not loaded.wf.automatic.get(loaded.row["state"]):
        # No automatic transition leaves the state (most states): `core.automatic` would
        # try none; neither a snapshot nor the time is needed to say so.
        return taken
    while len(taken) < budget:
        now = clock.now()
        step = core.automatic(loaded.wf, loaded.snapshot(), now, loaded.params)
        if step is None:
            return taken
        taken.append(write(connection, loaded, step, now))
    if core.automatic(loaded.wf, loaded.snapshot(), clock.now(), loaded.params) is not None:
        log.warning("case %s: automatic transitions stopped after %d steps "
                    "(max_automatic_steps)", loaded.id, budget)
    return taken


def priority_moved(loaded: Loaded, now: datetime) -> bool:
    """Whether the case's priority, computed afresh, differs from the one stored."""
    value = priority(loaded.wf, loaded.snapshot(), now, loaded.params)
    return bool(value != loaded.row["priority"])


def reprioritise(connection: Connection, loaded: Loaded, now: datetime) -> None:
    """Store the case's priority afresh when a linked case moved and it did not.

    The priority is a derived column (the work queue's order), not part of the history:
    it is written without an event and without a new version, like the projection it is
    (the verifier replays data, state, status and version, never the priority)."""
    value = priority(loaded.wf, loaded.snapshot(), now, loaded.params)
    if value == loaded.row["priority"]:
        return
    if not repo.update_case(connection, loaded.id, loaded.row["version"], {"priority": value}):
        current = repo.case_version(connection, loaded.id)
        raise Conflict(loaded.id, loaded.row["version"], current if current is not None else -1)
    loaded.row["priority"] = value
