"""Types of expressions, checked when a definition loads.

A guard comparing text with a number (`data.project_name > 5`), an effect storing a decimal
into a whole-number field, a condition on `data.X` where the same transition's effects
set X: each loads today and then refuses every fire at run time. This module finds them
when the file loads.

CEL has a type checker, but the `common-expression-language` package exposes only
compiling and evaluating. So each expression is evaluated here against *samples*: a value
of the declared type for every field, input and parameter (twice: booleans true, then
false, so both sides of `&&`, `||` and `?:` are reached). CEL never coerces between
types, so an operation on the wrong types fails on any sample of those types: the
failure is the type error, reported at the expression with the field types it read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.catalogue import Catalogue
from engine.language.diagnostics import Reporter, Words, YamlPath
from engine.language.expressions import ExpressionError, Scope, compile_expression
from engine.language.spec import FieldSpec, TransitionSpec, WorkflowSpec
from engine.language.values import FieldProblem, check_value, from_cel

SAMPLE_NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # a year the working-day calendar covers
_HAS = re.compile(r"\bhas\s*\(\s*data\s*\.\s*[A-Za-z_][A-Za-z0-9_]*\s*\)")
_DATA = re.compile(r"\bdata\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_UNJUDGED: Any = object()  # a place whose finding is not worked out yet (None: no finding)
_UNDEFINED_FUNCTION = re.compile(r"Undefined variable or function: '([A-Za-z_]+)'")
_TYPES = Catalogue("designer.types", {
    "string": Words("text", "文本"), "text": Words("text", "文本"),
    "integer": Words("a whole number", "整数"), "number": Words("a number", "数字"),
    "boolean": Words("true/false", "布尔值"), "date": Words("a date", "日期"),
    "datetime": Words("a date and time", "日期时间"), "enum": Words("a choice", "选项"),
    "list": Words("a list", "列表"), "reference": Words("a case id", "事项编号"),
    "duration": Words("a duration", "时长"),
})


def _sample(spec: FieldSpec, truth: bool) -> Any:
    kind = spec.type
    if kind == "list":
        return [_sample(FieldSpec(type=spec.items or "string"), truth)
                if not spec.values else spec.value_ids[0]]
    if kind == "enum":
        return spec.value_ids[0] if spec.values else "x"
    return {
        "string": "样例", "text": "样例", "integer": 1, "number": 1.5, "boolean": truth,
        "date": SAMPLE_NOW - timedelta(days=30), "datetime": SAMPLE_NOW - timedelta(days=30),
        "reference": "c0",
    }.get(kind, "x")


def _samples(fields: Mapping[str, FieldSpec], truth: bool) -> dict[str, Any]:
    return {name: _sample(spec, truth) for name, spec in fields.items()}


def _params(spec: WorkflowSpec, truth: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, p in spec.parameters.items():
        found[name] = truth if p.type == "boolean" else p.default
    return found


def _context(spec: WorkflowSpec, t: TransitionSpec | None, truth: bool,
             checklist: frozenset[str], data: Mapping[str, Any]) -> dict[str, Any]:
    def linked(workflow: str, state: str | None = None) -> int:
        return 1

    def add_duration(ts: datetime, text: str) -> datetime:
        return ts + timedelta(days=1)

    def add_working_days(ts: datetime, days: int) -> datetime:
        return ts + timedelta(days=int(days))

    return {
        "data": dict(data),
        "input": _samples(t.input, truth) if t is not None else {},
        "params": _params(spec, truth), "now": SAMPLE_NOW, "today": SAMPLE_NOW,
        "entered_at": SAMPLE_NOW - timedelta(days=1),
        "entered_on": SAMPLE_NOW - timedelta(days=1),
        "state": (t.sources[0] if t is not None else next(iter(spec.states), "")),
        "checklist": dict.fromkeys(checklist, truth), "linked": linked,
        "add_duration": add_duration, "add_working_days": add_working_days,
    }


def _type_failure(exc: Exception) -> str | None:
    """The CEL failure as a type error, or None when it is not one."""
    text = str(exc)
    if isinstance(exc, TypeError):
        return text.split(". ")[0]
    found = _UNDEFINED_FUNCTION.search(text)
    if found and found.group(1) in {"size", "contains", "startsWith", "endsWith", "matches",
                                    "getFullYear", "getMonth", "getDate", "getDayOfMonth",
                                    "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes",
                                    "getSeconds", "timestamp", "duration", "int", "double",
                                    "string", "uint", "max", "min"}:
        return f"'{found.group(1)}()' cannot take a value of this type"
    return None


def _read_types(source: str, spec: WorkflowSpec, t: TransitionSpec | None) -> Words:
    """What the expression reads, with each name's type ("data.budget: a whole number")."""
    parts_en: list[str] = []
    parts_zh: list[str] = []
    for root, declared in (("data", spec.fields), ("input", t.input if t else {})):
        for name in dict.fromkeys(re.findall(rf"\b{root}\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)",
                                             source)):
            field = declared.get(name)
            if field is not None:
                kind = _TYPES.get(field.type, Words(field.type, field.type))
                parts_en.append(f"{root}.{name} is {kind.en}")
                parts_zh.append(f"{root}.{name} 是{kind.zh}")
    for name in dict.fromkeys(re.findall(r"\bparams\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)", source)):
        parameter = spec.parameters.get(name)
        if parameter is not None:
            kind = _TYPES.get(parameter.type, Words(parameter.type, parameter.type))
            parts_en.append(f"params.{name} is {kind.en}")
            parts_zh.append(f"params.{name} 是{kind.zh}")
    return Words("; ".join(parts_en) or "-", "；".join(parts_zh) or "-")


def _results(source: str, scope: Scope, spec: WorkflowSpec, t: TransitionSpec | None,
             checklist: frozenset[str], data: Mapping[bool, Mapping[str, Any]]
             ) -> Iterator[tuple[Any, str | None]]:
    """The expression's value on each sample, or the type error it met."""
    try:
        compiled = compile_expression(source, scope)
    except ExpressionError:
        return  # reported by the name checks already
    # only the fields it reads are converted for CEL, as when a case is decided (it can
    # read no other: `fields` is None when it uses `data` as a whole)
    fields = compiled.fields
    for truth in (True, False):
        sample = data[truth]
        if fields is not None:
            sample = {name: value for name, value in sample.items() if name in fields}
        try:
            context = _context(spec, t, truth, checklist, sample)
            yield compiled.program.execute(context), None
        except Exception as exc:  # the CEL runtime raises several builtin types
            yield None, _type_failure(exc)


def check_types(spec: WorkflowSpec, report: Reporter, places: list[tuple[
        str, Scope, YamlPath, TransitionSpec | None, str, frozenset[str]]]) -> None:
    """Check each (source, scope, where, transition, role, checklist) expression.

    `role` is "guard", "priority" or the field an effect sets. A large definition repeats
    the same expression with the same inputs on many transitions: each is evaluated, and
    each effect's result checked against its field, once (the findings are reported at
    every place).
    """
    seen: dict[tuple[object, ...], list[tuple[Any, str | None]]] = {}
    inputs_of: dict[int, tuple[object, ...]] = {}
    # one object per distinct inputs: the keys below then compare them by identity
    shared_inputs: dict[tuple[object, ...], tuple[object, ...]] = {}
    findings: dict[tuple[object, ...], tuple[str, dict[str, Any]] | None] = {}
    data = {truth: _samples(spec.fields, truth) for truth in (True, False)}
    for source, scope, where, t, role, checklist in places:
        declared = t.input if t else {}
        inputs = inputs_of.get(id(declared))
        if inputs is None:
            inputs = tuple((n, f.type, tuple(f.value_ids)) for n, f in declared.items())
            inputs = inputs_of[id(declared)] = shared_inputs.setdefault(inputs, inputs)
        judged = (source, inputs, checklist, role)
        finding = findings.get(judged, _UNJUDGED)
        if finding is _UNJUDGED:
            key = (source, inputs, checklist)
            results = seen.get(key)
            if results is None:
                results = seen[key] = list(_results(source, scope, spec, t, checklist, data))
            finding = findings[judged] = _finding(results, spec, source, t, role)
        if finding is not None:
            code, args = finding
            report.add("error", code, report.source.offset(where, 0), **args)


def _finding(results: list[tuple[Any, str | None]], spec: WorkflowSpec, source: str,
             t: TransitionSpec | None, role: str) -> tuple[str, dict[str, Any]] | None:
    """What is wrong with an expression in its `role`, given its value or type error on
    each sample (the first finding, or None). The same for every place that has the same
    text, inputs, checklist and role, so it is judged once for all of them."""
    for value, failure in results:
        if failure is not None:
            return "expression_type", {"reads": _read_types(source, spec, t)}
        if role == "guard" and value is not None and not isinstance(value, bool):
            return "guard_not_boolean", {}
        effect = role not in ("guard", "priority") and role in spec.fields
        if not effect or value is None:
            continue
        problem = _effect_problem(spec.fields[role], role, value)
        if problem is not None:
            kind = _TYPES.get(spec.fields[role].type, Words(spec.fields[role].type,
                                                            spec.fields[role].type))
            return "effect_type", {"field": role, "type": kind,
                                   "problem": Words(problem.en, problem.zh)}
    return None


def _effect_problem(field: FieldSpec, name: str, value: Any) -> FieldProblem | None:
    """Why an effect's `value` cannot be stored in `field` (None: it can, or the problem
    is not one of type)."""
    _, problem = check_value(name, field, from_cel(field, value))
    if problem is None or (not problem.code.startswith("type_") and problem.code != "enum"):
        return None
    return problem


def check_reads_before_set(spec: WorkflowSpec, report: Reporter) -> None:
    """A condition reading `data.X` where the same transition's effects set X.

    Conditions see the case before the transition: a field that starts empty (not
    required, no default) and is filled only by this trigger's effects has no value yet
    when its guard runs, so every fire would be refused. The designer meant the input.
    A field another trigger also sets (a re-election reading the previous election's date)
    may well have a value: it is left alone.
    """
    set_by: dict[str, set[str]] = {}
    for t in spec.transitions:
        for name in t.effects:
            set_by.setdefault(name, set()).add(t.trigger)
    may_be_empty = {name for name, field in spec.fields.items()
                    if not field.required and field.default is None}
    for i, t in enumerate(spec.transitions):
        empty = {name for name in t.effects
                 if name in may_be_empty and set_by[name] == {t.trigger}}
        if not empty:
            continue
        guards: list[tuple[YamlPath, str]] = (
            [(("transitions", i, "guard"), t.guard)] if t.guard else [])
        guards += [(("transitions", i, "conditions", n, "guard"), c.guard)
                   for n, c in enumerate(t.conditions)]
        for where, source in guards:
            unguarded = _HAS.sub(lambda m: " " * len(m.group(0)), source)
            for found in _DATA.finditer(unguarded):
                if found.group(1) in empty:
                    origin = t.effects[found.group(1)].strip()
                    report.add("error", "read_before_set",
                               report.source.offset(where, found.start()),
                               field=found.group(1), effect=origin)
