"""The responsible person (责任人) of a case, and the follow-up date they set: two changes
that go through the one door like any other, each recorded in the case's history.

Who may change the responsible person (`may_assign`, pure): whoever leads the
community's work (`LEAD_ROLES`: the community party committee, administrators) may assign,
hand over or release any case in their scope; anyone else who may handle the case may
claim an unassigned one, and release or hand over their own. The follow-up date is the
responsible person's own ("visit again on ..."): set by them, or by a lead. Whether the
new responsible person exists and whose scope covers the case is checked where people are
known (the console, the API), not here.

Kept apart from `door.py` (a mixin of `CaseService`) so that the door's own move into a
package of pure operations can take it as one more operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from engine.clock import Clock
from engine.core.decision import Actor
from engine.core.guards import SUPER_ROLES
from engine.errors import Refusal, Refused

if TYPE_CHECKING:
    from engine.service.door import FireResult

__all__ = ["LEAD_ROLES", "AssignmentOperations", "may_assign", "may_follow_up"]

LEAD_ROLES = frozenset({"party_committee"}) | SUPER_ROLES
"""Roles that lead a community's work: they assign and hand over cases."""
MAX_NAME = 200

_TEXTS: dict[str, tuple[str, str]] = {
    "assignment_unchanged": ("{who} is already responsible for this case",
                             "{who}已是该事项的责任人"),
    "nobody_responsible": ("nobody is responsible for this case", "该事项尚无责任人"),
    "assignment_not_allowed": (
        "only whoever leads the community's work assigns a case to someone else or takes "
        "it from its responsible person", "只有负责社区工作的人员可以把事项分配给他人或改换责任人"),
    "follow_up_not_allowed": ("only the responsible person sets the follow-up date",
                              "只有责任人可以设定回访日期"),
    "invalid_assignee": ("a responsible person is named by a sign-in name of 1 to {max} "
                         "characters", "责任人应为 1 到 {max} 个字符的用户名"),
}


def _refused(code: str, details: Mapping[str, Any] | None = None, **args: Any) -> Refused:
    en, zh = _TEXTS[code]
    return Refused(Refusal(code, en.format(**args), zh.format(**args), dict(details or {})))


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


class _Door(Protocol):
    """What the operations use of the door: its transaction and its record of a change."""

    clock: Clock

    def _load_for_change(self, connection: Any, case_id: str, expected_version: int | None,
                         *, allow_suspended: bool = False) -> Any: ...
    def _handler_role(self, wf: Any, actor: Actor, operation: str, state: str
                      ) -> str | None: ...
    def _record(self, connection: Any, loaded: Any, now: Any, **kwargs: Any) -> Any: ...
    def _finish(self, connection: Any, loaded: Any, event: Any) -> Any: ...
    def _change(self, operation: str, actor: Actor, key: str | None,
                request: Mapping[str, Any], work: Any) -> FireResult: ...


class AssignmentOperations:
    """`assign` and `follow_up`, as `CaseService` offers them."""

    def assign(self: _Door, case_id: str, assignee: str | None, *, actor: Actor,
               comment: str | None = None, expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Make `assignee` (a sign-in name; None: nobody) responsible for the case. The
        follow-up date was the previous person's own and is cleared with the change."""
        if assignee is not None and not 0 < len(assignee) <= MAX_NAME:
            raise _refused("invalid_assignee", max=MAX_NAME)
        request = {"case_id": case_id, "assignee": assignee, "comment": comment,
                   "expected_version": expected_version}

        def work(connection: Any) -> Any:
            loaded = self._load_for_change(connection, case_id, expected_version,
                                           allow_suspended=True)
            current = loaded.row.get("assignee")
            refused = may_assign(actor, current, assignee)
            if refused is not None:
                raise refused
            role = self._handler_role(loaded.wf, actor, "assign", loaded.row["state"])
            event = self._record(connection, loaded, self.clock.now(), kind="assignment",
                                 actor=actor, role=role, comment=comment,
                                 input={"assignee": assignee, "previous": current},
                                 values={"assignee": assignee, "follow_up_on": None})
            return self._finish(connection, loaded, event)

        return self._change("assign", actor, idempotency_key, request, work)

    def follow_up(self: _Door, case_id: str, on: date | None, *, actor: Actor,
                  comment: str | None = None, expected_version: int | None = None,
                  idempotency_key: str | None = None) -> FireResult:
        """Set (or, with None, clear) the day the responsible person follows the case up."""
        request = {"case_id": case_id, "on": on.isoformat() if on else None,
                   "comment": comment, "expected_version": expected_version}

        def work(connection: Any) -> Any:
            loaded = self._load_for_change(connection, case_id, expected_version,
                                           allow_suspended=True)
            refused = may_follow_up(actor, loaded.row.get("assignee"))
            if refused is not None:
                raise refused
            role = self._handler_role(loaded.wf, actor, "follow_up", loaded.row["state"])
            event = self._record(connection, loaded, self.clock.now(), kind="follow_up",
                                 actor=actor, role=role, comment=comment,
                                 input={"on": on.isoformat() if on else None},
                                 values={"follow_up_on": on})
            return self._finish(connection, loaded, event)

        return self._change("follow_up", actor, idempotency_key, request, work)
