"""The door: every change of a case, from every interface, is written here.

One change is one database transaction:

    load the case and lock it (`engine.service.loading`)
    -> an idempotency key already used answers with the first result, also when the
       first request committed while this one waited for the lock
    -> check the caller's case version (else `Conflict` naming the current one)
    -> decide with the pure core (`engine.core.operations`): a `Refusal` raises
       `Refused` and nothing is written
    -> write the `Change` (`Door.write`): the case row (`UPDATE ... WHERE id = :id AND
       version = :v`), the event chained to the case's head, its effects (ticks, links,
       timers to arm, cancel, pause or resume)
    -> the automatic transitions of the case, same path, actor `system:auto`
    -> the idempotency record -> commit.

A case never rests in a state that an automatic transition should already have left.
Then each linked case whose guards may now read differently (a linked state or the set
of links changed) is re-evaluated, each in its own transaction, cascading along links.
The whole chain is bounded by `max_automatic_steps`: a badly designed workflow stops
there instead of looping. The core never reads a clock; this module passes
`clock.now()`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

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
    RemoveLink,
    RemoveTick,
    ResumeTimers,
)
from engine.core.snapshot import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.errors import Conflict, HatcheryError, Refusal, Refused, StoreUnavailable
from engine.ledger.chain import chain_event
from engine.service import idempotency
from engine.service.loading import Loaded, check_version, load, view
from engine.service.views import EventView, FireResult, event_view
from engine.store import repository as repo
from engine.store.db import describe_error, read_connection, write_connection

__all__ = ["AUTO_ACTOR", "Decide", "Door", "Outcome"]

log = logging.getLogger("hatchery.service")

AUTO_ACTOR = Actor("system:auto")
EVENT_COLUMNS = ("case_id", "seq", "kind", "workflow_id", "workflow_version", "trigger",
                 "from_state", "to_state", "actor", "role", "input", "changes", "comment",
                 "at")

Decide = Callable[[Connection, Loaded, datetime], Change | Refusal]
"""How an operation decides: the shell's connection (to read what the request names, such
as the other case of a link), the locked case, the time; returns the core's answer."""


@dataclass(frozen=True)
class Outcome:
    """What an operation's transaction produced, before the cascade along links."""

    result: FireResult
    cascade: tuple[str, ...]


@dataclass
class _Key:
    """An idempotency key in use by one request, with that request's fingerprint."""

    key: str
    fingerprint: str


class Door:
    """The one door. Thread-safe; share one per process."""

    def __init__(self, engine: Engine, registry: WorkflowRegistry, clock: Clock, *,
                 max_automatic_steps: int = 20) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.max_automatic_steps = max_automatic_steps

    # -- one change, one transaction ---------------------------------------------------

    def apply(self, operation: str, actor: Actor, key: str | None,
              request: Mapping[str, Any], case_id: str, expected_version: int | None,
              decide: Decide) -> FireResult:
        """Load and lock the case, decide, write the change, take automatic steps,
        commit; then re-evaluate linked cases."""

        def work(connection: Connection, used: _Key | None) -> Outcome:
            loaded = self.lock(connection, case_id, used)
            check_version(loaded, expected_version)
            now = self.clock.now()
            change = decide(connection, loaded, now)
            if isinstance(change, Refusal):
                raise Refused(change)
            event = self.write(connection, loaded, change, now)
            return self.finish(connection, loaded, event, change.also)

        return self.transaction(operation, actor, key, request, work)

    def lock(self, connection: Connection, case_id: str, used: _Key | None) -> Loaded:
        """The case, locked; `Replayed` when its key was used while this request waited."""
        loaded = load(connection, self.registry, case_id, lock=True)
        if used is not None:
            replayed = idempotency.replay(connection, used.key, used.fingerprint)
            if replayed is not None:
                raise idempotency.Replayed(replayed)
        return loaded

    def transaction(self, operation: str, actor: Actor, key: str | None,
                    request: Mapping[str, Any],
                    work: Callable[[Connection, _Key | None], Outcome]) -> FireResult:
        """Run `work` in one write transaction under the request's idempotency key."""
        used: _Key | None = None
        if key is not None:
            idempotency.check_key(key)
            used = _Key(key, idempotency.fingerprint(operation, actor, request))
        try:
            with write_connection(self.engine) as connection:
                if used is not None:
                    replayed = idempotency.replay(connection, used.key, used.fingerprint)
                    if replayed is not None:
                        return replayed
                outcome = work(connection, used)
                if used is not None:
                    idempotency.record(connection, used.key, used.fingerprint, operation,
                                       actor, outcome.result)
        except idempotency.Replayed as replayed:
            return replayed.result
        except sa.exc.IntegrityError as error:
            # Another transaction committed the same key first (possibly in another
            # process): everything above was rolled back; its result is the answer.
            if used is not None:
                with read_connection(self.engine) as connection:
                    found = idempotency.replay(connection, used.key, used.fingerprint)
                if found is not None:
                    return found
            raise StoreUnavailable(describe_error(self.engine, error)) from error
        return self._after(outcome)

    # -- writing ------------------------------------------------------------------------

    def write(self, connection: Connection, loaded: Loaded, change: Change,
              now: datetime) -> EventView:
        """Write one change: the case row (version-checked), its chained event, then its
        effects; `loaded` is brought up to date."""
        row = loaded.row
        version, seq, prev = row["version"], row["event_count"] + 1, row["head_hash"]
        body = {**change.event, "case_id": row["id"], "seq": seq}
        digest, canonical = chain_event(prev, body)
        update = {**change.values, "version": version + 1, "event_count": seq,
                  "head_hash": digest, "updated_at": now}
        if not repo.update_case(connection, row["id"], version, update):
            current = repo.case_version(connection, row["id"])
            raise Conflict(row["id"], version, current if current is not None else -1)
        event = self.insert_event(connection, body, prev, digest, canonical)
        row.update(update)
        if change.workflow is not None:
            loaded.wf = change.workflow
            loaded.params = dict(change.params or {})
        for effect in change.effects:
            self._effect(connection, loaded, effect, now)
        if "state_entries" in change.values:
            entries = row["state_entries"]
            items = loaded.wf.checklist_of(row["state"])
            loaded.ticks = [t for t in loaded.ticks
                            if entries.get(t["state"]) == t["entry_seq"] and t["item"] in items]
        loaded.state_changed = loaded.state_changed or change.moved
        return event

    def _effect(self, connection: Connection, loaded: Loaded, effect: Effect,
                now: datetime) -> None:
        case_id = loaded.id
        match effect:
            case ArmTimers(plans):
                repo.arm_timers(connection, case_id, plans, now)
            case CancelTimers(states):
                repo.cancel_timers(connection, case_id, states)
            case KeepTimers(keep):
                repo.cancel_timer_rows(connection, [
                    t["id"] for t in repo.timers_of(connection, case_id)
                    if t["status"] in repo.LIVE_TIMERS
                    and (t["state"], t["timer_id"]) not in keep])
            case PauseTimers():
                repo.pause_timers(connection, case_id, now)
            case ResumeTimers():
                repo.resume_timers(connection, case_id, now)
            case AddTick(state, entry_seq, item, evidence, actor):
                tick = {"case_id": case_id, "state": state, "entry_seq": entry_seq,
                        "item": item, "evidence": evidence, "actor": actor, "at": now}
                repo.insert_tick(connection, tick)
                loaded.ticks.append(tick)
            case RemoveTick(item):
                found = next(t for t in loaded.ticks if t["item"] == item)
                repo.delete_tick(connection, found["id"])
                loaded.ticks.remove(found)
            case AddLink(other):
                repo.insert_link(connection, {"case_id": case_id,
                                              "other_case_id": other.case_id,
                                              "relation": other.relation, "created_at": now})
                loaded.links.append({"case_id": case_id, "other_case_id": other.case_id,
                                     "relation": other.relation, "direction": "outgoing",
                                     "workflow_id": other.workflow_id, "state": other.state,
                                     "community": other.community})
            case RemoveLink(other_case_id):
                found_link = repo.find_link(connection, case_id, other_case_id)
                if found_link is not None:
                    repo.delete_link(connection, found_link["id"])
                loaded.links = [x for x in loaded.links if x["other_case_id"] != other_case_id]

    @staticmethod
    def insert_event(connection: Connection, body: Mapping[str, Any], prev: str,
                     digest: str, canonical: str) -> EventView:
        values = {name: body.get(name) for name in EVENT_COLUMNS}
        values["input"] = dict(values["input"] or {})
        values["changes"] = dict(values["changes"] or {})
        repo.insert_event(connection, {**values, "prev_hash": prev, "hash": digest,
                                       "body": canonical})
        return event_view({**values, "prev_hash": prev, "hash": digest})

    # -- after a change: automatic steps, then linked cases ------------------------------

    def finish(self, connection: Connection, loaded: Loaded, event: EventView,
               also: Sequence[str] = ()) -> Outcome:
        automatic = self.automatic(connection, loaded, self.max_automatic_steps)
        result = FireResult(view(loaded), event, automatic)
        seeds = self._cascade_seeds(loaded)
        return Outcome(result, tuple(dict.fromkeys([*seeds, *also])))

    def automatic(self, connection: Connection, loaded: Loaded,
                  budget: int) -> list[EventView]:
        taken: list[EventView] = []
        while len(taken) < budget:
            now = self.clock.now()
            step = core.automatic(loaded.wf, loaded.snapshot(), now, loaded.params)
            if step is None:
                return taken
            taken.append(self.write(connection, loaded, step, now))
        if core.automatic(loaded.wf, loaded.snapshot(), self.clock.now(),
                          loaded.params) is not None:
            log.warning("case %s: automatic transitions stopped after %d steps "
                        "(max_automatic_steps)", loaded.id, budget)
        return taken

    @staticmethod
    def _cascade_seeds(loaded: Loaded) -> tuple[str, ...]:
        # Guards see linked cases only through their workflow and state: the others need
        # a look only when this case's state changed.
        if not loaded.state_changed:
            return ()
        return tuple(dict.fromkeys(link["other_case_id"] for link in loaded.links))

    def _after(self, outcome: Outcome) -> FireResult:
        """Re-evaluate linked cases, each in its own transaction, within the step budget."""
        result = outcome.result
        budget = self.max_automatic_steps - len(result.automatic)
        if not outcome.cascade or budget <= 0:
            return result
        extra = self._cascade(list(outcome.cascade), budget)
        if not extra:
            return result
        case = result.case
        if any(e.case_id == case.id for e in extra):
            with read_connection(self.engine) as connection:
                case = view(load(connection, self.registry, case.id))
        return replace(result, case=case, automatic=[*result.automatic, *extra])

    def _cascade(self, seeds: list[str], budget: int) -> list[EventView]:
        taken: list[EventView] = []
        queue = deque(dict.fromkeys(seeds))
        while queue and len(taken) < budget:
            case_id = queue.popleft()
            try:
                # A cheap look first: most linked cases have nothing to do.
                with read_connection(self.engine) as connection:
                    probe = load(connection, self.registry, case_id)
                if core.automatic(probe.wf, probe.snapshot(), self.clock.now(),
                                  probe.params) is None:
                    continue
                with write_connection(self.engine) as connection:
                    loaded = load(connection, self.registry, case_id, lock=True)
                    steps = self.automatic(connection, loaded, budget - len(taken))
            except HatcheryError as error:
                log.warning("automatic steps of linked case %s not taken: %s", case_id, error)
                continue
            taken.extend(steps)
            for other in self._cascade_seeds(loaded):
                if other not in queue:
                    queue.append(other)
        if queue and len(taken) >= budget:
            log.warning("automatic steps stopped after %d steps (max_automatic_steps); "
                        "cases left unevaluated: %s", self.max_automatic_steps, list(queue))
        return taken
