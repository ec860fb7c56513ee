"""Canonical JSON and the hash of a chained record: the bytes every hash of the ledger is
taken over (`engine.ledger.chain` for case histories, `engine.ledger.oplog` for the
operations log, `engine.ledger.checkpoints` for checkpoints).

Hashes are only reproducible if the bytes hashed are. ``canonical_json`` fixes every choice:
keys sorted (by code point), no whitespace, UTF-8 with non-ASCII text kept as is (Chinese
stays readable), timestamps as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (naive ones refused: an
unknown offset would be a guess), dates as ``YYYY-MM-DD``, floats as Python's shortest
round-trip repr (NaN and infinities refused, JSON has no such values), ``Decimal`` and
``UUID`` as strings, tuples as lists, ``true``/``false`` never confused with 1/0. A
timestamp, decimal or UUID hashes exactly like its canonical string, so a body hashes the
same before it is stored and after it is read back as plain JSON; store the body as the
output of ``canonical_json`` (or as any JSON that reads back to the same values).

Pure: no database, no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any
from uuid import UUID

__all__ = ["canonical_json", "chain_event", "check_hash", "event_hash", "format_datetime",
           "utc_text"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def format_datetime(value: datetime) -> str:
    if value.utcoffset() is None:
        raise ValueError(
            f"cannot hash the naive datetime {value.isoformat()}: give it a time zone"
        )
    u = value if value.tzinfo is UTC else value.astimezone(UTC)
    if type(u) is datetime:
        text = utc_text(u)
        return f"{text[:10]}T{text[11:]}Z"
    return (  # a subclass may write its own isoformat
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


_last: tuple[datetime | None, str] = (None, "")
"""The last instant `utc_text` wrote, held (so that no other object takes its identity),
with its text."""


def utc_text(u: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS.ffffff` of `u`, an exact `datetime` whose tzinfo is UTC: the
    first 26 characters of `isoformat` (one C call; the year always in four digits, the
    microseconds always written), which tests/test_ledger.py and tests/test_utc_columns.py
    hold to the seven fields formatted one by one.

    A change writes its one `now` three or four times (hashed as the event's `at`, stored
    as the event's `at` and the case's `entered_at` and `updated_at`): the last instant's
    text is kept and given again for the same object (an instant never changes)."""
    global _last
    last = _last  # one read: another thread may replace it meanwhile
    if last[0] is u:
        return last[1]
    text = u.isoformat(" ", "microseconds")[:26]
    _last = (u, text)
    return text


def _plain(value: Any, path: str) -> Any:
    """Turn ``value`` into plain JSON types (dict/list/str/int/float/bool/None)."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # an exact str, also for str subclasses and StrEnum
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot hash the non-finite number {value!r} at {path}")
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot hash the non-finite decimal {value!s} at {path}")
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"cannot hash a mapping key of type {type(key).__name__} at {path}: "
                    "keys must be strings"
                )
            out[str.__str__(key)] = _plain(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"cannot hash a value of type {type(value).__name__} at {path}")


class _Unusual(Exception):
    """A value `_common` leaves to `_plain` (which converts it or says what is wrong)."""


def _common(value: Any) -> Any:
    """`_plain` for values made only of the exact built-in types a change carries (str
    keys, str, int, bool, None, finite float, list, tuple, aware datetime): the same
    result, without building the path of every item for a message nobody reads; raises
    `_Unusual` at anything else."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            held = type(item)  # the scalars an event is mostly made of, without a call
            out[key] = item if (held is str or held is int or held is bool
                                or item is None) else _common(item)
        return out
    if kind is list or kind is tuple:
        return [_common(item) for item in value]
    if kind is float and math.isfinite(value):
        return value
    if kind is datetime and value.utcoffset() is not None:
        return format_datetime(value)
    raise _Unusual


def canonical_json(value: Any) -> bytes:
    """The one byte string that represents ``value`` for hashing.

    Sorted keys, no insignificant whitespace, UTF-8 with non-ASCII characters unescaped.
    Aware datetimes become UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; dates ``YYYY-MM-DD``;
    floats Python's shortest round-trip repr; ``Decimal`` and ``UUID`` strings; tuples
    lists. Raises ``ValueError`` for naive datetimes and NaN/infinite numbers, and
    ``TypeError`` for anything else that is not plain JSON (sets, bytes, non-string keys,
    arbitrary objects): guessing a representation would make hashes unstable.
    """
    return _text(value).encode("utf-8")


def _text(value: Any) -> str:
    """`canonical_json(value)` as text (before its UTF-8 encoding)."""
    if type(value) is dict:
        found = _object_text(value)
        if found is not None:
            return found
    try:
        plain = _common(value)
    except _Unusual:
        plain = _plain(value, "$")
    if _ONE_SHOT is None:
        return _CANONICAL.encode(plain)
    return "".join(_ONE_SHOT(plain, 0))


_string = json.encoder.encode_basestring  # a str as the encoder writes it (ensure_ascii off)
_SHAPES: dict[tuple[str, ...], tuple[Any, str]] = {}
"""A dict's keys, in the order it holds them -> what picks its values in sorted key order
(one C call) and the text of the dict with `%s` for each value (`{"actor":%s,"at":%s...}`)."""
_MOST_SHAPES = 1024
"""Shapes kept at most: the keys of an event body are the engine's, but those of its
input are the caller's; past this, a shape is worked out for each dict."""


def _shape(keys: tuple[str, ...]) -> tuple[Any, str] | None:
    found = _SHAPES.get(keys)
    if found is not None:
        return found
    for key in keys:
        if type(key) is not str:
            return None
    ordered = sorted(keys)  # by code point, as the encoder's sort_keys orders them
    picks = itemgetter(*ordered) if len(ordered) > 1 else lambda d: (d[ordered[0]],)
    members = ",".join(_string(key).replace("%", "%%") + ":%s" for key in ordered)
    found = (picks, "{" + members + "}")
    if len(_SHAPES) < _MOST_SHAPES:
        _SHAPES[keys] = found
    return found


def _object_text(value: dict[Any, Any]) -> str | None:
    """The canonical text of a dict whose keys are exact `str` and whose values are of
    the exact types a change carries (str, int, bool, None, finite float, aware datetime,
    and dicts of these), written without the plain copy `_common` makes for the encoder
    and without the encoder's sort of its items: the same text (tests/test_ledger.py
    holds the two to each other); None at anything else, which the caller then writes
    the general way (and which raises there what it raises)."""
    if not value:
        return "{}"
    shape = _shape(tuple(value))
    if shape is None:
        return None
    picks, template = shape
    texts = []
    for item in picks(value):
        kind = type(item)
        if kind is str:
            texts.append(_string(item))
        elif item is None:
            texts.append("null")
        elif kind is int:
            texts.append(int.__repr__(item))
        elif kind is bool:
            texts.append("true" if item else "false")
        elif kind is dict:
            found = _object_text(item)
            if found is None:
                return None
            texts.append(found)
        elif kind is datetime and item.utcoffset() is not None:
            texts.append(f'"{format_datetime(item)}"')
        elif kind is float and math.isfinite(item):
            texts.append(float.__repr__(item))
        else:
            return None
    return template % tuple(texts)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)
"""`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)` is `JSONEncoder(...)` with these options `.encode(value)`: the encoder
is made once (it keeps no state between calls) instead of at every hash."""
_MAKE: Any = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
_ONE_SHOT: Any = None if _MAKE is None else _MAKE(
    None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False,
    False)
"""What `_CANONICAL.encode` ends in (`JSONEncoder.iterencode`'s C encoder, with these
options), made once instead of at every call; no circular-reference markers: `_common` or
`_plain` has already walked the value (a cycle fails there)."""


def check_hash(value: object, what: str) -> str:
    if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
        raise ValueError(f"{what} must be 64 lowercase hex digits, got {value!r}")
    return value


def event_hash(previous_hash: str, body: Mapping[str, Any]) -> str:
    """``sha256(previous_hash as ASCII || canonical_json(body))`` as lowercase hex."""
    check_hash(previous_hash, "previous_hash")
    return chain_event(previous_hash, body)[0]


def chain_event(previous_hash: str, body: Mapping[str, Any]) -> tuple[str, str]:
    """`event_hash(previous_hash, body)` and the canonical text it hashed, which the event
    stores as its body (the door makes both once per change)."""
    canonical = _text(body)
    digest = hashlib.sha256(previous_hash.encode("ascii")
                            + canonical.encode("utf-8")).hexdigest()
    return digest, canonical
