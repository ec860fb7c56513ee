"""An aware UTC datetime column read from SQLite (`engine.store.tables.columns`) is what
SQLAlchemy's own two conversions make of the stored text (the dialect's ISO parser, then
`UTCDateTime.process_result_value`), for the text SQLAlchemy writes and for any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import processors

from engine.store.tables.columns import UTCDateTime

DIALECT = sqlite.dialect()
COLUMN = UTCDateTime().dialect_impl(DIALECT)  # as an execution on SQLite uses it
WRITTEN = COLUMN.bind_processor(DIALECT)


def _expected(value: Any) -> Any:
    return COLUMN.process_result_value(processors.str_to_datetime(value), DIALECT)


@pytest.mark.parametrize("value", [
    WRITTEN(datetime(2026, 3, 2, 1, 0, 0, 9000, tzinfo=UTC)),
    WRITTEN(datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))),
    WRITTEN(datetime(1800, 1, 1, tzinfo=UTC)), None,
    "2026-03-02 01:00:00", "2026-03-02T01:00:00.009000", "2026-03-02",
    "2026-03-02 01:00:00.0+0100", "2026-03-02 01:00:00.009+08:00",
    "2026-03-02 01:00:00.009000Z"])
def test_a_stored_instant_reads_as_sqlalchemys_conversions_read_it(value: Any) -> None:
    convert = COLUMN.result_processor(DIALECT, None)
    read = convert(value)
    assert read == _expected(value)
    assert read is None or read.tzinfo is UTC


@pytest.mark.parametrize("value", ["2026-13-02 01:00:00.000000", "not a time at all ok!!"])
def test_text_that_is_no_instant_fails_as_sqlalchemys_conversions_fail(value: str) -> None:
    convert = COLUMN.result_processor(DIALECT, None)
    with pytest.raises(ValueError):
        _expected(value)
    with pytest.raises(ValueError):
        convert(value)


def _written_by_sqlalchemy(value: Any) -> Any:
    stored = COLUMN.process_bind_param(value, DIALECT)
    return COLUMN.impl_instance.bind_processor(DIALECT)(stored)


@pytest.mark.parametrize("value", [
    datetime(2026, 3, 2, 1, 0, 0, 9000, tzinfo=UTC), datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=timezone(timedelta(hours=8))),
    datetime(1800, 1, 1, tzinfo=timezone(timedelta(hours=-5))), None])
def test_an_instant_is_written_as_sqlalchemys_conversions_write_it(value: Any) -> None:
    assert WRITTEN(value) == _written_by_sqlalchemy(value)


def test_a_naive_datetime_is_refused_as_before() -> None:
    naive = datetime(2026, 3, 2, 1, 0)
    with pytest.raises(ValueError, match="naive") as ours:
        WRITTEN(naive)
    with pytest.raises(ValueError, match="naive") as theirs:
        _written_by_sqlalchemy(naive)
    assert str(ours.value) == str(theirs.value)


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)),
                          timezone(timedelta(hours=-5, minutes=-30)), ZoneInfo("UTC"),
                          ZoneInfo("Asia/Shanghai")])


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=_ZONES))
def test_any_instant_is_written_as_sqlalchemys_conversions_write_it(value: datetime) -> None:
    # The UTC instant's text is cut from `isoformat` (one C call) instead of formatted
    # field by field: the same 26 characters for every year, offset and microsecond.
    assert WRITTEN(value) == _written_by_sqlalchemy(value)
