"""Forms generated from a workflow's typed fields, and the submitted text read back into
typed values: the helpers every desk uses.

A `FormField` is what `macros.html`'s `field()` renders: a label in the person's words (the
field's title, never its id), a widget chosen by type (dates get a date picker, numbers a
number box, enumerations a list of titles, long text a text area, yes/no two radio
buttons), the value typed so far and whether it is required. `read_values` turns the
submitted strings into the types the engine checks (`engine.language.values`), so that
the door's own validation speaks for the console exactly as it does for the API; only text
that cannot even be read as its type ("abc" as a number) is reported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from engine.language.spec import FieldSpec, as_text
from engine.language.texts import value_title
from engine.language.values import FieldProblem, problem

__all__ = ["FormField", "field_from_spec", "fields_from_specs", "problems_by_field",
           "read_values", "value_title"]

WIDGETS = {"string": "text", "text": "textarea", "integer": "number", "number": "number",
           "boolean": "yesno", "date": "date", "datetime": "datetime-local", "enum": "select",
           "list": "select", "reference": "text"}


@dataclass(frozen=True)
class FormField:
    """One field of a form, as the `field()` macro renders it."""

    name: str
    label: str
    widget: str = "text"
    value: Any = None
    required: bool = False
    hint: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    multiple: bool = False
    autocomplete: str | None = None

    def is_selected(self, option: str) -> bool:
        if isinstance(self.value, list | tuple):
            return option in list(self.value)
        return bool(self.value == option)


References = Callable[[FieldSpec], list[tuple[str, str]] | None]
"""The records a reference field may name, as (id, title), for a person; None when there
are too many to list (the field is then typed)."""


def field_from_spec(name: str, spec: FieldSpec, lang: str, value: Any = None,
                    references: References | None = None) -> FormField:
    """The form field of a typed case field or transition input; a reference is chosen
    among the records it may name, by their titles, when `references` lists them."""
    widget = WIDGETS.get(spec.type, "text")
    options = [(v, value_title(spec, v, lang)) for v in spec.value_ids]
    listed = references(spec) if spec.type == "reference" and references else None
    if listed is not None:
        widget, options = "select", listed
    if value is None:
        value = spec.default
    if spec.type == "datetime" and isinstance(value, str):
        value = value[:16]
    return FormField(name=name, label=as_text(spec.title, lang, name), widget=widget,
                     value=value, required=spec.required,
                     hint=as_text(spec.description, lang) or None, options=options,
                     multiple=spec.type == "list")


def fields_from_specs(specs: Mapping[str, FieldSpec], lang: str,
                      values: Mapping[str, Any] | None = None,
                      references: References | None = None) -> list[FormField]:
    return [field_from_spec(name, spec, lang, (values or {}).get(name), references)
            for name, spec in specs.items()]


def _read(spec: FieldSpec, raw: str) -> Any:
    """One submitted string as the field's type; ValueError when it cannot be read."""
    kind = spec.type
    if kind == "integer":
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    if kind == "datetime":
        text = raw if len(raw) > 16 else raw + ":00"
        return text + "+08:00" if "+" not in text[10:] and not text.endswith("Z") else text
    return raw


def read_values(specs: Mapping[str, FieldSpec], form: FormData, *, prefix: str = ""
                ) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The typed values of a submitted form (empty fields left out, for the door to judge
    what is required), and the fields whose text could not be read as their type."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, spec in specs.items():
        key = prefix + name
        if spec.type == "list":
            chosen = [v for v in form.getlist(key) if isinstance(v, str) and v]
            if chosen:
                values[name] = chosen
            continue
        raw = form.get(key)
        if not isinstance(raw, str) or not raw.strip():
            continue
        try:
            values[name] = _read(spec, raw.strip())
        except ValueError:
            problems.append(problem(name, f"type_{spec.type}", spec))
    return values, problems


def problems_by_field(problems: Iterable[Mapping[str, Any] | FieldProblem], lang: str,
                      labels: Mapping[str, str], prefix: str = "") -> dict[str, str]:
    """Field name -> the message shown beside it (and in the error summary), each message
    naming the field by its label."""
    found: dict[str, str] = {}
    for entry in problems:
        if isinstance(entry, FieldProblem):
            name, en, zh = entry.field, entry.en, entry.zh
        else:
            name = str(entry.get("field", ""))
            en, zh = str(entry.get("en", "")), str(entry.get("zh", ""))
        label = labels.get(name, name)
        message = f"“{label}”{zh}" if lang == "zh" else f"{label} {en}"
        found.setdefault(prefix + name, message)
    return found
