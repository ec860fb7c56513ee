"""What the workflows declare, read over every stored version (retired ones too, since
their cases and events stay): the type that gives an input condition's value its meaning,
and which names and titles are personal data.

A value recorded under a version that marked its field sensitive stays personal data when
a later version drops the mark: so sensitivity is the union over every version, and a
reader without `pii` may neither filter on such a name nor search the titles that any
version masks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.audit.filters import ConditionError, InputCondition, split_condition
from engine.audit.masking import sensitive_names
from engine.catalogue import Catalogue
from engine.core.compiler import CompiledWorkflow
from engine.errors import HatcheryError
from engine.language import untrusted
from engine.language.spec import FieldSpec
from engine.store.db import read_connection
from engine.store.tables import DEFINITIONS

_DEFINITIONS = DEFINITIONS

KINDS = {"integer": "number", "number": "number", "boolean": "boolean", "date": "date",
         "datetime": "datetime", "string": "text", "text": "text", "enum": "text",
         "reference": "text"}
ORDERED = frozenset({"number", "date", "datetime"})
# What a condition's field is recorded as, in words (a kind of None is a list).
_KIND_WORDS = Catalogue.en_zh("audit.condition_kinds", {
    "number": ("a number", "数字"), "boolean": ("true or false", "是/否"),
    "date": ("a date", "日期"), "datetime": ("a date and time", "日期时间"),
    "text": ("text", "文本"), "list": ("a list", "列表")})


@dataclass(eq=False)
class TypedConditionError(ConditionError):
    """A condition refused for what its field is declared as; `code`, `en` and `zh`."""

    code: str
    en: str
    zh: str

    def __post_init__(self) -> None:
        super().__init__(self.en)


def stored_workflows(registry: Any, engine: Engine,
                     workflow_id: str | None = None) -> list[CompiledWorkflow]:
    """Every stored version (of `workflow_id`, or of every workflow), retired or not."""
    query = sa.select(_DEFINITIONS.c.id, _DEFINITIONS.c.version)
    if workflow_id is not None:
        query = query.where(_DEFINITIONS.c.id == workflow_id)
    with read_connection(engine) as connection:
        pairs = [(r.id, r.version) for r in connection.execute(query)]
    found = []
    for wf_id, version in sorted(pairs):
        try:
            found.append(registry.get(wf_id, version))
        except HatcheryError:  # a stored text this code no longer compiles: nothing declared
            continue
    return found


def declarations(workflows: Iterable[CompiledWorkflow], name: str) -> Iterator[FieldSpec]:
    """Every declaration of `name`: as a field of a workflow or an input of a transition
    (a start records the initial data, a transition its input)."""
    for wf in workflows:
        if name in wf.fields:
            yield wf.fields[name]
        for t in wf.transitions:
            if name in t.spec.input:
                yield t.spec.input[name]


def sensitive_anywhere(workflows: Iterable[CompiledWorkflow]) -> frozenset[str]:
    """The names any of `workflows` marks sensitive."""
    names: set[str] = set()
    for wf in workflows:
        names |= sensitive_names(wf)
    return frozenset(names)


def masked_title_versions(workflows: Iterable[CompiledWorkflow]) -> list[tuple[str, str]]:
    """(workflow, version) pairs whose case titles are masked for readers without `pii`:
    the title field is sensitive there, or a sensitive name is the title under any version
    of the workflow (the title column keeps what the version of its case computed)."""
    by_id: dict[str, list[CompiledWorkflow]] = {}
    for wf in workflows:
        by_id.setdefault(wf.id, []).append(wf)
    masked = []
    for versions in by_id.values():
        sensitive = sensitive_anywhere(versions)
        for wf in versions:
            if wf.spec.title_field is None or wf.spec.title_field in sensitive:
                masked.append((wf.id, wf.version))
    return masked


def hidden_titles(registry: Any, engine: Engine, pii: bool,
                  text: str | None) -> list[tuple[str, str]]:
    """What a title search by a reader with or without `pii` must pass over."""
    if pii or not text:
        return []
    return masked_title_versions(stored_workflows(registry, engine))


def typed_condition(text: str, workflows: list[CompiledWorkflow]) -> InputCondition:
    """`field OP value` with the value read as the field's declared type.

    Refused (`TypedConditionError`) when no workflow declares the field, when workflows
    declare it as different kinds, when the operator does not apply to the kind (`>` on
    text), or when the value is not of the kind (`abc` for a number, `nan`).
    """
    name, op, raw = split_condition(text)
    kinds = {KINDS.get(spec.type) for spec in declarations(workflows, name)}
    if not kinds:
        raise TypedConditionError(
            "unknown_input_field", f"no workflow here records an input named '{name}'",
            f"这里没有流程记录名为“{name}”的输入")
    if len(kinds) > 1:
        shown = ", ".join(sorted(_KIND_WORDS[k or "list"].en for k in kinds))
        raise TypedConditionError(
            "ambiguous_input_field",
            f"'{name}' is recorded as {shown} by different workflows: add workflow=...",
            f"不同流程以不同类型记录“{name}”：请同时指定 workflow")
    kind = kinds.pop()
    words = _KIND_WORDS[kind or "list"]
    if kind is None or (op not in ("=", "!=") and kind not in ORDERED):
        raise TypedConditionError(
            "condition_operator", f"'{op}' cannot compare {words.en} ('{name}')",
            f"“{op}”不能用于比较{words.zh}（“{name}”）")
    value = _value(kind, raw)
    if value is None:
        raise TypedConditionError(
            "condition_value", f"'{name}' is {words.en}; '{raw[:40]}' is not",
            f"“{name}”是{words.zh}，“{raw[:40]}”不是")
    return InputCondition(name, op, value)


def _value(kind: str, raw: str) -> str | float | bool | None:
    """`raw` read as `kind`, in the form the store keeps it; None when it is not one."""
    if untrusted.text_flaw(raw):
        return None
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw.lower())
    if kind == "date":
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None
        return day.isoformat() if untrusted.sane_day(day) else None
    if kind == "datetime":
        try:
            moment = untrusted.utc_instant(datetime.fromisoformat(raw))
        except ValueError:
            return None
        return None if moment is None else moment.isoformat()
    return raw
