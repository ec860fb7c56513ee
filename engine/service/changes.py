"""The operations callers use to change cases: each a thin method that names its request
(for the idempotency fingerprint) and passes the core's decision to `Door.apply`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.access.principals import ALL_COMMUNITIES, valid_community
from engine.core import operations as core
from engine.core.change import Change
from engine.core.refusals import refusal
from engine.core.snapshot import Actor, LinkedCase
from engine.errors import HatcheryError, Refusal, Refused
from engine.ledger.chain import GENESIS, chain_event
from engine.service import deadlines
from engine.service.door import Door, Mirror, Outcome, UsedKey
from engine.service.loading import Loaded, enclosing
from engine.service.views import FireResult
from engine.service.writing import insert_event
from engine.store import repository as repo
from engine.store.db import write_connection

__all__ = ["Changes", "check_community"]


def check_community(community: str) -> str:
    """The community path, trimmed; `invalid_community` unless it reads like
    district/street/community (`engine.access.principals.valid_community`, the one rule
    the API, the console and the service share; `*` names every community, not one)."""
    scope = (community or "").strip().strip("/")
    if scope == ALL_COMMUNITIES or not valid_community(scope):
        raise Refused(refusal("invalid_community", {"community": community},
                              community=community))
    return scope


def _incoming(case_id: str, actor: Actor) -> Mirror:
    """The event a link made or removed from `case_id` leaves on the other case."""
    return lambda other, change, now: core.linked_from(other.wf, other.snapshot(), change,
                                                       case_id, actor, now)


class Changes(Door):
    """Starting a case and every change of one."""

    def start_case(self, workflow_id: str, data: dict[str, Any], *, actor: Actor,
                   community: str, version: str | None = None, comment: str | None = None,
                   idempotency_key: str | None = None) -> FireResult:
        """Start a case of the workflow (latest version unless `version` is given).

        The initial data is checked against the workflow's fields (`input_invalid` with
        every problem); the case starts in the initial state with its timers armed.
        """
        request = {"workflow_id": workflow_id, "version": version, "data": data,
                   "community": community, "comment": comment}

        def work(connection: Connection, used: UsedKey | None) -> Outcome:
            wf = self.registry.get(workflow_id, version)
            scope = check_community(community)
            now = self.clock.now()
            params = wf.resolve_params(repo.parameter_overrides(connection, wf.id, scope))
            started = core.start(wf, data, actor, now, params, comment)
            if isinstance(started, Refusal):
                raise Refused(started)
            case_id = secrets.token_hex(8)
            body = {**started.event, "case_id": case_id, "seq": 1,
                    "community": scope}  # chained: an edit of the row's community shows
            digest, canonical = chain_event(GENESIS, body)
            final = wf.states[started.state]
            row = {
                "id": case_id, "workflow_id": wf.id, "workflow_version": wf.version,
                "state": started.state, "status": "closed" if final.final else "active",
                "outcome": final.spec.outcome if final.final else None,
                "data": dict(started.data), "version": 1, "community": scope,
                "title": core.title(wf, started.data), "priority": started.priority,
                "overdue": False, "entered_at": now,
                "state_entries": dict.fromkeys(wf.lineage(started.state), 1),
                "head_hash": digest, "event_count": 1, "created_at": now, "updated_at": now,
            }
            due = deadlines.soonest(plan.due_at for plan in started.arm)
            repo.insert_case(connection, {**row, "next_due": due})
            event = insert_event(connection, body, GENESIS, digest, canonical)
            repo.arm_timers(connection, case_id, started.arm, now)
            return self.finish(connection, Loaded(row, wf, params, [], [], next_due=due,
                                                  stored_next_due=due), event)

        return self.transaction("start", actor, idempotency_key, request, work)

    def fire(self, case_id: str, trigger: str, *, input: dict[str, Any] | None = None,
             actor: Actor, expected_version: int | None = None, comment: str | None = None,
             idempotency_key: str | None = None) -> FireResult:
        """Fire `trigger` on the case: role, input, guard, checklist, effects, timers."""
        values = dict(input or {})
        request = {"case_id": case_id, "trigger": trigger, "input": values,
                   "expected_version": expected_version, "comment": comment}
        return self.apply("fire", actor, idempotency_key, request, case_id, expected_version,
                          lambda _, case, now: core.fire(case.wf, case.snapshot(), trigger,
                                                         values, actor, now, case.params,
                                                         comment))

    def tick(self, case_id: str, item: str, *, evidence: str | None, actor: Actor,
             expected_version: int | None = None,
             idempotency_key: str | None = None) -> FireResult:
        """Tick a checklist item of the case's current state, with evidence."""
        request = {"case_id": case_id, "item": item, "evidence": evidence,
                   "expected_version": expected_version}
        return self.apply("tick", actor, idempotency_key, request, case_id, expected_version,
                          lambda _, case, now: core.tick(case.wf, case.snapshot(), item,
                                                         evidence, actor, now))

    def untick(self, case_id: str, item: str, *, actor: Actor, reason: str | None = None,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Take back a tick of the current state entry (the history keeps both)."""
        request = {"case_id": case_id, "item": item, "reason": reason,
                   "expected_version": expected_version}
        return self.apply("untick", actor, idempotency_key, request, case_id,
                          expected_version,
                          lambda _, case, now: core.untick(case.wf, case.snapshot(), item,
                                                           reason, actor, now))

    def link(self, case_id: str, other_case_id: str, *, relation: str = "related",
             actor: Actor, expected_version: int | None = None,
             idempotency_key: str | None = None) -> FireResult:
        """Link two cases (guards of either may count the other by workflow and state)."""
        request = {"case_id": case_id, "other_case_id": other_case_id, "relation": relation,
                   "expected_version": expected_version}

        def decide(connection: Connection, case: Loaded, now: datetime) -> Change | Refusal:
            found = repo.load_case(connection, other_case_id)
            other = None if found is None else LinkedCase(
                other_case_id, found["workflow_id"], found["state"], relation,
                enclosing(self.registry, found["workflow_id"], found["workflow_version"],
                          found["state"]),
                community=found["community"])
            return core.link(case.wf, case.snapshot(), case_id, other_case_id, other,
                             relation, actor, now, case.params)

        return self.apply("link", actor, idempotency_key, request, case_id, expected_version,
                          decide, other_id=other_case_id, mirror=_incoming(case_id, actor))

    def unlink(self, case_id: str, other_case_id: str, *, actor: Actor,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Remove the link between two cases (made from either side)."""
        request = {"case_id": case_id, "other_case_id": other_case_id,
                   "expected_version": expected_version}
        return self.apply("unlink", actor, idempotency_key, request, case_id,
                          expected_version,
                          lambda _, case, now: core.unlink(case.wf, case.snapshot(), case_id,
                                                           other_case_id, actor, now,
                                                           case.params),
                          other_id=other_case_id, mirror=_incoming(case_id, actor))

    def suspend(self, case_id: str, *, actor: Actor, reason: str,
                expected_version: int | None = None,
                idempotency_key: str | None = None) -> FireResult:
        """Pause the case: no trigger, tick or link until resumed; its timers stop."""
        request = {"case_id": case_id, "reason": reason, "expected_version": expected_version}
        return self.apply("suspend", actor, idempotency_key, request, case_id,
                          expected_version,
                          lambda _, case, now: core.suspend(case.wf, case.snapshot(),
                                                            reason, actor, now))

    def resume(self, case_id: str, *, actor: Actor, comment: str | None = None,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Resume a suspended case; its timers run again for the time they had left."""
        request = {"case_id": case_id, "comment": comment, "expected_version": expected_version}
        return self.apply("resume", actor, idempotency_key, request, case_id,
                          expected_version,
                          lambda _, case, now: core.resume(case.wf, case.snapshot(),
                                                           comment, actor, now))

    def mark_overdue(self, case_id: str, *, actor: Actor, reason: str | None = None,
                     details: Mapping[str, Any] | None = None, comment: str | None = None,
                     expected_version: int | None = None,
                     idempotency_key: str | None = None) -> FireResult:
        """Flag the case overdue and record an `overdue` event (state and data unchanged).

        The flag shows in case lists (`list_cases(overdue=True)`) until the case leaves its
        state. Timers with action `mark_overdue` do this as `system:timer`; a person with a
        role of the workflow may too.
        """
        return self._flag("overdue", case_id, actor, reason, details, comment,
                          expected_version, idempotency_key)

    def escalate(self, case_id: str, *, actor: Actor, reason: str | None = None,
                 details: Mapping[str, Any] | None = None, comment: str | None = None,
                 expected_version: int | None = None,
                 idempotency_key: str | None = None) -> FireResult:
        """Record an `escalation` event on the case (state and data unchanged).

        The case reads as escalated until it leaves its state (`escalated_at`, the
        `escalated` filter of `list_cases`); other tools follow escalations with
        `list_events(kind="escalation")`. Timers with action `escalate` do this as
        `system:timer`; a person with a role of the workflow may too.
        """
        return self._flag("escalation", case_id, actor, reason, details, comment,
                          expected_version, idempotency_key)

    def _flag(self, kind: str, case_id: str, actor: Actor, reason: str | None,
              details: Mapping[str, Any] | None, comment: str | None,
              expected_version: int | None, idempotency_key: str | None) -> FireResult:
        request = {"case_id": case_id, "reason": reason, "details": dict(details or {}),
                   "comment": comment, "expected_version": expected_version}
        return self.apply(core.FLAG_OPERATIONS[kind], actor, idempotency_key, request,
                          case_id, expected_version,
                          lambda _, case, now: core.flag(case.wf, case.snapshot(), kind,
                                                         actor, now, reason=reason,
                                                         details=details, comment=comment))

    def set_parameter(self, workflow_id: str, name: str, value: Any, *,
                      community: str = "") -> None:
        """Override a workflow parameter for a community and everything under it
        (`community=""`: everywhere). Checked against the parameter's declared type."""
        scope = check_community(community) if community else ""
        wf = self.registry.get(workflow_id)
        try:
            wf.resolve_params({name: value})
        except HatcheryError as error:
            raise Refused(refusal("invalid_parameter", {"name": name},
                                  error=error)) from error
        with write_connection(self.engine) as connection:
            repo.set_parameter(connection, scope, workflow_id, name, value, self.clock.now())
