"""Where guards are evaluated: the expression environment of a case, a transition's
conditions (each with its own refusal text), the checklist of the states being left, the
transition's effects, and a case's priority in the work queue. Who may act is decided in
`engine.core.roles`.

Pure like the rest of the core: the environment is built from the snapshot the shell
read and the time it passed in; CEL programs were compiled with the workflow, so
evaluating one here is a call into the sandbox, never a parse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.core.compiler import CompiledTransition, CompiledWorkflow
from engine.core.refusals import refusal
from engine.core.roles import SUPER_ROLES as SUPER_ROLES
from engine.core.roles import start_refusal as start_refusal
from engine.core.snapshot import made
from engine.errors import Refusal
from engine.language.environment import Environment, to_cel_time
from engine.language.expressions import EvaluationError
from engine.language.spec import FieldSpec, as_text
from engine.language.texts import Values, fill
from engine.language.values import check_value, from_cel, to_cel

if TYPE_CHECKING:
    from engine.core.snapshot import CaseSnapshot


def environment(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
                params: Mapping[str, Any], needed: frozenset[str] | None = None,
                fields: frozenset[str] | None = None,
                given: Mapping[str, Any] | None = None) -> Environment:
    """The expression environment of a case at `now` (with a transition's input `given`,
    already in CEL's form); with `needed` (the names the expressions read) and `fields`
    (the data fields they read), only those are prepared."""
    counts: dict[tuple[str, str | None], int] = {}
    for link in case.links:
        for state in (link.state, *link.within, None):
            key = (link.workflow_id, state)
            counts[key] = counts.get(key, 0) + 1
    data = case.data if fields is None else {k: case.data[k] for k in fields if k in case.data}
    ticked = ({item: bool(case.checklist.get(item)) for item in wf.checklist_of(case.state)}
              if needed is None or "checklist" in needed else {})
    # `Environment(...)` without the frozen init's object.__setattr__ per field (a test
    # holds the two equal): a priority builds one at every change.
    return made(
        Environment, data=to_cel(wf.fields, data), params=params, now=to_cel_time(now),
        entered_at=to_cel_time(case.entered_at), state=case.state, checklist=ticked,
        input=given or {}, link_counts=counts, needed=needed, fields=fields,
    )


def shown_values(wf: CompiledWorkflow, data: Mapping[str, Any], params: Mapping[str, Any],
                 t: CompiledTransition | None = None,
                 given: Mapping[str, Any] | None = None) -> Values:
    """What the placeholders of a refusal or a title may show for this case."""
    return Values(fields=wf.fields, parameters=wf.spec.parameters, params=params, data=data,
                  input_fields=t.spec.input if t is not None else {}, input=given or {})


def guard_refusal(t: CompiledTransition, env: Environment, lang_args: Mapping[str, Any],
                  shown: Values | Callable[[], Values] | None = None) -> Refusal | None:
    """None when every condition of `t` holds in `env`; else the first one's refusal.

    Conditions are tried in the order written (the `guard` first, then `conditions`), so
    each refusal names the rule that was really broken. `shown` (what a refusal's
    placeholders may show) may be given as a function, called only for a refusal.
    """
    if callable(shown):
        for condition in t.conditions:
            if condition.guard.test_quietly(env) is not True:
                return guard_refusal(t, env, lang_args, shown())
        return None
    for condition in t.conditions:
        try:
            passed = condition.guard.test(env)
        except EvaluationError as exc:
            return refusal("guard_error", {"guard": condition.guard.source},
                           error=_reason(shown, exc), **lang_args)
        if passed:
            continue
        base = refusal("guard_false", {"guard": condition.guard.source}, **lang_args)
        if condition.refusal is None:
            return base
        return replace(base, en=fill(condition.refusal, "en", shown),
                       zh=fill(condition.refusal, "zh", shown))
    return None


def _reason(shown: Values | None, exc: EvaluationError,
            wf: CompiledWorkflow | None = None) -> tuple[str, str]:
    """Why an expression could not be evaluated, in both languages; a field without a value
    is named by its title."""
    fields = shown.fields if shown is not None else wf.fields if wf is not None else {}
    spec = fields.get(exc.missing) if exc.missing else None
    if exc.missing is None or spec is None:
        return exc.en, exc.zh
    return (f"'{as_text(spec.title, 'en', exc.missing)}' has no value yet",
            f"“{as_text(spec.title, 'zh', exc.missing)}”尚未填写")


def checklist_refusal(wf: CompiledWorkflow, case: CaseSnapshot, exited: list[str],
                      lang_args: Mapping[str, Any]) -> Refusal | None:
    """The checklist items of the states being left that are not ticked, by their titles."""
    missing = [(state, item) for state in exited for item in wf.states[state].spec.checklist
               if not case.checklist.get(item)]
    if not missing:
        return None
    titles = [wf.states[state].spec.checklist[item].title for state, item in missing]
    shown = tuple(
        ("、" if lang == "zh" else ", ").join(
            as_text(title, lang, item) for title, (_, item) in zip(titles, missing, strict=True))
        for lang in ("en", "zh"))
    return refusal("checklist_incomplete", {"missing": [item for _, item in missing]},
                   missing=shown, **lang_args)


def evaluate_effects(wf: CompiledWorkflow, t: CompiledTransition, env: Environment,
                     data: Mapping[str, Any]) -> tuple[dict[str, Any], Refusal | None]:
    """Evaluate effects against the state before the transition; check each result."""
    changes: dict[str, Any] = {}
    for name, expr in t.effects.items():
        spec = wf.fields[name]
        try:
            raw = from_cel(spec, expr.evaluate(env))
        except EvaluationError as exc:
            return {}, refusal("effect_invalid", {"field": name}, field=_title(spec, name),
                               error=_reason(None, exc, wf))
        if raw is None:
            value = spec.default
        else:
            value, found = check_value(name, spec, raw)
            if found is not None:
                return {}, refusal("effect_invalid", {"field": name}, field=_title(spec, name),
                                   error=(found.en, found.zh))
        if value != data.get(name):
            changes[name] = value
    return changes, None


def _title(spec: FieldSpec, name: str) -> tuple[str, str]:
    return as_text(spec.title, "en", name), as_text(spec.title, "zh", name)


def priority(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
             params: Mapping[str, Any]) -> float:
    """The case's rank in a work queue (higher first); 0 when it cannot be computed.

    Computed at every change: only the names and `data` fields the expression reads are
    converted for CEL (the whole environment, with the engine's functions registered,
    cost about three times as much)."""
    expression = wf.priority
    if expression is None:
        return 0.0
    try:
        value = expression.evaluate_alone(environment(wf, case, now, params, expression.names,
                                                      expression.fields))
    except EvaluationError:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)
