"""Diagnostics a workflow designer can act on: located, in plain words, in English or Chinese.

A `Diagnostic` keeps a stable `code` and the values that caused it (`args`); its message is
rendered from the catalogue (`engine.language.messages`) in the language asked for, so
tools can match on the code while people read the words. Severity words (`error`,
`warning`) stay English in `format()` because editors and CI parse them.

`Reporter` turns a finding about a YAML path into a diagnostic located through the file's
`SourceMap` (`engine.language.source_map`). They live here so that the loader and the
linter share them without importing each other.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from engine.language.messages import MESSAGES, Lang, Words, render
from engine.language.source_map import Position, ScalarSpan, SourceMap, YamlPath

__all__ = [
    "MESSAGES", "Diagnostic", "Lang", "Position", "Reporter", "ScalarSpan", "Severity",
    "SourceMap", "Words", "YamlPath", "did_you_mean", "render", "without_thousands_separators",
]

Severity = Literal["error", "warning"]


_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def without_thousands_separators(value: object) -> str | None:
    """`50000` for a text like `50,000` (a number as people write it), else None."""
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        return value.strip().replace(",", "")
    return None


def did_you_mean(word: object, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`, if one is close enough to be a likely typo."""
    if not isinstance(word, str):
        return None
    options = [c for c in dict.fromkeys(candidates) if c != word]
    if not options:
        return None
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not found:
        found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        found = [lowered[f] for f in found]
    return found[0] if found else None


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a definition file, located for a designer.

    `code` and `args` are stable and machine-readable; `message` is `render(code, args)` in
    the language the file was loaded with. Line and column are 1-based.
    """

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    args: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def format(self) -> str:
        """`path:line:column: severity: message`, the form editors and CI understand."""
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def in_language(self, lang: str) -> Diagnostic:
        """The same diagnostic with its message in `lang`."""
        return replace(self, message=render(self.code, self.args, lang))

    def as_error(self) -> Diagnostic:
        """The same diagnostic counted as an error (`--strict`)."""
        return replace(self, severity="error")

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.line, self.column, 0 if self.severity == "error" else 1,
                self.code)


class Reporter:
    """Collects located diagnostics for one file in one language."""

    def __init__(self, path: str, lang: str = "en", source: SourceMap | None = None) -> None:
        self.path = path
        self.lang = lang
        self.source = source if source is not None else SourceMap()
        self.diagnostics: list[Diagnostic] = []

    def add(self, severity: Severity, code: str, position: Position, **args: Any) -> None:
        line, column = position
        self.diagnostics.append(Diagnostic(
            self.path, max(line, 1), max(column, 1), severity, code,
            render(code, args, self.lang), args))

    def error(self, code: str, where: Sequence[str | int],
              at: Literal["key", "value"] = "value", **args: Any) -> None:
        self.add("error", code, self.source.locate(where, at), **args)

    def warning(self, code: str, where: Sequence[str | int],
                at: Literal["key", "value"] = "value", **args: Any) -> None:
        self.add("warning", code, self.source.locate(where, at), **args)
