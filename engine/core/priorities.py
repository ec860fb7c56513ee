"""A case's priority, computed at every change: the quick path of `engine.core.guards.priority`.

A priority expression that reads only the plain names (`data`, `params`, `now`, ...: no
engine function) and reads its maps only through their members is evaluated over flat
names (`engine.language.flat`) against the values `engine.core.plans.bindings` prepares,
as a transition's plain conditions are: no expression `Environment` is built (its links
count, its comprehensions and its dataclass cost more than the evaluation). Anything else,
or a member without a value, takes `guards.priority`, whose answers these equal (a property
test holds the two equal on random cases of every shipped and fixture workflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cel

from engine.core import guards
from engine.core.compiler import CompiledWorkflow
from engine.core.plans import PLAIN, bindings
from engine.core.snapshot import CaseSnapshot
from engine.language.flat import Flat, flat_variables

__all__ = ["priority"]


@dataclass(frozen=True)
class _Planned:
    """What the quick path of one workflow's priority reads and runs."""

    roots: frozenset[str]
    fields: tuple[tuple[str, str], ...] | None
    flat: Flat


def _planned(wf: CompiledWorkflow) -> _Planned | None:
    """The quick path of `wf`'s priority, worked out on first use; None: there is none."""
    if "_priority_plan" in wf.__dict__:
        held: _Planned | None = wf.__dict__["_priority_plan"]
        return held
    expression = wf.priority
    found = None
    if expression is not None and expression.flat is not None and expression.names <= PLAIN:
        fields = expression.fields
        typed = None if fields is None else tuple(
            (name, wf.fields[name].type) for name in sorted(fields) if name in wf.fields)
        found = _Planned(expression.names, typed, expression.flat)
    # The workflow is frozen and immutable; the plan is a cache of what it implies.
    object.__setattr__(wf, "_priority_plan", found)
    return found


def priority(wf: CompiledWorkflow, case: CaseSnapshot, now: datetime,
             params: Mapping[str, Any]) -> float:
    """`engine.core.guards.priority`, over flat names when it can be."""
    if wf.priority is None:
        return 0.0
    planned = _planned(wf)
    if planned is None:
        return guards.priority(wf, case, now, params)
    variables = flat_variables(bindings(wf, planned, case, now, params, {}),
                               planned.flat.reads)
    if variables is None:
        return guards.priority(wf, case, now, params)
    try:
        value = planned.flat.program.execute(cel.Context(variables=variables))
    except Exception:  # guards.priority: any failure of the evaluation ranks 0
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)
