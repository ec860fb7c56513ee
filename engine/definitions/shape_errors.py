"""Pydantic's validation errors, turned into diagnostics a designer can act on: one per
problem (a union's member errors folded into the most telling one), located at the key
or value it is about, with "did you mean" for a misspelt key or choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from engine.catalogue import Catalogue
from engine.language.diagnostics import (
    Reporter,
    Words,
    YamlPath,
    did_you_mean,
    without_thousands_separators,
)
from engine.language.spec import IDENT_PATTERN, SEMVER_PATTERN, WorkflowSpec


def describe(value: Any) -> Words:
    """What a value is, in words (for "must be X, but it is Y")."""
    if value is None:
        return Words("empty", "空的")
    if isinstance(value, bool):
        return Words(f"{str(value).lower()} (true/false)", f"{str(value).lower()}（布尔值）")
    if isinstance(value, int | float):
        return Words(f"the number {value}", f"数字 {value}")
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return Words(f"the text '{shown}'", f"文本“{shown}”")
    if isinstance(value, list):
        return Words("a list", "列表")
    return Words("a set of 'key: value' lines", "键值映射")


_EXPECTED = Catalogue("designer.expected", {
    "string_type": Words("text", "文本"),
    "int_type": Words("a whole number", "整数"),
    "int_parsing": Words("a whole number", "整数"),
    "int_from_float": Words("a whole number", "整数"),
    "float_type": Words("a number", "数字"),
    "float_parsing": Words("a number", "数字"),
    "bool_type": Words("true or false", "true 或 false"),
    "bool_parsing": Words("true or false", "true 或 false"),
    "list_type": Words("a list", "列表"),
    "dict_type": Words("a set of 'key: value' lines", "键值映射"),
    "model_type": Words("a set of 'key: value' lines", "键值映射"),
    "model_attributes_type": Words("a set of 'key: value' lines", "键值映射"),
})
_LABEL = Words("text, or a zh/en pair such as {zh: 孵化, en: Incubation}",
               "文本，或中英文对，例如 {zh: 孵化, en: Incubation}")
# Type mismatches of one union member: dropped when another member's error is more telling.
_TYPE_ERRORS = frozenset(_EXPECTED) - {"int_parsing", "float_parsing", "bool_parsing",
                                       "int_from_float"}

_VALUE_ERRORS: list[tuple[str, str]] = [
    ("a label needs", "label_needs_language"),
    ("an enum field needs", "enum_needs_values"),
    ("values are only allowed", "values_only_for_enum"),
    ("a list field needs items", "list_needs_items"),
    ("min is greater than max", "min_above_max"),
    ("a pattern is only allowed", "pattern_only_for_text"),
    ("the pattern is not a valid regular expression", "bad_regex"),
    ("the pattern cannot be matched in linear time", "regex_unsupported"),
    ("a timer needs exactly one", "timer_needs_one_length"),
    ("a timer with action 'fire' needs", "timer_needs_trigger"),
    ("working_days must not be negative", "negative_working_days"),
]


@dataclass
class _ShapeError:
    error: Mapping[str, Any]
    path: YamlPath  # where in the data the error lies
    union: YamlPath | None  # where a union's member tags were skipped
    missing: str | None  # the missing key, for type "missing"
    on_key: bool  # the error is about the key itself ("[key]")


def _shape_error(error: Mapping[str, Any], data: Any) -> _ShapeError:
    """Follow pydantic's `loc` through the data, skipping union member tags."""
    current: Any = data
    path: list[str | int] = []
    union: YamlPath | None = None
    missing: str | None = None
    on_key = False
    loc = list(error["loc"])
    for i, part in enumerate(loc):
        if part == "[key]":
            on_key = True
        elif _has(current, part):
            path.append(part)
            current = current[part]
        elif i == len(loc) - 1 and error["type"] == "missing":
            missing = str(part)
        elif union is None:
            union = tuple(path)
    return _ShapeError(error, tuple(path), union, missing, on_key)


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return isinstance(part, str) and part in container
    return (isinstance(container, list) and isinstance(part, int)
            and not isinstance(part, bool) and 0 <= part < len(container))


def _select(errors: list[_ShapeError]) -> list[_ShapeError | list[_ShapeError]]:
    """Errors to report: one per union, the most telling; lists are merged type errors."""
    chosen: list[_ShapeError | list[_ShapeError]] = []
    groups: dict[YamlPath, list[_ShapeError]] = {}
    for e in errors:
        if e.union is None:
            chosen.append(e)
        else:
            groups.setdefault(e.union, []).append(e)
    for root, group in groups.items():
        telling = [e for e in group if e.error["type"] not in _TYPE_ERRORS]
        if telling:
            chosen.extend(telling)
            continue
        deepest = max(len(e.path) for e in group)
        if deepest > len(root):
            by_path: dict[YamlPath, list[_ShapeError]] = {}
            for e in group:
                if len(e.path) == deepest:
                    by_path.setdefault(e.path, []).append(e)
            chosen.extend(by_path.values())
        else:
            chosen.append(group)
    return chosen


def _model_keys(path: YamlPath, data: Any) -> list[str]:
    """The keys the model at `path` accepts (for "did you mean")."""
    annotation: Any = WorkflowSpec
    current = data
    for part in path:
        annotation = _member(annotation, current)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found = next((f.annotation for name, f in annotation.model_fields.items()
                          if part in (name, f.alias)), None)
            if found is None:
                return []
            annotation = found
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1 if get_origin(annotation) is dict else 0]
        else:
            return []
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
    annotation = _member(annotation, current)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _member(annotation: Any, value: Any) -> Any:
    """The member of a union (or the type inside Annotated) that fits `value`'s kind."""
    while get_args(annotation) and get_origin(annotation) not in (dict, list):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
            members = members[:1]
        fitting = [a for a in members
                   if (isinstance(value, dict) and (get_origin(a) is dict or (
                       isinstance(a, type) and issubclass(a, BaseModel))))
                   or (isinstance(value, list) and get_origin(a) is list)]
        annotation = (fitting or members or [None])[0]
    return annotation


def _name(path: YamlPath) -> Words:
    """How to call the thing at `path` in a message."""
    if not path:
        return Words("the workflow", "流程定义")
    last = path[-1]
    if isinstance(last, int):
        owner = next((p for p in reversed(path[:-1]) if isinstance(p, str)), "")
        return Words(f"item {last + 1} of '{owner}'", f"“{owner}”的第 {last + 1} 项")
    return Words(f"'{last}'", f"“{last}”")


def shape_diagnostics(errors: Sequence[Mapping[str, Any]], data: Any, report: Reporter,
                       poisoned: Sequence[YamlPath]) -> None:
    located = [_shape_error(e, data) for e in errors]
    located = [e for e in located
               if not any(e.path[:len(p)] == p for p in poisoned)]
    for chosen in _select(located):
        if isinstance(chosen, list):
            _report_type_errors(chosen, report)
        else:
            _report_shape_error(chosen, data, report)


def _report_type_errors(group: list[_ShapeError], report: Reporter) -> None:
    first = group[0]
    expected: list[Words] = []
    for e in group:
        words = _EXPECTED.get(e.error["type"], Words("something else", "其他内容"))
        if (e.error.get("ctx") or {}).get("class_name") == "Text":
            words = _LABEL
        if words not in expected:
            expected.append(words)
    if _LABEL in expected:  # a label is text or a zh/en pair: say it once
        expected = [w for w in expected if w != _EXPECTED["string_type"]]
    value = first.error.get("input")
    if value is None and _EXPECTED["model_type"] in expected:
        # `review:` with nothing after it: the designer meant an empty mapping
        report.error("empty_mapping", first.path, at="key", name=_name(first.path))
        return
    either = Words(" or ".join(w.en for w in expected), "或".join(w.zh for w in expected))
    plain = without_thousands_separators(value)
    if plain is not None:
        report.error("thousands_separator", first.path, name=_name(first.path), value=value,
                     plain=plain)
        return
    report.error("wrong_type", first.path, at="key" if value is None else "value",
                 name=_name(first.path), expected=either, actual=describe(value))


def _report_shape_error(e: _ShapeError, data: Any, report: Reporter) -> None:
    kind = e.error["type"]
    ctx = e.error.get("ctx") or {}
    value = e.error.get("input")
    path = e.path
    if kind == "missing":
        report.add("error", "missing_key", report.source.enclosing(path),
                   key=e.missing or "?", where=_name(path))
    elif kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        known = [k for k in _model_keys(path[:-1], data) if k != key]
        report.error("unknown_key", path, at="key", key=key,
                     suggestion=did_you_mean(key, known), choices=known)
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        report.error("bad_choice", path, value=value, choices=choices,
                     suggestion=did_you_mean(value, choices))
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        code = ("bad_name" if pattern == IDENT_PATTERN
                else "bad_version" if pattern == SEMVER_PATTERN else "bad_pattern")
        shown = path[-1] if e.on_key and path else value
        report.error(code, path, at="key" if e.on_key else "value", value=shown)
    elif kind == "string_too_short":
        limit = ctx.get("min_length", 1)
        report.error("empty_value" if limit == 1 else "too_short", path, name=_name(path),
                     limit=limit)
    elif kind in ("string_too_long", "too_long"):
        report.error("too_long", path, name=_name(path), limit=ctx.get("max_length", ""))
    elif kind in ("greater_than_equal", "greater_than"):
        report.error("too_small", path, name=_name(path), limit=ctx.get("ge", ctx.get("gt")))
    elif kind in ("less_than_equal", "less_than"):
        report.error("too_large", path, name=_name(path), limit=ctx.get("le", ctx.get("lt")))
    elif kind in _EXPECTED:
        _report_type_errors([e], report)
    elif kind == "value_error":
        detail = str(ctx.get("error", e.error.get("msg", "")))
        code = next((c for prefix, c in _VALUE_ERRORS if detail.startswith(prefix)),
                    "invalid_value")
        where = (report.source.enclosing(path) if isinstance(value, dict)
                 else report.source.locate(path))
        report.add("error", code, where, detail=detail.partition(": ")[2] or detail
                   if code in ("bad_regex", "regex_unsupported") else detail)
    else:
        report.error("invalid_value", path, detail=e.error.get("msg", kind))
