"""Texts people read: labels with values filled in, and values shown by their titles.

A refusal that says "at most 50,000 yuan" is wrong the day a community sets `max_budget`
to 80,000, so refusal texts and titles may name values instead of repeating them:

    refusal: "预算不得超过 {params.max_budget} 元"

`{params.NAME}`, `{data.FIELD}` and `{input.FIELD}` are replaced by the value as a person
reads it: an enumerated value by its title in the reader's language, true/false as
yes/no (是/否), a whole number without `.0`. `{{` and `}}` stand for the braces themselves.
A placeholder whose value is not known where the text is shown (a field with no value
yet, a diagram drawn without a case) shows the field's or parameter's title instead.

The loader checks every placeholder against the workflow's declarations, so a misspelt
name is a located error when the file loads, never a stray brace in front of a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.catalogue import Catalogue
from engine.language.diagnostics import Reporter, Words, YamlPath, did_you_mean
from engine.language.spec import (
    FieldSpec,
    Label,
    ParameterSpec,
    StateSpec,
    TransitionSpec,
    WorkflowSpec,
    as_text,
)

ROOTS = ("params", "data", "input")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"(params|data|input)\.([a-z][a-z0-9_]*)")

_YES_NO = Catalogue.en_zh("yes/no", {"yes": ("yes", "是"), "no": ("no", "否")})


@dataclass(frozen=True)
class Placeholder:
    """A `{root.name}` in a text, at `offset` (0-based) into it; `root` is "" when the
    braces hold something that is not a name this language knows."""

    root: str
    name: str
    offset: int
    raw: str


def placeholders(text: str) -> Iterator[Placeholder]:
    """Every placeholder of `text`, in order (escaped braces are skipped)."""
    for match in _PLACEHOLDER.finditer(text):
        inner = match.group(1)
        if inner is None:
            continue
        found = _NAME.fullmatch(inner.strip())
        if found is None:
            yield Placeholder("", "", match.start(), inner)
        else:
            yield Placeholder(found.group(1), found.group(2), match.start(), inner)


def label_texts(label: Label | None) -> list[str]:
    """The texts of a label (both languages of a pair)."""
    if label is None:
        return []
    if isinstance(label, str):
        return [label]
    return [t for t in (label.zh, label.en) if t]


@dataclass(frozen=True)
class Values:
    """What placeholders may show: the declarations (for titles) and the values known."""

    fields: Mapping[str, FieldSpec]
    parameters: Mapping[str, ParameterSpec]
    params: Mapping[str, Any]
    data: Mapping[str, Any]
    input_fields: Mapping[str, FieldSpec]
    input: Mapping[str, Any]

    def spec_of(self, root: str, name: str) -> FieldSpec | ParameterSpec | None:
        declared: Mapping[str, FieldSpec | ParameterSpec] = (
            self.parameters if root == "params" else
            self.input_fields if root == "input" else self.fields)
        return declared.get(name)

    def value_of(self, root: str, name: str) -> Any:
        known = self.params if root == "params" else self.input if root == "input" else self.data
        return known.get(name)


def fill(label: Label | None, lang: str, values: Values | None, default: str = "") -> str:
    """`label` in `lang` with its placeholders replaced (see the module's docstring)."""
    text = as_text(label, lang, default)
    if "{" not in text and "}" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        found = _NAME.fullmatch((match.group(1) or "").strip())
        if found is None or values is None:
            return whole
        root, name = found.group(1), found.group(2)
        spec = values.spec_of(root, name)
        value = values.value_of(root, name)
        if value is None:
            return as_text(spec.title if spec is not None else None, lang, name)
        field = spec if isinstance(spec, FieldSpec) else None
        if root == "input" and (field is None or not isinstance(field.values, dict)):
            field = values.fields.get(name, field)  # an input copied into a titled field
        return shown(field, value, lang)

    return _PLACEHOLDER.sub(replace, text)


def shown(spec: FieldSpec | None, value: Any, lang: str) -> str:
    """A value as a person reads it in `lang`: enum values by their titles."""
    if value is None:
        return ""
    if isinstance(value, bool):
        yes, no = _YES_NO.text("yes", lang), _YES_NO.text("no", lang)
        return yes if value else no
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        separator = "、" if lang == "zh" else ", "
        return separator.join(shown(spec, v, lang) for v in value)
    if spec is not None and isinstance(value, str):
        return value_title(spec, value, lang)
    return str(value)


def value_title(spec: FieldSpec, value: str, lang: str) -> str:
    """The title of one enumerated value (the value itself when it has none)."""
    if isinstance(spec.values, dict):
        return as_text(spec.values.get(value), lang, value)
    return value


# --- checking placeholders when a definition loads ------------------------------------

_WHAT = Catalogue("designer.placeholder_roots", {
    "params": Words("not a declared parameter", "不是已声明的参数"),
    "data": Words("not a declared field", "不是已声明的字段"),
    "input": Words("not an input of this transition", "不是此流转的输入项"),
})


def check_texts(spec: WorkflowSpec, report: Reporter) -> None:
    """Every placeholder of every title and refusal names something declared.

    Refusal texts may show the transition's input; titles may show parameters and fields.
    Most labels have no placeholder: those are passed over before any path is built.
    """
    _check_label(spec.title, (), "title", spec, None, report)
    _check_label(spec.description, (), "description", spec, None, report)
    for where, state in _states(spec.states, ("states",)):
        _check_label(state.title, where, "title", spec, None, report)
        _check_label(state.description, where, "description", spec, None, report)
        for item, entry in state.checklist.items():
            if _has_placeholder(entry.title):
                _check_label(entry.title, (*where, "checklist", item), "title", spec, None,
                             report)
        for position, timer in enumerate(state.timers):
            if _has_placeholder(timer.title):
                _check_label(timer.title, (*where, "timers", position), "title", spec, None,
                             report)
    for i, t in enumerate(spec.transitions):
        if not (_has_placeholder(t.title) or _has_placeholder(t.description)
                or _has_placeholder(t.refusal) or t.conditions):
            continue
        where = ("transitions", i)
        _check_label(t.title, where, "title", spec, None, report)
        _check_label(t.description, where, "description", spec, None, report)
        _check_label(t.refusal, where, "refusal", spec, t, report)
        for position, condition in enumerate(t.conditions):
            _check_label(condition.refusal, (*where, "conditions", position), "refusal", spec,
                         t, report)


def _has_placeholder(label: Label | None) -> bool:
    if label is None:
        return False
    if isinstance(label, str):
        return "{" in label
    return "{" in (label.zh or "") or "{" in (label.en or "")


def _states(states: Mapping[str, StateSpec], prefix: YamlPath
            ) -> Iterator[tuple[YamlPath, StateSpec]]:
    for sid, state in states.items():
        yield (*prefix, sid), state
        yield from _states(state.states, (*prefix, sid, "states"))


def _check_label(label: Label | None, owner: YamlPath, key: str, spec: WorkflowSpec,
                 transition: TransitionSpec | None, report: Reporter) -> None:
    """The placeholders of the label at `owner` + `key`."""
    if label is None or not _has_placeholder(label):
        return  # no placeholder (most labels): nothing to check
    where = (*owner, key)
    places: list[tuple[YamlPath, str]] = (
        [(where, label)] if isinstance(label, str)
        else [((*where, lang), text) for lang, text in (("zh", label.zh), ("en", label.en))
              if text])
    declared: dict[str, Mapping[str, object]] = {
        "params": spec.parameters, "data": spec.fields,
        "input": transition.input if transition is not None else {},
    }
    for path, text in places:
        for found in placeholders(text):
            position = report.source.offset(path, found.offset)
            if not found.root or (found.root == "input" and transition is None):
                shown_input = (Words(", {input.FIELD}", "、{input.字段}")
                               if transition is not None else Words("", ""))
                report.add("error", "placeholder_unknown", position, name=found.raw,
                           input=shown_input)
            elif found.name not in declared[found.root]:
                report.add("error", "placeholder_undeclared", position, root=found.root,
                           name=found.name, what=_WHAT[found.root],
                           suggestion=did_you_mean(found.name, declared[found.root]))
