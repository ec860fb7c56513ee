"""Conditions on the input an event recorded, as auditors write them in a query string.

`activity_sessions>20`, `result=passed`, `urgent=true`: a field name, a comparison and a
value. Parsing is pure and separate from the query so the API can name the parameter that
was wrong; the repository turns a condition into a JSON-path comparison that SQLite
(`json_extract`) and PostgreSQL (`->>`) both evaluate on the rows the indexed filters left.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, get_args

Operator = Literal["=", "!=", ">", ">=", "<", "<="]
_OPERATORS: dict[str, Operator] = {op: op for op in get_args(Operator)}
_CONDITION = re.compile(r"^([a-z][a-z0-9_]{0,63})\s*(>=|<=|!=|=|>|<)\s*(.{0,200})$", re.S)


class ConditionError(ValueError):
    """The text is not `field OP value`."""


@dataclass(frozen=True)
class InputCondition:
    """`field OP value` on an event's recorded input."""

    field: str
    op: Operator
    value: str | float | bool

    @property
    def numeric(self) -> bool:
        return isinstance(self.value, float)


def split_condition(text: str) -> tuple[str, Operator, str]:
    """`field OP value` split into its three parts; `ConditionError` saying the expected
    form when `text` is not one."""
    match = _CONDITION.match(text.strip())
    if match is None:
        raise ConditionError(
            f"'{text[:80]}' is not a condition: write field, comparison and value, "
            "for example activity_sessions>20 or result=passed")
    return match.group(1), _OPERATORS[match.group(2)], match.group(3).strip()


def parse_condition(text: str) -> InputCondition:
    """Parse `field OP value` without knowing the field's type: finite numbers compare as
    numbers, true/false as booleans, anything else as text. (The API types a condition by
    the field's declared type instead: `engine.audit.conditions`.)

    Raises `ConditionError` with a message saying what form is expected.
    """
    name, op, raw = split_condition(text)
    value: str | float | bool
    if raw in ("true", "false"):
        value = raw == "true"
    else:
        try:
            value = float(raw)
        except ValueError:
            value = raw
        if isinstance(value, float) and not math.isfinite(value):
            value = raw
    if isinstance(value, bool | str) and op not in ("=", "!="):
        raise ConditionError(f"'{op}' compares numbers; '{raw[:40]}' is not a number")
    return InputCondition(name, op, value)
