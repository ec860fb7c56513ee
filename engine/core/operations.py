"""Every operation on a case as a pure function: (compiled workflow, case snapshot,
request, actor, time, parameters) -> `Change` or `Refusal`.

The door (`engine.service.door`) loads and locks the case, calls one of these, and writes
the change it returns; nothing here reads a database or a clock. Each function checks, in
this order: the case's status (`engine.core.roles.status_refusal`), what the request
names (an item, a relation), the actor's role (`engine.core.roles`), then the request's
own conditions.

Adding an operation: write its function here (a refusal for every reason it can be
refused, a `Change` with the event's `kind` and input, the row values it sets and its
effects), then a method of `CaseService` (`engine.service.changes`) that passes it to
`Door.apply` with the request's fields for the idempotency fingerprint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

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
from engine.core.compiler import CompiledWorkflow
from engine.core.decision import Start, Transition, automatic_step, decide, priority
from engine.core.decision import start as decision_start
from engine.core.refusals import input_refusal, refusal
from engine.core.roles import handler_role, status_refusal
from engine.core.snapshot import Actor, CaseSnapshot, LinkedCase, TimerPlan, made, moved_to
from engine.errors import NotFound, Refusal
from engine.language.values import problem

__all__ = [
    "TIMER_ACTOR", "automatic", "fire", "flag", "link", "linked_from", "note", "resume", "start",
    "suspend", "tick", "timer", "timer_refused", "title", "transition_change", "unlink",
    "untick",
]

TIMER_ACTOR = Actor("system:timer")
RELATION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FLAG_OPERATIONS = {"overdue": "mark_overdue", "escalation": "escalate"}


def title(wf: CompiledWorkflow, data: Mapping[str, Any]) -> str | None:
    """The case's title: the value of the workflow's `title_field`, if any."""
    name = wf.spec.title_field
    value = data.get(name) if name else None
    return None if value is None else str(value)[:400]


def _event(wf: CompiledWorkflow, case: CaseSnapshot, kind: str, actor: Actor,
           role: str | None, input: Mapping[str, Any], now: datetime,
           comment: str | None = None) -> dict[str, Any]:
    """The body of an event that leaves the case in its state."""
    return {"kind": kind, "workflow_id": wf.id, "workflow_version": wf.version,
            "trigger": None, "from_state": case.state, "to_state": case.state,
            "actor": actor.id, "role": role, "input": dict(input), "comment": comment,
            "changes": {}, "at": now}


def note(wf: CompiledWorkflow, case: CaseSnapshot, kind: str, actor: Actor,
         role: str | None, input: Mapping[str, Any], now: datetime,
         comment: str | None = None) -> dict[str, Any]:
    """The event body of an operation that leaves the case in its state (an assignment)."""
    return _event(wf, case, kind, actor, role, input, now, comment)


# ---------------------------------------------------------------------------------------
# Starting a case, transitions


def start(wf: CompiledWorkflow, values: Mapping[str, Any], actor: Actor, now: datetime,
          params: Mapping[str, Any], comment: str | None = None) -> Start | Refusal:
    """Start a case (`engine.core.decision.start`) by an actor who handles cases of the
    workflow; the event records the role."""
    role, refused = handler_role(wf, actor, "start", wf.initial)
    if refused is not None:
        return refused
    started = decision_start(wf, values, actor, now, params, comment)
    if isinstance(started, Refusal):
        return started
    return replace(started, event={**started.event, "role": role})



def transition_change(wf: CompiledWorkflow, case: CaseSnapshot, t: Transition,
                      now: datetime, params: Mapping[str, Any]) -> Change:
    """What an allowed transition writes: state, data, entries, flags, priority, timers.

    Leaving a state cancels its timers; a final state cancels every timer of the case.
    Re-entering its own state is a new entry too (its checklist starts afresh). A timer
    counted from a date field this change moves, in a state the case stays in, moves with
    it.
    """
    seq = case.events + 1
    entries = {s: n for s, n in case.entries.items() if s not in t.exited}
    entries.update(dict.fromkeys(t.entered, seq))
    moved = t.from_state != t.to_state
    values: dict[str, Any] = {"state": t.to_state, "data": dict(t.data),
                              "state_entries": entries, "title": title(wf, t.data)}
    if moved or t.entered:
        values["entered_at"] = now
    if t.exited:
        values["overdue"] = False
    if t.final:
        values["status"] = "closed"
        values["outcome"] = t.outcome
    values["priority"] = 0.0 if wf.priority is None else priority(
        wf, moved_to(t.to_state, t.data, values.get("entered_at", case.entered_at),
                     case.links), now, params)
    # Timer rows are only ever armed for states whose definition (in the case's version)
    # has timers: with no timed state left, there is nothing to cancel.
    effects: list[Effect] = []
    timed = wf.timed_states
    if t.final:
        if timed:
            effects.append(CancelTimers(None))
    else:
        left = tuple(s for s in t.exited if s in timed) if timed else ()
        if left:
            effects.append(CancelTimers(left))
        if t.arm:
            effects.append(ArmTimers(t.arm))
        if t.moved:
            # A timer counted from a date field the change moved is armed again from the
            # new date (every other live timer of the states the case is in stays).
            live = frozenset((s, timer.id) for s in wf.lineage(t.to_state)
                             for timer in wf.states[s].spec.timers)
            effects.append(KeepTimers(live - t.moved))
            if t.rearm:
                effects.append(ArmTimers(t.rearm))
    return made(Change, event=t.event, values=values, effects=tuple(effects), moved=moved,
                also=(), workflow=None, params=None)  # `Change(...)`, without the frozen init


def fire(wf: CompiledWorkflow, case: CaseSnapshot, trigger: str, values: Mapping[str, Any],
         actor: Actor, now: datetime, params: Mapping[str, Any],
         comment: str | None = None) -> Change | Refusal:
    """Fire `trigger` (`engine.core.decision.decide`), as a change."""
    decided = decide(wf, case, trigger, values, actor, now, params, comment)
    if isinstance(decided, Refusal):
        return decided
    return transition_change(wf, case, decided, now, params)


def automatic(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
              params: Mapping[str, Any]) -> Change | None:
    """The first automatic transition whose guard holds now, as a change; or None."""
    step = automatic_step(wf, case, now, params)
    return None if step is None else transition_change(wf, case, step, now, params)


# ---------------------------------------------------------------------------------------
# Checklists


def _checklist_owner(wf: CompiledWorkflow, case: CaseSnapshot, item: str
                     ) -> str | Refusal:
    items = wf.checklist_of(case.state)
    if item not in items:
        return refusal("checklist_unknown_item", {"item": item, "items": list(items)},
                       item=item, state=case.state)
    return items[item]


def tick(wf: CompiledWorkflow, case: CaseSnapshot, item: str, evidence: str | None,
         actor: Actor, now: datetime) -> Change | Refusal:
    """Tick a checklist item of the case's current state, with evidence."""
    owner = status_refusal(wf, case) or _checklist_owner(wf, case, item)
    if isinstance(owner, Refusal):
        return owner
    role, refused = handler_role(wf, actor, "tick", case.state)
    if refused is not None:
        return refused
    if wf.states[owner].spec.checklist[item].evidence and not (evidence or "").strip():
        return refusal("evidence_required", {"item": item}, item=item)
    if case.checklist.get(item):
        return refusal("already_ticked", {"item": item}, item=item)
    event = _event(wf, case, "checklist_tick", actor, role,
                   {"item": item, "evidence": evidence}, now)
    added = AddTick(owner, case.entries[owner], item, evidence, actor.id)
    return Change(event=event, values={}, effects=(added,))


def untick(wf: CompiledWorkflow, case: CaseSnapshot, item: str, reason: str | None,
           actor: Actor, now: datetime) -> Change | Refusal:
    """Take back a tick of the current state entry (the history keeps both)."""
    owner = status_refusal(wf, case) or _checklist_owner(wf, case, item)
    if isinstance(owner, Refusal):
        return owner
    role, refused = handler_role(wf, actor, "untick", case.state)
    if refused is not None:
        return refused
    if not case.checklist.get(item):
        return refusal("not_ticked", {"item": item}, item=item)
    event = _event(wf, case, "checklist_untick", actor, role,
                   {"item": item, "reason": reason}, now)
    return Change(event=event, values={}, effects=(RemoveTick(item),))


# ---------------------------------------------------------------------------------------
# Links


def link(wf: CompiledWorkflow, case: CaseSnapshot, case_id: str, other_case_id: str,
         other: LinkedCase | None, relation: str, actor: Actor, now: datetime,
         params: Mapping[str, Any]) -> Change | Refusal:
    """Link the case to another (`other`: its workflow and state, None when it does not
    exist). A priority may read linked cases (party presence at selection): it moves now,
    and both cases' automatic transitions are evaluated afresh."""
    blocked = status_refusal(wf, case)
    if blocked is not None:
        return blocked
    if other_case_id == case_id:
        return refusal("link_self", {"other_case_id": other_case_id})
    if not RELATION.match(relation):
        return refusal("invalid_relation", {"relation": relation}, relation=relation)
    if other is None:
        raise NotFound("case", other_case_id)
    if any(x.case_id == other_case_id for x in case.links):
        return refusal("already_linked", {"other_case_id": other_case_id},
                       case=case_id, other=other_case_id)
    role, refused = handler_role(wf, actor, "link", case.state)
    if refused is not None:
        return refused
    other = replace(other, relation=relation)
    after = replace(case, links=(*case.links, other))
    event = _event(wf, case, "link", actor, role,
                   {"other_case_id": other_case_id, "relation": relation}, now)
    return Change(event=event, values={"priority": priority(wf, after, now, params)},
                  effects=(AddLink(other),), also=(other_case_id,))


def unlink(wf: CompiledWorkflow, case: CaseSnapshot, case_id: str, other_case_id: str,
           actor: Actor, now: datetime, params: Mapping[str, Any]) -> Change | Refusal:
    """Remove the link between two cases (made from either side)."""
    blocked = status_refusal(wf, case)
    if blocked is not None:
        return blocked
    found = next((x for x in case.links if x.case_id == other_case_id), None)
    if found is None:
        return refusal("not_linked", {"other_case_id": other_case_id},
                       case=case_id, other=other_case_id)
    role, refused = handler_role(wf, actor, "unlink", case.state)
    if refused is not None:
        return refused
    after = replace(case, links=tuple(x for x in case.links if x.case_id != other_case_id))
    event = _event(wf, case, "unlink", actor, role,
                   {"other_case_id": other_case_id, "relation": found.relation}, now)
    return Change(event=event, values={"priority": priority(wf, after, now, params)},
                  effects=(RemoveLink(other_case_id),), also=(other_case_id,))


def linked_from(wf: CompiledWorkflow, case: CaseSnapshot, made: Change, made_on: str,
                actor: Actor, now: datetime) -> Change:
    """What a link made or removed from case `made_on` (its change `made`) writes on this,
    the other case: the same kind of event, naming the case that made it, with direction
    `incoming`, so that both histories show the link. It records and moves nothing; the
    actor need not handle this workflow (the link was decided on the other side), and the
    role is recorded only when they do."""
    role, refused = handler_role(wf, actor, str(made.event["kind"]), case.state)
    given = made.event["input"]
    event = _event(wf, case, str(made.event["kind"]), actor, None if refused else role,
                   {"other_case_id": made_on, "relation": given["relation"],
                    "direction": "incoming"}, now)
    return Change(event=event, values={})


# ---------------------------------------------------------------------------------------
# Suspension


def suspend(wf: CompiledWorkflow, case: CaseSnapshot, reason: str, actor: Actor,
            now: datetime) -> Change | Refusal:
    """Pause the case: no trigger, tick or link until resumed; its timers stop."""
    blocked = status_refusal(wf, case, suspended_ok=True)
    if blocked is not None:
        return blocked
    if case.status == "suspended":
        return refusal("already_suspended", {"current_state": case.state})
    if not (reason or "").strip():
        return input_refusal([problem("reason", "required")], {})
    role, refused = handler_role(wf, actor, "suspend", case.state)
    if refused is not None:
        return refused
    event = _event(wf, case, "suspend", actor, role, {"reason": reason}, now)
    return Change(event=event, values={"status": "suspended"},
                  effects=(PauseTimers(), Record("suspend", actor.id, {"reason": reason})))


def resume(wf: CompiledWorkflow, case: CaseSnapshot, comment: str | None, actor: Actor,
           now: datetime) -> Change | Refusal:
    """Resume a suspended case; its timers run again for the time they had left."""
    blocked = status_refusal(wf, case, suspended_ok=True)
    if blocked is not None:
        return blocked
    if case.status != "suspended":
        return refusal("not_suspended", {"current_state": case.state})
    role, refused = handler_role(wf, actor, "resume", case.state)
    if refused is not None:
        return refused
    event = _event(wf, case, "resume", actor, role, {}, now, comment)
    return Change(event=event, values={"status": "active"},
                  effects=(ResumeTimers(), Record("resume", actor.id, {"comment": comment})))


# ---------------------------------------------------------------------------------------
# Overdue and escalation flags, timers


def flag(wf: CompiledWorkflow, case: CaseSnapshot, kind: str, actor: Actor, now: datetime,
         *, reason: str | None = None, details: Mapping[str, Any] | None = None,
         comment: str | None = None) -> Change | Refusal:
    """An `overdue` event (which also sets the case's overdue flag until it leaves its
    state) or an `escalation` event; state and data unchanged."""
    blocked = status_refusal(wf, case)
    if blocked is not None:
        return blocked
    role, refused = handler_role(wf, actor, FLAG_OPERATIONS[kind], case.state)
    if refused is not None:
        return refused
    body_input = dict(details or {})
    if reason is not None:
        body_input["reason"] = reason
    event = _event(wf, case, kind, actor, role, body_input, now, comment)
    return Change(event=event, values={"overdue": True} if kind == "overdue" else {})


def timer(wf: CompiledWorkflow, case: CaseSnapshot, plan: TimerPlan, row_id: int,
          now: datetime, params: Mapping[str, Any], comment: str) -> Change | Refusal:
    """What a due timer does, as `system:timer`: fire its trigger, mark the case overdue
    or escalate it."""
    if plan.action == "fire":
        return fire(wf, case, plan.trigger or "", {}, TIMER_ACTOR, now, params, comment)
    kind = "overdue" if plan.action == "mark_overdue" else "escalation"
    details = {"timer": plan.key, "timer_row": row_id, "due_at": plan.due_at.isoformat()}
    return flag(wf, case, kind, TIMER_ACTOR, now, details=details, comment=comment)


def timer_refused(wf: CompiledWorkflow, case: CaseSnapshot, plan: TimerPlan, row_id: int,
                  refused: Refusal, now: datetime, comment: str) -> Change:
    """The record of a due timer whose action was refused: a `timer_refused` event in the
    case's history (state and data unchanged), so an auditor reading the history sees the
    deadline and why nothing came of it."""
    details = {"timer": plan.key, "timer_row": row_id, "due_at": plan.due_at.isoformat(),
               "action": plan.action, "trigger": plan.trigger,
               "refusal": {"code": refused.code, "en": refused.en, "zh": refused.zh}}
    return Change(event=_event(wf, case, "timer_refused", TIMER_ACTOR, None, details, now,
                               comment), values={})
