"""JSON columns on SQLite converted in one step (`engine.store.tables.json_text`) are what
SQLAlchemy's own conversions make of them: the same text written for every value, the
same value read from every text, and the same error where SQLAlchemy fails. PostgreSQL's
JSON text is read by `json_from_bytes` as `json.loads` reads it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from engine.store.tables.columns import JSONDoc, JSONType
from engine.store.tables.json_text import json_from_bytes, json_text, json_value

DIALECT = sqlite.dialect()
COLUMN = JSONType.dialect_impl(DIALECT)  # as an execution on SQLite uses it
WRITTEN = COLUMN.bind_processor(DIALECT)
READ = COLUMN.result_processor(DIALECT, None)
FAST_WRITTEN = json_text(COLUMN, DIALECT, WRITTEN)
FAST_READ = json_value(COLUMN, DIALECT, None, READ)

_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
           | st.sampled_from(["第0号组织", "\ud800", "\x00", "\"\\/\n"]))
VALUES = st.recursive(
    _LEAVES, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
    | st.dictionaries(st.text(max_size=5) | st.integers() | st.booleans() | st.none(), inner,
                      max_size=4), max_leaves=10)


def _outcome(convert: Any, value: Any) -> Any:
    """What `convert` makes of `value`, or the error it raises, as comparable data."""
    try:
        return "value", convert(value)
    except Exception as error:  # the same error is part of the same behaviour
        return "error", type(error).__name__, str(error)


def _same(one: Any, other: Any) -> bool:
    """Equal outcomes, NaN equal to NaN (read back from `NaN` text)."""
    if isinstance(one, float) and isinstance(other, float):
        return one == other or (math.isnan(one) and math.isnan(other))
    if isinstance(one, list | tuple) and isinstance(other, list | tuple):
        return type(one) is type(other) and len(one) == len(other) and all(
            _same(a, b) for a, b in zip(one, other, strict=True))
    if isinstance(one, dict) and isinstance(other, dict):
        return list(one) == list(other) and all(_same(one[k], other[k]) for k in one)
    return bool(one == other)


def test_sqlite_json_columns_take_the_one_step_conversions() -> None:
    assert FAST_WRITTEN is not WRITTEN
    assert FAST_READ is not READ


def test_postgresql_json_columns_keep_sqlalchemys_conversions_without_the_driver() -> None:
    """(With psycopg a dict is written as its text: tests/test_json_text_postgres.py.)"""
    dialect = postgresql.psycopg.dialect()
    column = JSONDoc.dialect_impl(dialect)
    general = column.bind_processor(dialect)
    assert json_text(column, dialect, general) is general
    read = column.result_processor(dialect, None)
    assert json_value(column, dialect, None, read) is read


@settings(max_examples=400)
@given(VALUES | st.dictionaries(st.text(max_size=5), VALUES, max_size=4))
def test_any_value_is_written_as_sqlalchemy_writes_it(value: Any) -> None:
    assert _same(_outcome(FAST_WRITTEN, value), _outcome(WRITTEN, value))


def test_a_dict_holding_itself_fails_as_sqlalchemy_fails() -> None:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    assert _outcome(FAST_WRITTEN, looped) == _outcome(WRITTEN, looped)
    assert _outcome(FAST_WRITTEN, looped)[0] == "error"


def test_a_dict_holding_what_json_cannot_write_fails_as_sqlalchemy_fails() -> None:
    value = {"when": object.__new__(object)}
    assert _outcome(FAST_WRITTEN, value)[:2] == _outcome(WRITTEN, value)[:2] == (
        "error", "TypeError")


def _texts() -> st.SearchStrategy[Any]:
    written = VALUES.map(lambda value: json.dumps(value))
    padded = st.tuples(st.sampled_from(["", " ", "\n", "\ufeff"]), written,
                       st.sampled_from(["", " ", "x", "}", "\t"])).map("".join)
    return written | padded | st.text(max_size=12) | st.integers() | st.none()


@settings(max_examples=400)
@given(_texts())
def test_any_stored_text_is_read_as_sqlalchemy_reads_it(text: Any) -> None:
    assert _same(_outcome(FAST_READ, text), _outcome(READ, text))


@pytest.mark.parametrize("text", ["", " ", "{", '{"a": 1} {', "\ufeff{}", "nul", "[1,]"])
def test_text_that_is_not_one_json_value_fails_as_sqlalchemy_fails(text: str) -> None:
    assert _outcome(FAST_READ, text) == _outcome(READ, text)
    assert _outcome(READ, text)[0] == "error"


def _bytes() -> st.SearchStrategy[bytes]:
    """What psycopg hands its JSON loader: PostgreSQL's text of a value, and worse."""
    written = VALUES.map(lambda value: json.dumps(value, ensure_ascii=False))
    padded = st.tuples(st.sampled_from(["", " ", "\n", "\ufeff"]), written,
                       st.sampled_from(["", " ", "x", "}", "\t"])).map("".join)
    return ((written | padded).map(lambda text: text.encode("utf-8", "surrogatepass"))
            | st.binary(max_size=12))


@settings(max_examples=400)
@given(_bytes())
def test_any_json_bytes_are_read_as_json_loads_reads_them(data: bytes) -> None:
    assert _same(_outcome(json_from_bytes, data), _outcome(json.loads, data))


@pytest.mark.parametrize("data", [b"", b"{", b'{"a": 1} {', b"\xef\xbb\xbf{}", b"nul",
                                  b"[1,]", b'"\xff"', b"{}\x00"])
def test_bytes_other_than_one_plain_json_value_go_to_json_loads(data: bytes) -> None:
    assert _outcome(json_from_bytes, data) == _outcome(json.loads, data)
