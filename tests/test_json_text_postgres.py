"""JSONB values the direct executor writes as JSON text (`engine.store.tables.json_text`:
a dict's `json.dumps` text, bound to the statement's `::JSONB` cast) are stored exactly as
SQLAlchemy's own conversion (psycopg's `Jsonb` wrapper, a binary JSONB parameter) stores
them: the same JSONB value, the same text read back, the same refusal. PostgreSQL only."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from engine.store.db import read_connection, write_connection
from engine.store.direct import Direct
from engine.store.tables.columns import JSONDoc
from engine.store.tables.json_text import json_text

pytestmark = pytest.mark.postgres

_METADATA = sa.MetaData()
PROBE = sa.Table("json_text_probe", _METADATA,
                 sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                 sa.Column("doc", JSONDoc))
_DIRECT_INSERT = Direct(PROBE.insert().inline(), ["id", "doc"])

VALUES: list[dict[str, Any]] = [
    {},
    {"name": "第0号组织", "note": "emoji 🙂, accents é, quotes \" and \\ and /", "nl": "a\nb"},
    {"nested": {"list": [1, [2, [3, {"deep": None}]]], "empty": {}, "flags": [True, False]}},
    {"big": 2**63 + 1, "negative": -(10**30), "float": 0.1, "exponent": 1e300, "zero": 0},
    {"keys": {"b": 1, "a": 2, "": 3, "第": 4}, "dup-like": {"1": "one"}},
    {"long": "x" * 100_000},
]


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def probe(engine: sa.Engine) -> sa.Engine:
    _METADATA.create_all(engine)
    return engine


def _store_both(engine: sa.Engine, value: Any) -> None:
    """`value` in row 1 through the direct executor, in row 2 through a Core insert."""
    with write_connection(engine) as connection:
        _DIRECT_INSERT.write(connection, {"id": 1, "doc": value})
        connection.execute(PROBE.insert(), {"id": 2, "doc": value})


def test_a_dict_is_bound_as_its_json_text_on_psycopg(engine: sa.Engine) -> None:
    dialect = engine.dialect
    column = JSONDoc.dialect_impl(dialect)
    bound = json_text(column, dialect, column.bind_processor(dialect))
    value = {"name": "第0号组织", "n": [1]}
    assert bound(value) == json.dumps(value)
    assert bound(None) is None


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_a_dict_written_as_text_is_the_jsonb_value_the_wrapper_writes(
        probe: sa.Engine, value: dict[str, Any]) -> None:
    _store_both(probe, value)
    with read_connection(probe) as connection:
        same_value, same_text = connection.execute(sa.text(
            "SELECT a.doc = b.doc, a.doc::text = b.doc::text FROM json_text_probe a, "
            "json_text_probe b WHERE a.id = 1 AND b.id = 2")).one()
        read = connection.execute(sa.select(PROBE.c.doc).order_by(PROBE.c.id)).scalars().all()
    assert same_value and same_text
    assert read[0] == read[1]  # JSONB's own normal form (1e300 reads as an int) in both


def test_a_value_other_than_a_dict_keeps_the_wrappers_conversion(probe: sa.Engine) -> None:
    _store_both(probe, [1, "第", {"a": None}])
    with read_connection(probe) as connection:
        read = connection.execute(sa.select(PROBE.c.doc).order_by(PROBE.c.id)).scalars().all()
    assert read == [[1, "第", {"a": None}]] * 2


def test_none_is_sql_null_either_way(probe: sa.Engine) -> None:
    _store_both(probe, None)
    with read_connection(probe) as connection:
        nulls = connection.execute(sa.select(sa.func.count()).where(
            PROBE.c.doc.is_(None))).scalar_one()
    assert nulls == 2


@pytest.mark.parametrize("value", [{"nul": "\x00"}, {"nan": float("nan")}],
                         ids=["nul", "nan"])
def test_a_value_jsonb_refuses_fails_the_same_way_either_way(
        probe: sa.Engine, value: dict[str, Any]) -> None:
    failures = []
    for write in (lambda c: _DIRECT_INSERT.write(c, {"id": 1, "doc": value}),
                  lambda c: c.execute(PROBE.insert(), {"id": 1, "doc": value})):
        with pytest.raises(sa.exc.DBAPIError) as caught, probe.connect() as connection, \
                connection.begin():
            write(connection)
        failures.append((type(caught.value), type(caught.value.orig)))
    assert failures[0] == failures[1]
