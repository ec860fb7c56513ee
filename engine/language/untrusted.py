"""What a value from outside must be before anything stores, hashes or queries it.

Pure checks, shared by the HTTP edge, the service and the store's cursors, so that a client's
value is refused with a located 4xx instead of failing later in hashing, in a database
driver or in a date conversion:

- text: no NUL (PostgreSQL cannot store it in text or JSON) and no lone UTF-16 surrogate
  (it cannot be encoded as UTF-8, so it can be neither hashed nor stored);
- numbers: finite (JSON has no NaN or Infinity; `1e309` parses as Infinity) and integers
  within 64 bits (what both databases compare and index);
- instants and days: years 1800 to 2999, and an instant's conversion to UTC cannot
  overflow (`0001-01-01T00:00:00+01:00` would fall before year 1).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from engine.catalogue import Catalogue

MIN_YEAR = 1800
MAX_YEAR = 2999
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

MESSAGES = Catalogue.en_zh("untrusted values", {
    "nul_character": ("must not contain the NUL character (\\u0000)",
                      "不得包含空字符（\\u0000）"),
    "lone_surrogate": ("contains a lone UTF-16 surrogate, which is not a character",
                       "含有孤立的 UTF-16 代理码元，不是有效字符"),
    "not_finite": ("must be a finite number (not NaN, Infinity or beyond 1.8e308)",
                   "必须是有限的数（不能是 NaN、Infinity 或超过 1.8e308）"),
    "integer_too_large": ("must be an integer within 64 bits (±9223372036854775807)",
                          "必须是 64 位以内的整数（±9223372036854775807）"),
    "date_out_of_range": (f"must be a date between the years {MIN_YEAR} and {MAX_YEAR}",
                          f"日期须在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间"),
    "too_deep": ("is nested too deeply", "嵌套层次过深"),
})

MAX_DEPTH = 64


@dataclass(frozen=True)
class Flaw:
    """Where a value goes wrong (`path`: keys and indexes from its root) and how."""

    path: tuple[str | int, ...]
    code: str

    @property
    def en(self) -> str:
        return MESSAGES[self.code].en

    @property
    def zh(self) -> str:
        return MESSAGES[self.code].zh

    def where(self, root: str = "") -> str:
        """The path as people write it: `data.members.2.name`."""
        parts = [root] if root else []
        shown = [_BAD_TEXT.sub(_escaped, str(p)) for p in self.path]
        return ".".join([*parts, *shown]) or "value"


def _escaped(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def text_flaw(text: str) -> str | None:
    """The code of what is wrong with `text`, or None."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    return "nul_character" if found.group() == "\x00" else "lone_surrogate"


def clean_text(text: str) -> bool:
    return _BAD_TEXT.search(text) is None


def number_flaw(value: int | float) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else "integer_too_large"
    return None if math.isfinite(value) else "not_finite"


def year_in_range(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def sane_day(value: date) -> bool:
    return year_in_range(value.year)


def utc_instant(value: datetime) -> datetime | None:
    """`value` in UTC (a value without a zone is read as UTC), or None when it lies outside
    the years this system accepts or cannot be converted."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not year_in_range(value.year):
        return None
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment if year_in_range(moment.year) else None


def flaws(value: Any, path: tuple[str | int, ...] = (), depth: int = 0) -> Iterator[Flaw]:
    """Every flaw of a JSON-like value (keys too), in document order."""
    if depth > MAX_DEPTH:
        yield Flaw(path, "too_deep")
        return
    if isinstance(value, str):
        code = text_flaw(value)
        if code:
            yield Flaw(path, code)
    elif isinstance(value, int | float):
        code = number_flaw(value)
        if code:
            yield Flaw(path, code)
    elif isinstance(value, dict):
        for key, item in value.items():
            code = text_flaw(key) if isinstance(key, str) else None
            if code:
                yield Flaw((*path, key), code)
            yield from flaws(item, (*path, key), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from flaws(item, (*path, index), depth + 1)
    elif isinstance(value, _Refused):
        yield Flaw(path, value.code)


def first_flaw(value: Any) -> Flaw | None:
    return next(flaws(value), None)


class _Refused:
    """Stands in, while parsing, for a number JSON should not carry (found by `flaws`)."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code


def _constant(_: str) -> _Refused:
    return _Refused("not_finite")


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("not_finite")


def _int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > 19:
        return _Refused("integer_too_large")
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else _Refused("integer_too_large")


def loads(raw: str | bytes) -> tuple[Any, list[Flaw]]:
    """Parse JSON as `json.loads` does, and return every flaw found in it (NaN, Infinity,
    numbers out of range, NUL, lone surrogates, nesting too deep). Raises ValueError for
    text that is not JSON at all."""
    value = json.loads(raw, parse_constant=_constant, parse_float=_float, parse_int=_int)
    return value, list(flaws(value))
