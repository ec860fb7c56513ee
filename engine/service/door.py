"""The door: every change of a case, from every interface, goes through `Door.apply`.

One change is one database transaction:

    load the case and lock it (`engine.service.loading`)
    -> an idempotency key already used answers with the first result, also when the
       first request committed while this one waited for the lock
    -> check the caller's case version (else `Conflict` naming the current one)
    -> the case's timers that fell due before this change fire first
       (`engine.service.firing`), so no deadline is skipped by the change; the change is
       decided on the state they leave (the caller read the case before they fired, and
       they are nobody's competing change)
    -> decide with the pure core (`engine.core.operations`)
    -> write the `Change` (`engine.service.writing`): the case row (`UPDATE ... WHERE id
       = :id AND version = :v`), the event chained to the case's head, its effects; a
       link made or removed is written on the other case too (its own event, chained to
       its own head: both histories show it), that case locked with this one, in the
       order of their ids
    -> the automatic transitions of the case, then of each linked case whose guards may
       now read differently (a linked state or the set of links changed), cascading
       along links, each linked case locked in turn; a linked case with no step to take
       still has its priority recomputed (it may read linked cases: party presence at
       selection) and stored when it moved
    -> the idempotency record -> commit.

A refusal (`Refused`, `Conflict`) is decided before anything of the change is written:
the transaction then records the refused attempt in the operations log (when an HTTP
request made it, `engine.observability.ATTEMPT`), commits, and the refusal is raised; if
due timers were fired first, the whole transaction is rolled back instead (they stay due
for their worker) and the attempt is recorded in a transaction of its own: a refused
change writes nothing of a case.

On SQLite, whose writers take the database's one write lock in turn, the changes that
threads of one process queue meanwhile share a transaction (`engine.store.group_commit`):
each runs as above in a savepoint of its own (what is rolled back above is rolled back to
it, and the refused attempt is then recorded in it), and each is answered only once the
shared transaction is committed. PostgreSQL keeps one transaction per change.

The whole cascade is bounded by `max_automatic_steps`: a badly designed workflow stops
there instead of looping. The core never reads a clock; this module passes `clock.now()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.clock import Clock
from engine.core import operations as core
from engine.core.change import Change
from engine.core.snapshot import Actor
from engine.definitions.registry import WorkflowRegistry
from engine.errors import (
    Conflict,
    DefinitionError,
    NotFound,
    Refusal,
    Refused,
    StoreUnavailable,
)
from engine.observability import ATTEMPT
from engine.service import deadlines, firing, idempotency
from engine.service.loading import Loaded, check_version, links_of, load, view
from engine.service.unstorable import refuse_unstorable
from engine.service.views import EventView, FireResult, built
from engine.service.writing import automatic, priority_moved, reprioritise, write
from engine.store.db import describe_error, read_connection, write_connection
from engine.store.group_commit import Member, group_commit
from engine.store.operations import record_in

__all__ = ["AUTO_ACTOR", "Decide", "Door", "Mirror", "Outcome", "UsedKey"]

log = logging.getLogger("hatchery.service")

AUTO_ACTOR = Actor("system:auto")
RETRIES = 3
"""Attempts of a transaction that PostgreSQL aborted to break a deadlock (two changes
cascading into each other's linked cases) before the failure is the caller's."""
_RETRYABLE = frozenset({"40P01", "40001"})

Decide = Callable[[Connection, Loaded, datetime], Change | Refusal]
"""How an operation decides: the shell's connection (to read what the request names, such
as the other case of a link), the locked case, the time; returns the core's answer."""
Mirror = Callable[[Loaded, Change, datetime], Change]
"""What a change written on one case writes on the other case it names (a link made or
removed shows in both histories): the other case, locked, the change, the time."""


@dataclass(frozen=True)
class Outcome:
    """What an operation's transaction produced."""

    result: FireResult


@dataclass(frozen=True)
class UsedKey:
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
        self._group = group_commit(engine)

    # -- one change, one transaction ---------------------------------------------------

    def apply(self, operation: str, actor: Actor, key: str | None,
              request: Mapping[str, Any], case_id: str, expected_version: int | None,
              decide: Decide, *, other_id: str | None = None,
              mirror: Mirror | None = None) -> FireResult:
        """Load and lock the case, fire its due timers, decide, write the change, take
        the automatic steps here and along links, commit.

        With `other_id` and `mirror`, the change also writes on that other case (a link
        made or removed, in both histories), in the same transaction: the two cases are
        locked in the order of their ids, so that two changes taking the same two cases
        from either side wait for each other instead of deadlocking."""

        def work(connection: Connection, used: UsedKey | None) -> Outcome:
            loaded, other = self._lock_both(connection, case_id, other_id, used)
            check_version(loaded, expected_version)
            fired = firing.fire_due(connection, loaded, self.clock, self.max_automatic_steps)
            now = self.clock.now()
            change = decide(connection, loaded, now)
            if isinstance(change, Refusal):
                # A refused change writes nothing: the timers fired first are undone too
                # (they are still due, and their worker fires them).
                raise _Undo(Refused(change)) if fired else Refused(change)
            event = write(connection, loaded, change, now)
            if other is not None and mirror is not None:
                write(connection, other, mirror(other, change, now), now)
            return self.finish(connection, loaded, event, change.also)

        return self.transaction(operation, actor, key, request, work)

    def _lock_both(self, connection: Connection, case_id: str, other_id: str | None,
                   used: UsedKey | None) -> tuple[Loaded, Loaded | None]:
        """The case and the other case a change names, both locked, the smaller id first;
        the other is None when there is none, or it cannot be loaded (the decision then
        refuses or goes on as it would without it)."""
        if other_id is None or other_id == case_id:
            return self.lock(connection, case_id, used), None
        if other_id < case_id:
            other = self._lock_other(connection, other_id)
            return self.lock(connection, case_id, used), other
        loaded = self.lock(connection, case_id, used)
        return loaded, self._lock_other(connection, other_id)

    def _lock_other(self, connection: Connection, case_id: str) -> Loaded | None:
        try:
            return load(connection, self.registry, case_id, lock=True)
        except NotFound:
            return None
        except DefinitionError as error:
            log.warning("case %s could not be loaded to record a link on it: %s",
                        case_id, error)
            return None

    def lock(self, connection: Connection, case_id: str, used: UsedKey | None) -> Loaded:
        """The case, locked; `Replayed` when its key was used while this request waited."""
        loaded = load(connection, self.registry, case_id, lock=True)
        if used is not None:
            replayed = idempotency.replay(connection, used.key, used.fingerprint)
            if replayed is not None:
                raise idempotency.Replayed(replayed)
        return loaded

    def transaction(self, operation: str, actor: Actor, key: str | None,
                    request: Mapping[str, Any],
                    work: Callable[[Connection, UsedKey | None], Outcome]) -> FireResult:
        """Run `work` in one write transaction under the request's idempotency key."""
        refuse_unstorable(request, actor, key)
        used: UsedKey | None = None
        if key is not None:
            idempotency.check_key(key)
            used = UsedKey(key, idempotency.fingerprint(operation, actor, request))
        step = request.get("trigger") if operation == "fire" else None
        for attempt in range(RETRIES):
            try:
                return self._once(operation, actor, used, work, step)
            except StoreUnavailable as error:
                if attempt + 1 == RETRIES or not _retryable(error):
                    raise
                log.info("%s of %s: retrying after %s", operation, actor.id, error)
        raise AssertionError("unreachable")

    def _once(self, operation: str, actor: Actor, used: UsedKey | None,
              work: Callable[[Connection, UsedKey | None], Outcome],
              step: object = None) -> FireResult:
        group = self._group
        if group is not None:
            result, refused = group.run(
                lambda connection, member: self._member(connection, member, operation, actor,
                                                        used, work, step))
            if refused is not None:
                raise refused
            assert result is not None
            return result
        return self._alone(operation, actor, used, work, step)

    def _member(self, connection: Connection, member: Member[_Answer], operation: str,
                actor: Actor, used: UsedKey | None,
                work: Callable[[Connection, UsedKey | None], Outcome],
                step: object) -> _Answer:
        """`_alone`'s transaction as one member of a group commit (SQLite): the same
        steps, where rolling back the transaction is rolling back the member's own
        writes (`member.rewind`) and the answer waits for the group's commit."""
        if used is not None:
            replayed = idempotency.replay(connection, used.key, used.fingerprint)
            if replayed is not None:
                return replayed, None
        try:
            try:
                outcome = work(connection, used)
            except (Refused, Conflict) as error:
                _record_refusal(connection, actor, error, self.clock.now(), step)
                return None, error
            except idempotency.Replayed as replayed:
                member.rewind()
                return replayed.result, None
            except _Undo as undo:
                member.rewind()
                _record_refusal(connection, actor, undo.error, self.clock.now(), step)
                return None, undo.error
            if used is not None:
                idempotency.record(connection, used.key, used.fingerprint, operation, actor,
                                   outcome.result)
        except sa.exc.IntegrityError as error:
            # Another change used the same key first (earlier in this group): undone; its
            # result is the answer.
            member.rewind()
            if used is not None:
                found = idempotency.replay(connection, used.key, used.fingerprint)
                if found is not None:
                    return found, None
            raise StoreUnavailable(describe_error(self.engine, error)) from error
        return outcome.result, None

    def _alone(self, operation: str, actor: Actor, used: UsedKey | None,
               work: Callable[[Connection, UsedKey | None], Outcome],
               step: object = None) -> FireResult:
        """One change in a transaction of its own (PostgreSQL, whose writers lock rows
        and run side by side)."""
        refused: Refused | Conflict | None = None
        try:
            with write_connection(self.engine) as connection:
                if used is not None:
                    replayed = idempotency.replay(connection, used.key, used.fingerprint)
                    if replayed is not None:
                        return replayed
                try:
                    outcome = work(connection, used)
                except (Refused, Conflict) as error:
                    _record_refusal(connection, actor, error, self.clock.now(), step)
                    refused = error
                else:
                    if used is not None:
                        idempotency.record(connection, used.key, used.fingerprint,
                                           operation, actor, outcome.result)
        except idempotency.Replayed as replayed:
            return replayed.result
        except _Undo as undo:
            with write_connection(self.engine) as connection:
                _record_refusal(connection, actor, undo.error, self.clock.now(), step)
            raise undo.error from None
        except sa.exc.IntegrityError as error:
            # Another transaction committed the same key first (possibly in another
            # process): everything above was rolled back; its result is the answer.
            if used is not None:
                with read_connection(self.engine) as connection:
                    found = idempotency.replay(connection, used.key, used.fingerprint)
                if found is not None:
                    return found
            raise StoreUnavailable(describe_error(self.engine, error)) from error
        if refused is not None:
            raise refused
        return outcome.result

    # -- after a change: automatic steps, then linked cases ------------------------------

    def finish(self, connection: Connection, loaded: Loaded, event: EventView,
               also: Sequence[str] = ()) -> Outcome:
        """The automatic steps of the case and, along links, of the cases whose guards
        may now read differently; the result as the caller sees it."""
        taken = automatic(connection, loaded, self.clock, self.max_automatic_steps)
        seeds = [*_cascade_seeds(loaded), *also] if loaded.links or also else None
        if seeds:
            taken += self._cascade(connection, loaded, seeds,
                                   self.max_automatic_steps - len(taken))
        deadlines.settle(connection, loaded)
        return Outcome(built(FireResult, {"case": view(loaded), "event": event,
                                          "automatic": taken, "replayed": False}))

    def _cascade(self, connection: Connection, origin: Loaded, seeds: list[str],
                 budget: int) -> list[EventView]:
        """Re-evaluate linked cases in this transaction, breadth first, within `budget`."""
        taken: list[EventView] = []
        queue = list(dict.fromkeys(seeds))
        while queue and len(taken) < budget:
            case_id = queue.pop(0)
            locked: Loaded | None = None
            try:
                if case_id == origin.id:
                    # Back to where it started: the case is locked and loaded already; only
                    # what it sees of its links may have moved.
                    origin.links = links_of(connection, self.registry, case_id)
                    loaded = origin
                else:
                    # A cheap look first (no lock): most linked cases have nothing to do.
                    probe = load(connection, self.registry, case_id)
                    now = self.clock.now()
                    if core.automatic(probe.wf, probe.snapshot(), now, probe.params) is None:
                        if not priority_moved(probe, now):
                            continue
                        # Only its rank in the queue moved (a priority reading linked
                        # cases): stored now, under the row lock, with no event.
                        reprioritise(connection, load(connection, self.registry, case_id,
                                                      lock=True), now)
                        continue
                    loaded = locked = load(connection, self.registry, case_id, lock=True)
                    firing.fire_due(connection, loaded, self.clock, budget - len(taken))
                loaded.state_changed = False
                steps = automatic(connection, loaded, self.clock, budget - len(taken))
                if not steps:
                    reprioritise(connection, loaded, self.clock.now())
            except (NotFound, DefinitionError) as error:
                log.warning("automatic steps of linked case %s not taken: %s", case_id, error)
                if locked is not None:
                    deadlines.settle(connection, locked)
                continue
            deadlines.settle(connection, loaded)
            taken.extend(steps)
            queue.extend(other for other in _cascade_seeds(loaded) if other not in queue)
        if queue and len(taken) >= budget:
            log.warning("automatic steps stopped after %d steps (max_automatic_steps); "
                        "cases left unevaluated: %s", self.max_automatic_steps, queue)
        return taken


_Answer = tuple[FireResult | None, Refused | Conflict | None]
"""A member's answer: its result, or the refusal to raise once the refused attempt is
committed to the operations log."""


class _Undo(Exception):
    """Roll the whole transaction back, then raise `error` (a refusal that came after the
    due timers were fired)."""

    def __init__(self, error: Refused) -> None:
        super().__init__(str(error))
        self.error = error


def _cascade_seeds(loaded: Loaded) -> tuple[str, ...]:
    # Guards see linked cases only through their workflow and state: the others need a
    # look only when this case's state changed.
    if not loaded.state_changed or not loaded.links:
        return ()
    return tuple(dict.fromkeys(link["other_case_id"] for link in loaded.links))


def _retryable(error: StoreUnavailable) -> bool:
    cause = getattr(error.__cause__, "orig", None)
    return getattr(cause, "sqlstate", None) in _RETRYABLE


def _record_refusal(connection: Connection, actor: Actor, error: Refused | Conflict,
                    now: datetime, step: object = None) -> None:
    """A refused attempt of an HTTP request goes to the operations log in the refusing
    transaction (nothing of the change was written), once; a refused step names its
    trigger (the API's address, `/events`, does not), so the timeline can say which."""
    attempt = ATTEMPT.get()
    if attempt is None or attempt.logged:
        return
    code = error.refusal.code if isinstance(error, Refused) else "conflict"
    detail = attempt.detail(code)
    if isinstance(step, str) and 0 < len(step) <= 64:
        detail["trigger"] = step
    record_in(connection, actor=attempt.actor or actor.id, action="change_refused", at=now,
              outcome="refused", target=attempt.target, community=attempt.community,
              detail=detail)
    attempt.logged = True
