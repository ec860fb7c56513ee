"""What is wrong in an expression's text, found before or without evaluating it: where
the CEL parser's error points, habits from other languages said with their fix (`and`
for `&&`, thousands separators), and what could make an evaluation's cost grow beyond
its input (a comprehension inside another, a literal with too many elements).

`engine.language.expressions` checks names against the workflow's declarations; the
problems here are about the text itself. Offsets are 0-based into the source, string
literals blanked first so that nothing inside a string is taken for code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_LITERAL_ITEMS", "ExpressionProblem", "blank_strings", "cost_problems",
           "explained", "syntax_problem"]

_STRING = re.compile(r"""[rR]?(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""",
                     re.S)
_SYNTAX_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")


@dataclass(frozen=True)
class ExpressionProblem:
    """Something wrong in an expression, with its 0-based offset into the source."""

    code: str
    message: str
    offset: int = 0
    args: Mapping[str, Any] = field(default_factory=dict)


def blank_strings(source: str) -> str:
    """The source with string literals blanked out, offsets preserved."""
    return _STRING.sub(lambda m: " " * len(m.group(0)), source)


def syntax_problem(source: str, exc: ValueError) -> ExpressionProblem:
    """Turn the CEL parser's message into a problem located at its column."""
    text = str(exc)
    match = _SYNTAX_POSITION.search(text)
    if match is None:
        return ExpressionProblem("expression_syntax", text.splitlines()[0], 0, {"detail": text})
    line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
    lines = source.split("\n")
    offset = sum(len(part) + 1 for part in lines[: line - 1]) + max(column - 1, 0)  # 1-based
    return ExpressionProblem("expression_syntax", detail, offset, {"detail": detail})


MAX_LITERAL_ITEMS = 100
_MACRO = re.compile(r"\.\s*(all|exists_one|exists|map|filter)\s*\(")


def _closing(text: str, opening: int) -> int:
    """The index of the bracket closing the one at `opening` (strings already blanked)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[text[opening]]]
    for index in range(opening + 1, len(text)):
        char = text[index]
        if char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return index
    return len(text)


def cost_problems(blanked: str) -> list[ExpressionProblem]:
    """What could make an expression's cost grow beyond its input: a comprehension inside
    another (each element of a list visits every element of another), and large literals.

    Without these, an evaluation costs at most the size of the expression times the size
    of the largest list it reads, and lists are bounded when they are stored, so no
    definition can stall the service with one guard.
    """
    problems: list[ExpressionProblem] = []
    for macro in _MACRO.finditer(blanked):
        end = _closing(blanked, macro.end() - 1)
        inner = _MACRO.search(blanked, macro.end(), end)
        if inner is not None:
            problems.append(ExpressionProblem(
                "expression_nested_comprehension", "a comprehension inside another",
                inner.start() + 1, {"outer": macro.group(1), "inner": inner.group(1)}))
    for index, char in enumerate(blanked):
        if char not in "[{":
            continue
        end = _closing(blanked, index)
        body = blanked[index + 1:end]
        depth, items = 0, 1 if body.strip() else 0
        for inner_char in body:
            if inner_char in "([{":
                depth += 1
            elif inner_char in ")]}":
                depth -= 1
            elif inner_char == "," and depth == 0:
                items += 1
        if items > MAX_LITERAL_ITEMS:
            problems.append(ExpressionProblem(
                "expression_literal_too_large", "a literal with too many elements", index,
                {"count": items, "limit": MAX_LITERAL_ITEMS}))
    return problems


_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
_WORD_OPERATOR = re.compile(r"\b(and|or|not)\b")
_THOUSANDS = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w.])")


def explained(source: str) -> list[ExpressionProblem]:
    """Syntax errors whose cause is a habit from other languages, said with the fix."""
    blanked = blank_strings(source)
    problems = [ExpressionProblem("expression_word_operator", f"write {_WORD_OPERATORS[m[1]]}",
                                  m.start(), {"word": m[1], "operator": _WORD_OPERATORS[m[1]]})
                for m in _WORD_OPERATOR.finditer(blanked)]
    problems += [ExpressionProblem("expression_thousands_separator", "no thousands separators",
                                   m.start(), {"value": m[0], "plain": m[0].replace(",", "")})
                 for m in _THOUSANDS.finditer(blanked)]
    return problems
