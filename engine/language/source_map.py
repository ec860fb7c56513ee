"""Where every key and value of a YAML file sits (1-based line and column), addressed by
the path of keys and list indices that pydantic also uses; `offset` places a character of
an expression inside its scalar, however the scalar is written (plain, quoted, block)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

YamlPath = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass(frozen=True)
class ScalarSpan:
    """Where a scalar's text sits in the file and how it is written (plain, quoted, block)."""

    style: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass
class SourceMap:
    """Positions (1-based line, column) of keys and values, addressed by YAML path.

    A map may be filled on demand (`defer`): a file without problems never needs a
    position, and noting each of its thousands costs about a fifth of its loading.
    """

    text: str = ""
    keys: dict[YamlPath, Position] = field(default_factory=dict)
    values: dict[YamlPath, Position] = field(default_factory=dict)
    scalars: dict[YamlPath, ScalarSpan] = field(default_factory=dict)
    _fill: Callable[[SourceMap], None] | None = field(default=None, repr=False,
                                                      compare=False)

    def defer(self, fill: Callable[[SourceMap], None]) -> None:
        """Have `fill` note the positions, once, before the first lookup."""
        self._fill = fill

    def forget(self) -> None:
        """Drop a deferred fill and what it would read (a file's whole node graph) once no
        position will be asked for, so that reference counting frees them at once even when
        a closure of the linter still holds this map in a cycle."""
        self._fill = None

    def _ready(self) -> None:
        fill, self._fill = self._fill, None
        if fill is not None:
            fill(self)

    def locate(self, path: Sequence[str | int], at: Literal["key", "value"] = "value"
               ) -> Position:
        """Where `path` is written, or the nearest enclosing place that is."""
        self._ready()
        here = tuple(path)
        if at == "key" and here in self.keys:
            return self.keys[here]
        if here in self.values:
            return self.values[here]
        if here in self.keys:
            return self.keys[here]
        return self.enclosing(here[:-1]) if here else (1, 1)

    def enclosing(self, path: YamlPath) -> Position:
        """The place of the mapping or list at `path`: its key when it has one."""
        self._ready()
        while path:
            if path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def offset(self, path: Sequence[str | int], offset: int) -> Position:
        """Where the character at `offset` of the scalar at `path` is written.

        Exact for single-line plain and quoted scalars and for literal blocks (`|`); for
        text folded over several lines, counted line by line (an escape sequence or a
        blank line may shift it by a character).
        """
        self._ready()
        span = self.scalars.get(tuple(path))
        if span is None:
            return self.locate(path)
        lines = self.text.split("\n")
        segments: list[tuple[int, int, int]] = []  # (line, column, length), 1-based
        if span.style in ("|", ">"):
            start = span.line  # the header line is span.line; content starts below it
            last = span.end_line - 1 if span.end_column == 1 else span.end_line
            content = lines[start:last]
            indent = next((len(t) - len(t.lstrip(" ")) for t in content if t.strip()), 0)
            for number, raw in enumerate(content, start=start + 1):
                segments.append((number, indent + 1, max(len(raw) - indent, 0)))
        else:
            quote = 1 if span.style in ("'", '"') else 0
            for number in range(span.line, span.end_line + 1):
                raw = lines[number - 1] if number - 1 < len(lines) else ""
                if number == span.line:
                    first = span.column + quote
                    stop = span.end_column - quote if span.end_line == span.line else len(raw)
                    segments.append((number, first, max(stop - first + 1, 0)))
                else:
                    stripped = raw.lstrip(" \t")
                    segments.append((number, len(raw) - len(stripped) + 1, len(stripped)))
        remaining = max(offset, 0)
        for number, column, length in segments:
            if remaining <= length:
                return number, column + remaining
            remaining -= length + 1
        if segments:  # past the end (an expression that stops too early): its last character
            number, column, length = segments[-1]
            return number, column + max(length - 1, 0)
        return (span.line, span.column)
