"""Who may do what, and whether the case may change at all: the one place for role and
status checks.

A trigger names the roles that may fire it (`caseworker` when it names none); other
operations on a case (ticks, links, suspensions, flags) are open to any role the workflow
names; starting a case to the workflow's `start_roles`; moving a case to another version
to admins and designers. `admin` may do anything a workflow allows, and the history
records which role did. System actors (`system:timer`, `system:auto`) act under no role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.core.refusals import labels, refusal
from engine.errors import Refusal
from engine.language.spec import as_text

if TYPE_CHECKING:
    from engine.core.compiler import CompiledTransition, CompiledWorkflow
    from engine.core.snapshot import Actor, CaseSnapshot

__all__ = ["DEFAULT_ROLES", "MIGRATION_ROLES", "SUPER_ROLES", "handler_role",
           "migration_role", "start_refusal", "status_refusal", "transition_role"]

SUPER_ROLES = frozenset({"admin"})
"""Roles that may do anything a workflow allows (the history records which role did)."""
DEFAULT_ROLES = ("caseworker",)
"""Who may fire a trigger that names no roles."""
MIGRATION_ROLES = ("admin", "designer")


def transition_role(t: CompiledTransition, actor: Actor) -> tuple[bool, str | None]:
    """Whether `actor` may fire `t`, and the role that allows it (recorded in history)."""
    if actor.is_system:
        return True, None
    allowed = tuple(t.spec.roles) or DEFAULT_ROLES
    for role in allowed:
        if role in actor.roles:
            return True, role
    for role in SUPER_ROLES & actor.roles:
        return True, role
    return False, None


def handler_role(wf: CompiledWorkflow, actor: Actor, operation: str, state: str
                 ) -> tuple[str | None, Refusal | None]:
    """The role under which `actor` may handle cases of `wf` (ticks, links, flags...),
    or the refusal naming the roles that may."""
    if actor.is_system:
        return None, None
    named = [*wf.spec.roles, *(r for t in wf.transitions for r in t.spec.roles),
             *DEFAULT_ROLES]
    allowed = list(dict.fromkeys(named))
    for role in [*allowed, *sorted(SUPER_ROLES)]:
        if role in actor.roles:
            return role, None
    return None, refusal("role_missing", {"required_roles": allowed}, roles=", ".join(allowed),
                         trigger=operation, state=state, workflow=wf.id)


def migration_role(actor: Actor) -> tuple[str | None, Refusal | None]:
    """The role under which `actor` may move a case to another version of its workflow."""
    if actor.is_system:
        return None, None
    role = next((r for r in MIGRATION_ROLES if r in actor.roles), None)
    if role is None:
        return None, refusal("role_missing", {"required_roles": list(MIGRATION_ROLES)},
                             trigger=("migrate", "迁移"), roles=", ".join(MIGRATION_ROLES))
    return role, None


def start_refusal(wf: CompiledWorkflow, actor: Actor) -> Refusal | None:
    """Refuse an actor who holds none of the roles the workflow lets start a case."""
    allowed = list(wf.spec.start_roles)
    if not allowed or actor.is_system or actor.roles & (set(allowed) | SUPER_ROLES):
        return None
    title = (as_text(wf.spec.title, "en", wf.id), as_text(wf.spec.title, "zh", wf.id))
    return refusal("start_role_missing", {"required_roles": allowed}, roles=", ".join(allowed),
                   workflow=title)


def status_refusal(wf: CompiledWorkflow, case: CaseSnapshot, *,
                   suspended_ok: bool = False) -> Refusal | None:
    """A closed case takes no change; a suspended one only its resumption (and a move to
    another version) when `suspended_ok`."""
    if case.status == "closed" or wf.states[case.state].final:
        return refusal("case_closed", {"current_state": case.state},
                       state=labels(wf, case.state, "")["state"])
    if case.status == "suspended" and not suspended_ok:
        return refusal("case_suspended", {"current_state": case.state})
    return None
