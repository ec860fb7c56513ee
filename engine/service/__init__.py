"""The one door: the only code that changes a case, and the read side callers use.

Where things are (each file names one concern):

    door.py         `Door.apply`: one change = one transaction: load and lock, idempotency
                    recheck, version check, due timers first, decide (pure core), write,
                    automatic steps here and along links, commit; a refusal is recorded
                    in the operations log in the transaction that refused it
    loading.py      reading a case inside a transaction; its snapshot for the core; its view
    writing.py      writing a `Change`: the case row, the chained event, the effects; the
                    automatic transitions
    firing.py       firing one due timer on its locked case (`timer_refused` when refused)
    idempotency.py  keys, fingerprints, stored results and their replay
    changes.py      start, fire, tick/untick, link/unlink, suspend/resume, overdue/escalate
    assignment.py   the responsible person and the follow-up date
    timers.py       where a worker's claimed timer fires
    migrate.py      moving a case to a newer version of its workflow
    queries.py      the read side: cases, histories, actions, events, timers
    views.py        what callers see: CaseView, EventView, FireResult, TimerView, ...
    assembly.py     `CaseService` (all of the above), `build_service`, `open_store`

Every decision is made by the pure core (`engine.core`): `engine.core.operations` holds
one function per operation, (compiled workflow, case snapshot, request, actor, time,
parameters) -> `Change` or `Refusal`; roles and status are checked in `engine.core.roles`.

Adding an operation (say, assigning a responsible person):

1. In `engine/core/operations.py`, write `assign(wf, case, person, actor, now)`: return
   a `Refusal` for every reason it can be refused (status first with `status_refusal`,
   then what the request names, then `handler_role`), else a `Change` whose `event` has
   its own `kind` (`_event(wf, case, "assignment", actor, role, {"person": ...}, now)`)
   and whose `values` are the case row's columns it sets. Anything else it writes is an
   effect (`engine.core.change`); add an effect type there, and its case in
   `engine.service.writing._effect`, only when none fits.
2. In `engine/service/changes.py`, add the method: name the request (every field that
   makes two requests different, for the idempotency fingerprint) and call
   `self.apply("assign", actor, idempotency_key, request, case_id, expected_version,
   lambda _, case, now: core.assign(case.wf, case.snapshot(), person, actor, now))`.
3. Test the pure function without a database (tests/test_operations_core.py), the method
   on both databases (tests/test_service.py), and the route over real HTTP.
"""

from engine.service.assembly import CaseService, build_service, open_store, verify_store
from engine.service.door import AUTO_ACTOR
from engine.service.timers import TIMER_ACTOR
from engine.service.views import CaseView, EventView, FireResult, TimerOutcome, TimerView

__all__ = [
    "AUTO_ACTOR",
    "TIMER_ACTOR",
    "CaseService",
    "CaseView",
    "EventView",
    "FireResult",
    "TimerOutcome",
    "TimerView",
    "build_service",
    "open_store",
    "verify_store",
]
