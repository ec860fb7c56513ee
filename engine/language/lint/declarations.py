"""Declarations: parameter defaults of the parameter's type and range, field defaults
that satisfy the field, and effects, `title_field` and migrations naming what exists."""

from __future__ import annotations

from collections.abc import Mapping

from engine.catalogue import Catalogue
from engine.language.diagnostics import (
    Reporter,
    Words,
    YamlPath,
    did_you_mean,
    without_thousands_separators,
)
from engine.language.lint.timers import is_duration
from engine.language.spec import FieldSpec, StateSpec, WorkflowSpec
from engine.language.values import check_value

_PARAMETER_KINDS = Catalogue("designer.parameter_kinds", {
    "integer": Words("a whole number", "整数"),
    "number": Words("a number", "数字"),
    "boolean": Words("true or false", "true 或 false"),
    "string": Words("text", "文本"),
    "duration": Words("an ISO 8601 duration such as P30D", "ISO 8601 时长，例如 P30D"),
})


def check_parameters(spec: WorkflowSpec, report: Reporter) -> None:
    """Each parameter's default has the parameter's type and lies within its range."""
    for name, parameter in spec.parameters.items():
        where = ("parameters", name, "default")
        value = parameter.default
        kind = parameter.type
        fits = {
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "string": isinstance(value, str),
            "duration": isinstance(value, str) and is_duration(value),
        }[kind]
        plain = without_thousands_separators(value)
        if not fits and plain is not None and kind in ("integer", "number"):
            report.error("thousands_separator", where, name=Words("the default", "默认值"),
                         value=value, plain=plain)
            continue
        if not fits:
            report.error("parameter_default_type", where, name=name,
                         expected=_PARAMETER_KINDS[kind])
            continue
        if parameter.values is not None and (kind != "string" or value not in parameter.values):
            report.error("parameter_default_choice", where, name=name,
                         choices=parameter.values)
        if kind in ("integer", "number") and isinstance(value, int | float):
            low, high = parameter.min, parameter.max
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = f"{_number(low) if low is not None else '…'} – " \
                         f"{_number(high) if high is not None else '…'}"
                report.error("parameter_default_range", where, name=name, value=value,
                             bounds=bounds)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check_field_defaults(spec: WorkflowSpec, report: Reporter) -> None:
    """A field's (or a transition input's) default satisfies the field itself."""
    places: list[tuple[YamlPath, str, FieldSpec]] = [
        (("fields", name), name, f) for name, f in spec.fields.items()]
    for i, t in enumerate(spec.transitions):
        places += [(("transitions", i, "input", name), name, f) for name, f in t.input.items()]
    for where, name, f in places:
        if f.default is None:
            continue
        _, problem = check_value(name, f, f.default)
        if problem is not None:
            report.error("field_default_invalid", (*where, "default"), field=name,
                         problem=Words(problem.en, problem.zh))


def check_references(spec: WorkflowSpec, report: Reporter) -> None:
    """Effects, title_field and migrations name what the workflow declares."""
    fields = list(spec.fields)
    for i, t in enumerate(spec.transitions):
        for name in t.effects:
            if name not in spec.fields:
                report.error("unknown_effect_field", ("transitions", i, "effects", name),
                             at="key", field=name, suggestion=did_you_mean(name, fields))
    if spec.title_field is not None and spec.title_field not in spec.fields:
        report.error("unknown_title_field", ("title_field",), field=spec.title_field,
                     suggestion=did_you_mean(spec.title_field, fields))
    states = _all_state_ids(spec.states)
    for version, mapping in spec.migrations.items():
        for old, new in mapping.items():
            if new not in states:
                report.error("migration_unknown_state", ("migrations", version, old),
                             version=version, state=new, suggestion=did_you_mean(new, states))


def _all_state_ids(states: Mapping[str, StateSpec]) -> list[str]:
    found: list[str] = []
    stack = [states]
    while stack:
        level = stack.pop()
        for sid, state in level.items():
            found.append(sid)
            stack.append(state.states)
    return found
