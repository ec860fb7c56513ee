"""An expression over flat names: `data.count` read as one CEL variable, `data__count`.

Why: the CEL binding (common-expression-language 0.10) converts a Python map to a CEL map
by trying the map, and then each of its keys, as an integer first (i64, u64, then f64 for
the map), and every failed try formats a Python TypeError that is thrown away: about 13k
instructions for `{"data": {"count": 5}}`, against well under 1k for `{"data__count": 5}`.
A decision's three one-field maps (`data`, `params`, `input`) and a priority's `data` came
to about 80k instructions of a fire, more than its hash chain and seal.

So an expression that reads the maps (`data`, `input`, `params`, `checklist`) only through
their members (`root.member`, not as a whole, not inside `has()` or a comprehension) is
compiled a second time with each `root.member` replaced by a flat name, and is evaluated
against the members' values themselves whenever every member it reads has one: the same
CEL values, selected before the call instead of in it, so the same answer. When a member
is missing (a field with no value, whose error message names it) the caller evaluates the
nested form, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cel

from engine.language.expression_problems import blank_strings

__all__ = ["MAPS", "Flat", "flat_variables", "flattened", "merged_reads"]

MAPS = frozenset({"data", "input", "params", "checklist"})
"""The environment's maps: what an expression reads through `root.member`."""

Read = tuple[str, str, str]
"""One member read: its map, its name in that map, and its flat name."""

_MEMBER = re.compile(r"\b(data|input|params|checklist)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\b")
_UNFLATTENABLE = re.compile(
    r"\bhas\s*\(|\.\s*(?:all|exists|exists_one|map|filter)\s*\(")
"""`has(data.x)` needs the select itself; a comprehension's variable may shadow a root."""


@dataclass(frozen=True)
class Flat:
    """The flat form of an expression: its program and the members it reads."""

    program: Any
    reads: tuple[Read, ...]


def flattened(source: str, program: Any) -> Flat | None:
    """The flat form of `source` (compiled as `program`); None when it reads a map otherwise
    than through its members. An expression that reads no map is its own flat form."""
    blanked = blank_strings(source)
    if _UNFLATTENABLE.search(blanked):
        return None
    reads: dict[Read, None] = {}
    pieces: list[str] = []
    done = 0
    for match in _MEMBER.finditer(blanked):
        before = blanked[:match.start()].rstrip()
        after = blanked[match.end():].lstrip()
        if before.endswith(".") or after.startswith("("):
            return None  # a member of something else, or a method called on the map
        root, member = match.group(1), match.group(2)
        name = f"{root}__{member}"
        reads[(root, member, name)] = None
        pieces += [source[done:match.start()], name]
        done = match.end()
    if not reads:
        return None if MAPS.intersection(program.variables()) else Flat(program, ())
    pieces.append(source[done:])
    try:
        flat = cel.compile("".join(pieces))
    except ValueError:
        return None
    names = {name for _, _, name in reads}
    expected = (set(program.variables()) - MAPS) | names
    if set(flat.variables()) != expected or list(flat.functions()) != list(program.functions()):
        return None  # a map still read as a whole, or anything not foreseen
    return Flat(flat, tuple(reads))


def merged_reads(flats: Iterable[Flat]) -> tuple[Read, ...]:
    """The members several flat expressions read, each once."""
    return tuple(dict.fromkeys(read for flat in flats for read in flat.reads))


def flat_variables(variables: Mapping[str, Any], reads: tuple[Read, ...]
                   ) -> dict[str, Any] | None:
    """`variables` (the nested CEL bindings) with the maps replaced by the members `reads`
    names; None when one of those members has no value (the nested form then answers)."""
    found = {name: value for name, value in variables.items() if name not in MAPS}
    for root, member, name in reads:
        values = variables.get(root)
        if values is None or member not in values:
            return None
        found[name] = values[member]
    return found
