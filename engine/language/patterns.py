"""Field patterns, matched in linear time.

A field's `pattern` runs on every value a caseworker types, while the case's row is held
for writing. Python's `re` backtracks: `^(\\w+\\s?)*$` took 4.6 s on 27 characters. RE2
(google-re2) matches in time linear in the input whatever the pattern, so a definition
cannot stall the service through a pattern. RE2 does not take back-references (`\\1`) or
look-around (`(?=...)`, `(?!...)`, `(?<=...)`); a pattern using them is refused when the
definition loads, with a message saying so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

MAX_PROGRAM_BYTES = 8 << 20


class PatternError(ValueError):
    """A pattern that cannot be used; `unsupported` when it is valid Python but not RE2."""

    def __init__(self, message: str, *, unsupported: bool) -> None:
        super().__init__(message)
        self.unsupported = unsupported


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_BYTES
    return options


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 program of `pattern` (cached: patterns come from definitions)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"the pattern is not a valid regular expression: {exc}",
                           unsupported=False) from exc
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(f"the pattern cannot be matched in linear time: {detail}",
                           unsupported=True) from exc


def full_match(pattern: str, text: str) -> bool:
    """Whether the whole of `text` has the form `pattern` says."""
    return compile_pattern(pattern).fullmatch(text) is not None
