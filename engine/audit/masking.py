"""Personal data masked for readers without the `pii` permission: pure rules.

One set of rules for every reader: the HTTP API, exports and the command line all mask
through here, so a value hidden in one place cannot show in another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.core.compiler import CompiledWorkflow

__all__ = ["MASK", "mask_fields", "mask_value", "sensitive_names"]

MASK = "*"


def mask_value(value: Any) -> Any:
    """`350102199001011234` -> `3501**********1234`; short values are masked whole.

    The first and last four characters are kept only when at least half of the value stays
    hidden (16 characters or more); anything that is not text becomes `****`.
    """
    if value is None:
        return None
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if not isinstance(value, str):
        return MASK * 4
    if len(value) >= 16:
        return value[:4] + MASK * (len(value) - 8) + value[-4:]
    return MASK * len(value)


def mask_fields(values: Mapping[str, Any], sensitive: Iterable[str] | None) -> dict[str, Any]:
    """A copy of `values` with every sensitive name masked (`None`: every name, fail closed)."""
    if sensitive is None:
        return {k: mask_value(v) for k, v in values.items()}
    names = frozenset(sensitive)
    return {k: (mask_value(v) if k in names else v) for k, v in values.items()}


def sensitive_names(wf: CompiledWorkflow) -> frozenset[str]:
    """Every name the workflow marks sensitive, as a field or as a transition's input."""
    names = {name for name, spec in wf.fields.items() if spec.sensitive}
    for t in wf.transitions:
        names |= {name for name, spec in t.spec.input.items() if spec.sensitive}
    return frozenset(names)
