"""Errors of structure: exactly one initial state at each level, final states that are
really final, transitions naming states and roles that exist."""

from __future__ import annotations

from engine.language.diagnostics import (
    Reporter,
    did_you_mean,
)
from engine.language.lint.index import ANY, Index, StateNode, from_path

BUILTIN_ROLES = frozenset({"admin", "caseworker", "designer", "auditor"})


def check_initial_states(index: Index, report: Reporter) -> None:
    """Exactly one initial state at the top, and in every state that has steps."""
    tops = [s for s in index.states.values() if s.parent is None]
    groups: list[tuple[StateNode | None, list[StateNode]]] = [(None, tops)]
    groups += [(s, [index.states[c] for c in s.children])
               for s in index.states.values() if s.children]
    for parent, members in groups:
        initials = [m for m in members if m.spec.initial]
        if not initials:
            if parent is None:
                report.error("no_initial_state", ("states",), at="key")
            else:
                report.error("composite_no_initial", (*parent.path, "states"), at="key",
                             state=parent.id)
        for extra in initials[1:]:
            where = (*extra.path, "initial")
            if parent is None:
                report.error("several_initial_states", where, at="key", state=extra.id,
                             first=initials[0].id)
            else:
                report.error("composite_several_initial", where, at="key", state=extra.id,
                             first=initials[0].id, parent=parent.id)


def check_final_states(index: Index, report: Reporter) -> None:
    """A final state has no steps, no checklist, no timers and nothing leaving it."""
    for node in index.states.values():
        if not node.final:
            continue
        if node.children:
            report.error("final_has_children", (*node.path, "states"), at="key", state=node.id)
        if node.spec.checklist:
            report.error("final_has_checklist", (*node.path, "checklist"), at="key",
                         state=node.id)
        if node.spec.timers:
            report.error("final_has_timers", (*node.path, "timers"), at="key", state=node.id)
    for edge in index.edges:
        if edge.any:
            continue
        for position, source in enumerate(edge.spec.sources):
            if source in index.states and index.states[source].final:
                report.error("final_has_transitions", from_path(edge, position),
                             state=source, trigger=edge.spec.trigger)


def check_transitions(index: Index, report: Reporter) -> None:
    """States named by `from`/`to` exist, `any` stands alone, roles are declared."""
    known = list(index.states)
    declared = list(index.spec.roles) + sorted(BUILTIN_ROLES)
    for edge in index.edges:
        t = edge.spec
        if not edge.any:
            for position, source in enumerate(t.sources):
                if source == ANY:
                    report.error("any_not_alone", from_path(edge, position))
                elif source not in index.states:
                    report.error("unknown_state", from_path(edge, position), state=source,
                                 suggestion=did_you_mean(source, known))
        if edge.target is None:
            report.error("unknown_state", (*edge.path, "to"), state=t.to,
                         suggestion=did_you_mean(t.to, known))
        for position, role in enumerate(t.roles):
            if role not in declared:
                report.error("unknown_role", (*edge.path, "roles", position), role=role,
                             suggestion=did_you_mean(role, declared))
    for position, role in enumerate(index.spec.start_roles):
        if role not in declared:
            report.error("unknown_role", ("start_roles", position), role=role,
                         suggestion=did_you_mean(role, declared))
