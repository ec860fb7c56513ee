"""JSON columns converted on the hot path in one step where SQLAlchemy takes several.

On SQLite a JSON column's value is text: SQLAlchemy writes `json.dumps(value)` and reads
`json.loads(text)`, each through three or four Python layers (`JSON.bind_processor`'s
closure, `json.dumps`, `JSONEncoder.encode`, `iterencode`; `_SQliteJson`'s closure,
`json.loads`, `JSONDecoder.decode`, `raw_decode`) around the C encoder and scanner that do
the work. A change writes four such values and reads two. `json_text` and `json_value`
give the direct executor (`engine.store.direct`) the same conversions calling the C parts
at once for the common case (a dict to write, text to read) and SQLAlchemy's own
conversion for anything else; tests/test_json_text.py holds the two equal, errors too.

On PostgreSQL through psycopg, SQLAlchemy wraps the value in psycopg's `Jsonb`, whose
dumper (Python, per value) calls `json.dumps` and sends the text as a binary JSONB
parameter (version byte + the same text). The statement casts the parameter (`%(x)s::JSONB`),
so `json_text` gives the text itself instead: psycopg sends a str through its C dumper
with an unknown type, and the server parses the same text into the same JSONB value
(tests/test_json_text_postgres.py compares the stored values). psycopg reads JSON and
JSONB with `json.loads(bytes)` (three more layers: `detect_encoding`, `decode`,
`raw_decode`); the PostgreSQL engine reads them with `json_from_bytes`, the C scanner at
once on the text (`make_engine` gives it as the dialect's JSON deserializer).
"""

from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

import sqlalchemy as sa

__all__ = ["json_from_bytes", "json_text", "json_value"]

_MAKE: Any = getattr(_encoder, "c_make_encoder", None)  # not in typeshed
"""The C encoder `JSONEncoder.iterencode` makes for a one-shot encoding (None without the
C accelerator: SQLAlchemy's conversion is then kept)."""
_DEFAULT = json.JSONEncoder()
"""The encoder `json.dumps(value)` uses (`json._default_encoder`: every option default)."""
_SCAN: Any = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009 (not in typeshed)
"""What `json.loads(text)` runs (`json._default_decoder`) on the text from its start."""


def _plain_serializer(kind: Any, dialect: Any) -> bool:
    """Whether `kind`'s bind processor on `dialect` is SQLAlchemy's `json.dumps` alone."""
    return (isinstance(kind, sa.JSON) and type(kind).bind_processor is sa.JSON.bind_processor
            and getattr(dialect, "_json_serializer", None) is None
            and kind._str_impl.bind_processor(dialect) is None
            and _MAKE is not None)


def _psycopg_text_cast(kind: Any, dialect: Any) -> bool:
    """Whether `kind`'s bind processor on `dialect` wraps the value for psycopg's JSON
    dumper of `json.dumps` text, in a statement that casts the parameter to the column's
    type (`%(x)s::JSONB`), where that text given as a str makes the same value."""
    if (getattr(dialect, "driver", None) != "psycopg" or not isinstance(kind, sa.JSON)
            or getattr(dialect, "_json_serializer", None) is not None or _MAKE is None
            or not (dialect._bind_typing_render_casts and kind.render_bind_cast)):
        return False
    adapters = getattr(dialect, "_psycopg_adapters_map", None)
    if adapters is None:  # a dialect without its driver: nothing is executed with it
        return False
    from psycopg.adapt import PyFormat
    from psycopg.types.json import Json, Jsonb
    from sqlalchemy.dialects.postgresql import psycopg as pg

    wrapper = {pg._PGJSONB.bind_processor: Jsonb, pg._PGJSON.bind_processor: Json}.get(
        type(kind).bind_processor)
    return wrapper is not None and getattr(
        adapters.get_dumper(wrapper, PyFormat.AUTO), "_dumps", None) is json.dumps


def json_text(kind: Any, dialect: Any, general: Any) -> Any:
    """`general` (the column type's bind processor), or, for a JSON column whose value
    SQLAlchemy writes as `json.dumps(value)` (SQLite's text; psycopg's JSON parameter of a
    statement casting it), a function that makes that text of a dict with the C encoder
    at once (the same call `json.dumps` ends in) and leaves every other value to
    `general`."""
    if not (_plain_serializer(kind, dialect) or _psycopg_text_cast(kind, dialect)):
        return general
    make = _MAKE
    default, string = _DEFAULT.default, _encoder.encode_basestring_ascii

    def text(value: Any) -> Any:
        if type(value) is dict:
            # JSONEncoder.iterencode(value, _one_shot=True) with every option default.
            return "".join(make({}, default, string, None, ": ", ", ", False, False,
                                True)(value, 0))
        return general(value)

    return text


def json_value(kind: Any, dialect: Any, coltype: Any, general: Any) -> Any:
    """`general` (the column type's result processor), or, for a JSON column SQLAlchemy
    reads as `json.loads(text)`, a function that parses text holding exactly one JSON
    value with the C scanner at once (what `json.loads` ends in) and leaves anything else
    (other values, text with surrounding whitespace, text that is no JSON) to `general`,
    which reads it or fails as it always has."""
    if (general is None or not isinstance(kind, sa.JSON)
            or getattr(dialect, "_json_deserializer", None) is not None
            or kind._str_impl.result_processor(dialect, coltype) is not None
            or getattr(dialect, "supports_native_json_deserialization", False)):
        return general
    scan = _SCAN

    def value(raw: Any) -> Any:
        if type(raw) is str:
            try:
                found, end = scan(raw, 0)
            except StopIteration:
                return general(raw)
            if end == len(raw):
                return found
        return general(raw)

    return value


_FIRST = frozenset(b'{["-0123456789tfn')
"""First bytes of JSON text that `json.loads` reads as UTF-8 (no BOM, no NUL)."""


def json_from_bytes(data: bytes) -> Any:
    """`json.loads(data)`, for the JSON text PostgreSQL sends (UTF-8, one value, no
    surrounding whitespace) with the C scanner at once; anything else (other first
    bytes, whitespace around, text that is no JSON) goes to `json.loads`, which reads
    it or fails as it always has."""
    if data and data[0] in _FIRST:
        text = data.decode("utf-8", "surrogatepass")  # json.loads' decoding of such bytes
        try:
            found, end = _SCAN(text, 0)
        except StopIteration:
            return json.loads(data)
        if end == len(text):
            return found
    return json.loads(data)
