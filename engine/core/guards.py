"""Where guards are evaluated: the expression environment of a case, a transition's guard,
its effects, and a case's priority in the work queue.

Pure like the rest of the core: the environment is built from the snapshot the shell
read and the time it passed in; CEL programs were compiled with the workflow, so
evaluating one here is a call into the sandbox, never a parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.core.compiler import CompiledTransition, CompiledWorkflow
from engine.core.refusals import refusal
from engine.errors import Refusal
from engine.language.expressions import Environment, EvaluationError, to_cel_time
from engine.language.spec import as_text
from engine.language.values import check_values, from_cel, to_cel

if TYPE_CHECKING:
    from engine.core.decision import CaseSnapshot


def environment(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
                params: Mapping[str, Any]) -> Environment:
    """The expression environment of a case at `now`."""
    counts: dict[tuple[str, str | None], int] = {}
    for link in case.links:
        for state in (link.state, *link.within, None):
            key = (link.workflow_id, state)
            counts[key] = counts.get(key, 0) + 1
    return Environment(
        data=to_cel(wf.fields, case.data), params=dict(params), now=to_cel_time(now),
        entered_at=to_cel_time(case.entered_at), state=case.state,
        checklist={item: bool(case.checklist.get(item)) for item in wf.checklist_of(case.state)},
        link_counts=counts,
    )


def guard_refusal(t: CompiledTransition, env: Environment, lang_args: dict[str, Any]
                  ) -> Refusal | None:
    """None when `t`'s guard holds in `env`; otherwise the refusal a caller reads."""
    if t.guard is None:
        return None
    try:
        passed = t.guard.test(env)
    except EvaluationError as exc:
        return refusal("guard_error", {"guard": t.guard.source}, error=exc, **lang_args)
    if passed:
        return None
    base = refusal("guard_false", {"guard": t.guard.source}, **lang_args)
    if t.spec.refusal is None:
        return base
    return replace(base, en=as_text(t.spec.refusal, "en"), zh=as_text(t.spec.refusal, "zh"))


def evaluate_effects(wf: CompiledWorkflow, t: CompiledTransition, env: Environment,
                     data: Mapping[str, Any]) -> tuple[dict[str, Any], Refusal | None]:
    """Evaluate effects against the state before the transition; check each result."""
    changes: dict[str, Any] = {}
    for name, expr in t.effects.items():
        spec = wf.fields[name]
        try:
            raw = from_cel(spec, expr.evaluate(env))
        except EvaluationError as exc:
            return {}, refusal("effect_invalid", {"field": name}, field=name, error=exc)
        checked, problems = check_values({name: spec}, {name: raw}, require=False)
        if problems:
            return {}, refusal("effect_invalid", {"field": name}, field=name,
                               error=(problems[0].en, problems[0].zh))
        if checked.get(name) != data.get(name):
            changes[name] = checked.get(name)
    return changes, None


def priority(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
             params: Mapping[str, Any]) -> float:
    """The case's rank in a work queue (higher first); 0 when it cannot be computed."""
    if wf.priority is None:
        return 0.0
    try:
        value = wf.priority.evaluate(environment(wf, case, now, params))
    except EvaluationError:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)
