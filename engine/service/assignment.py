"""The responsible person (责任人) of a case, and the follow-up date they set: two changes
that go through the one door like any other, each recorded in the case's history.

Who may change the responsible person (`may_assign`, pure): whoever leads the
community's work (`LEAD_ROLES`: the community party committee, administrators) may assign,
hand over or release any case in their scope; anyone else who may handle the case may
claim an unassigned one, and release or hand over their own. The follow-up date is the
responsible person's own ("visit again on ..."): set by them, or by a lead. Whether the
new responsible person exists and whose scope covers the case is checked where people are
known (the console, the API), not here.

Each is decided by a pure function of the locked case and written by `Door.apply`, as
the recipe in `engine.service` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from engine.core import operations as core
from engine.core.change import Change
from engine.core.refusals import refusal
from engine.core.roles import SUPER_ROLES, handler_role, status_refusal
from engine.core.snapshot import Actor
from engine.errors import Refusal, Refused
from engine.service.door import Door
from engine.service.loading import Loaded
from engine.service.views import FireResult

__all__ = ["LEAD_ROLES", "AssignmentOperations", "may_assign", "may_follow_up"]

LEAD_ROLES = frozenset({"party_committee"}) | SUPER_ROLES
"""Roles that lead a community's work: they assign and hand over cases."""
MAX_NAME = 200



def _refused(code: str, details: Mapping[str, Any] | None = None, **args: Any) -> Refused:
    return Refused(refusal(code, details, **args))


def may_assign(actor: Actor, current: str | None, new: str | None) -> Refused | None:
    """Why `actor` may not make `new` responsible instead of `current` (None: allowed)."""
    if new == current:
        if new is None:
            return _refused("nobody_responsible")
        return _refused("assignment_unchanged", {"assignee": new}, who=new)
    if actor.roles & LEAD_ROLES:
        return None
    claims = current is None and new == actor.id
    own = current == actor.id
    return None if claims or own else _refused("assignment_not_allowed",
                                               {"assignee": current,
                                                "required_roles": sorted(LEAD_ROLES)})


def may_follow_up(actor: Actor, current: str | None) -> Refused | None:
    """Why `actor` may not set the case's follow-up date (None: allowed)."""
    if current == actor.id or actor.roles & LEAD_ROLES:
        return None
    return _refused("follow_up_not_allowed", {"assignee": current})


class AssignmentOperations(Door):
    """`assign` and `follow_up`, as `CaseService` offers them."""

    def assign(self, case_id: str, assignee: str | None, *, actor: Actor,
               comment: str | None = None, expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Make `assignee` (a sign-in name; None: nobody) responsible for the case. The
        follow-up date was the previous person's own and is cleared with the change."""
        if assignee is not None and not 0 < len(assignee) <= MAX_NAME:
            raise _refused("invalid_assignee", max=MAX_NAME)
        request = {"case_id": case_id, "assignee": assignee, "comment": comment,
                   "expected_version": expected_version}

        def decide(_: Connection, case: Loaded, now: datetime) -> Change | Refusal:
            snapshot = case.snapshot()
            blocked = status_refusal(case.wf, snapshot, suspended_ok=True)
            if blocked is not None:
                return blocked
            current = case.row.get("assignee")
            refused = may_assign(actor, current, assignee)
            if refused is not None:
                return refused.refusal
            role, missing = handler_role(case.wf, actor, "assign", snapshot.state)
            if missing is not None:
                return missing
            event = core.note(case.wf, snapshot, "assignment", actor, role,
                              {"assignee": assignee, "previous": current}, now, comment)
            return Change(event=event, values={"assignee": assignee, "follow_up_on": None})

        return self.apply("assign", actor, idempotency_key, request, case_id,
                          expected_version, decide)

    def follow_up(self, case_id: str, on: date | None, *, actor: Actor,
                  comment: str | None = None, expected_version: int | None = None,
                  idempotency_key: str | None = None) -> FireResult:
        """Set (or, with None, clear) the day the responsible person follows the case up."""
        request = {"case_id": case_id, "on": on.isoformat() if on else None,
                   "comment": comment, "expected_version": expected_version}

        def decide(_: Connection, case: Loaded, now: datetime) -> Change | Refusal:
            snapshot = case.snapshot()
            blocked = status_refusal(case.wf, snapshot, suspended_ok=True)
            if blocked is not None:
                return blocked
            refused = may_follow_up(actor, case.row.get("assignee"))
            if refused is not None:
                return refused.refusal
            role, missing = handler_role(case.wf, actor, "follow_up", snapshot.state)
            if missing is not None:
                return missing
            event = core.note(case.wf, snapshot, "follow_up", actor, role,
                              {"on": on.isoformat() if on else None}, now, comment)
            return Change(event=event, values={"follow_up_on": on})

        return self.apply("follow_up", actor, idempotency_key, request, case_id,
                          expected_version, decide)
