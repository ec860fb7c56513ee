"""Warnings about what would run but is probably a mistake: fields the workflow relies on
that nothing fills, guards without a refusal text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from engine.language.diagnostics import (
    Reporter,
    Words,
)
from engine.language.spec import StateSpec, WorkflowSpec

_DATA_MEMBER = re.compile(r"\bdata\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def warn_fields_never_set(spec: WorkflowSpec, report: Reporter) -> None:
    """Fields that something expects a value in, but that nothing ever fills.

    A field that is not required at the start, has no default and is set by no effect
    only has a value if someone happens to type it when the case starts. That is normal
    for optional intake data (a contact person), so it is only a warning when the
    workflow relies on the field: an expression or a timer reads it, or a transition asks
    for an input of the same name that no effect copies into it.
    """
    targets = {name for t in spec.transitions for name in t.effects}
    candidates = {name for name, f in spec.fields.items()
                  if not f.required and f.default is None and name not in targets}
    if not candidates:
        return
    sources = [spec.priority or ""]
    sources += [t.guard or "" for t in spec.transitions]
    sources += [e for t in spec.transitions for e in t.effects.values()]
    # a large definition repeats the same few expressions: each text is read once
    read = {m.group(1) for text in dict.fromkeys(sources) for m in _DATA_MEMBER.finditer(text)}
    read |= {timer.relative_to for node in _all_states(spec.states) for timer in node.timers}
    asked = {name: t.trigger for t in reversed(spec.transitions) for name in t.input}
    for name in spec.fields:
        if name not in candidates:
            continue
        if name in read:
            reason = Words("the workflow reads it", "流程中有地方读取它")
        elif name in asked:
            reason = Words(f"'{asked[name]}' asks for an input '{name}' but no effect copies "
                           "it into the field",
                           f"“{asked[name]}”要求输入“{name}”，却没有效果把它写入该字段")
        else:
            continue
        report.warning("field_never_set", ("fields", name), at="key", field=name,
                       reason=reason)


def _all_states(states: Mapping[str, StateSpec]) -> Iterator[StateSpec]:
    for state in states.values():
        yield state
        yield from _all_states(state.states)


def warn_guards_without_refusal(spec: WorkflowSpec, report: Reporter) -> None:
    """A guard with no refusal text leaves caseworkers with a generic refusal.

    Automatic transitions are left out: nobody fires them, so nobody is refused.
    """
    for i, t in enumerate(spec.transitions):
        if t.automatic:
            continue
        if t.guard is not None and t.refusal is None:
            report.warning("guard_without_refusal", ("transitions", i, "guard"), at="key")
        for position, condition in enumerate(t.conditions):
            if condition.refusal is None:
                report.warning("guard_without_refusal",
                               ("transitions", i, "conditions", position, "guard"), at="key")
