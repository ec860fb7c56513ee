"""Typed values of case fields and transition input: checking, and conversion for CEL.

Case data is stored as JSON-native values (dates as `YYYY-MM-DD`, datetimes as ISO 8601
with offset); expressions see dates and datetimes as CEL timestamps. Both directions live
here so that the two representations cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from engine.catalogue import Catalogue, Words
from engine.language import untrusted
from engine.language.environment import to_cel_time
from engine.language.patterns import full_match
from engine.language.spec import FieldSpec
from engine.language.texts import value_title

MAX_TEXT = 100_000
MAX_LIST_ITEMS = 10_000
"""Longest list a field or input holds: with the expression limits (no comprehension
inside another), it bounds what one evaluation of a guard can cost."""


@dataclass(frozen=True)
class FieldProblem:
    """One field's problem, in both languages."""

    field: str
    code: str
    en: str
    zh: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "en": self.en, "zh": self.zh}


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, str | date):
        raise ValueError
    return value if isinstance(value, date) else date.fromisoformat(value)


def _parse_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError
    return parsed


def _check_scalar(kind: str, spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """Return the normalised value, or a problem code."""
    if kind in ("string", "text"):
        if not isinstance(value, str):
            return value, "type_string"
        if len(value) > MAX_TEXT:
            return value, "too_long"
        return value, untrusted.text_flaw(value)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return value, "type_integer"
        return value, untrusted.number_flaw(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, "type_number"
        flaw = untrusted.number_flaw(value)
        return (value, flaw) if flaw else (float(value), None)
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (value, "type_boolean")
    if kind == "date":
        try:
            day = _parse_date(value)
        except (ValueError, TypeError):
            return value, "type_date"
        return (day.isoformat(), None) if untrusted.sane_day(day) else (value, "date_out_of_range")
    if kind == "datetime":
        try:
            moment = _parse_datetime(value)
        except (ValueError, TypeError):
            return value, "type_datetime"
        in_utc = untrusted.utc_instant(moment)
        return (value, "date_out_of_range") if in_utc is None else (in_utc.isoformat(), None)
    if kind == "enum":
        return (value, None) if value in (spec.values or []) else (value, "enum")
    if kind == "reference":
        return (value, None) if isinstance(value, str) and value else (value, "type_reference")
    return value, "type_unknown"


_MESSAGES = Catalogue.en_zh("field values", {
    "required": ("a value is required", "必须填写"),
    "unknown": ("not a field here", "不是这里的字段"),
    "type_string": ("must be text", "必须是文本"),
    "type_integer": ("must be a whole number", "必须是整数"),
    "type_number": ("must be a number", "必须是数字"),
    "type_boolean": ("must be true or false", "必须是 true 或 false"),
    "type_date": ("must be a date like 2026-07-01", "必须是日期，例如 2026-07-01"),
    "type_datetime": ("must be a date and time with a time zone, like 2026-07-01T09:00:00+08:00",
                      "必须是带时区的日期时间，例如 2026-07-01T09:00:00+08:00"),
    "type_list": ("must be a list", "必须是列表"),
    "type_reference": ("must be a case id", "必须是事项编号"),
    "enum": ("must be one of: {values}", "必须是以下之一：{values}"),
    "min": ("must be at least {min}", "不得小于 {min}"),
    "max": ("must be at most {max}", "不得大于 {max}"),
    "min_length": ("must be at least {min_length} characters", "至少 {min_length} 个字符"),
    "max_length": ("must be at most {max_length} characters", "至多 {max_length} 个字符"),
    "too_long": ("is too long", "过长"),
    "pattern": ("does not have the expected form ({pattern})", "格式不符（{pattern}）"),
})


def problem(name: str, code: str, spec: FieldSpec | None = None) -> FieldProblem:
    """A `FieldProblem` with its message filled in from the field's constraints.

    The allowed values of an enum are listed by their titles in each language.
    """
    args = {"min": _num(spec.min) if spec else "", "max": _num(spec.max) if spec else "",
            "min_length": spec.min_length if spec else "",
            "max_length": spec.max_length if spec else "",
            "pattern": spec.pattern if spec else ""}
    catalogue = _MESSAGES if code in _MESSAGES else untrusted.MESSAGES
    allowed = Words("", "") if spec is None else Words(
        *(("、" if lang == "zh" else ", ").join(value_title(spec, v, lang)
                                               for v in spec.value_ids)
          for lang in ("en", "zh")))
    words = catalogue.words(code, values=allowed, **args)
    return FieldProblem(name, code, words.en, words.zh)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _constraints(spec: FieldSpec, value: Any) -> str | None:
    """Range, length and pattern checks on an already well-typed value."""
    measure: float | None = None
    if spec.type in ("integer", "number"):
        measure = float(value)
    elif spec.type == "list":
        measure = float(len(value))
    if measure is not None and spec.min is not None and measure < spec.min:
        return "min"
    if measure is not None and spec.max is not None and measure > spec.max:
        return "max"
    if isinstance(value, str):
        if spec.min_length is not None and len(value) < spec.min_length:
            return "min_length"
        if spec.max_length is not None and len(value) > spec.max_length:
            return "max_length"
        if spec.pattern is not None and not full_match(spec.pattern, value):
            return "pattern"
    return None


def check_value(name: str, spec: FieldSpec, value: Any) -> tuple[Any, FieldProblem | None]:
    """Check one value against its field; return it normalised, or the problem."""
    if spec.type == "list":
        if not isinstance(value, list):
            return value, problem(name, "type_list", spec)
        if len(value) > MAX_LIST_ITEMS:
            return value, problem(name, "too_long", spec)
        items: list[Any] = []
        item_spec = FieldSpec(type=spec.items or "string", values=None)
        for element in value:
            normal, code = _check_scalar(item_spec.type, item_spec, element)
            if code is not None:
                return value, problem(name, code, item_spec)
            if spec.values is not None and normal not in spec.values:
                return value, problem(name, "enum", spec)
            items.append(normal)
        value = items
    else:
        value, code = _check_scalar(spec.type, spec, value)
        if code is not None:
            return value, problem(name, code, spec)
    code = _constraints(spec, value)
    return value, (problem(name, code, spec) if code else None)


def check_values(fields: Mapping[str, FieldSpec], values: Mapping[str, Any], *,
                 require: bool = True) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Check a set of values: unknown names, missing required ones, each value's type.

    Returns the normalised values (defaults filled in for absent optional fields that have
    one) and every problem found, so a caller can report them all at once.
    """
    clean: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name in values:
        if name not in fields:
            problems.append(problem(name, "unknown"))
    for name, spec in fields.items():
        if name in values and values[name] is not None:
            normal, found = check_value(name, spec, values[name])
            if found is not None:
                problems.append(found)
            else:
                clean[name] = normal
        elif spec.default is not None:
            clean[name] = spec.default
        elif spec.required and require:
            problems.append(problem(name, "required", spec))
    return clean, problems


def to_cel(fields: Mapping[str, FieldSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored values as expressions see them: dates and datetimes become timestamps."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        spec = fields.get(name)
        if value is None or spec is None:  # undeclared keys (left by an older version) stay hidden
            continue
        if spec.type == "date":
            out[name] = to_cel_time(date.fromisoformat(value))
        elif spec.type == "datetime":
            out[name] = to_cel_time(datetime.fromisoformat(value))
        else:
            out[name] = value
    return out


def from_cel(spec: FieldSpec, value: Any) -> Any:
    """An expression's result in the stored form of `spec` (timestamps back to dates)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        if spec.type == "date":
            return moment.astimezone(UTC).date().isoformat()
        return moment.astimezone(UTC).isoformat()
    if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
