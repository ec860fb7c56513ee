"""The pure checks on values from outside: what nothing downstream could store, hash or
compare is found, with where it is, before anything tries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.language import untrusted
from engine.language.spec import FieldSpec
from engine.language.values import check_value


def test_strict_json_finds_every_flaw_with_its_path() -> None:
    _, flaws = untrusted.loads(
        '{"a": NaN, "b": [1, 1e309, "x\\u0000"], "c\\ud800": 2, "d": 99999999999999999999}')
    assert [(f.where(), f.code) for f in flaws] == [
        ("a", "not_finite"), ("b.1", "not_finite"), ("b.2", "nul_character"),
        ("c\\ud800", "lone_surrogate"), ("d", "integer_too_large")]


def test_clean_json_parses_as_json_loads_does() -> None:
    value, flaws = untrusted.loads('{"名": "金州", "n": -9223372036854775808, "f": 1.5e308}')
    assert flaws == [] and value == {"名": "金州", "n": -(2**63), "f": 1.5e308}


@pytest.mark.parametrize("moment", [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),
    datetime(1799, 12, 31, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)])
def test_instants_outside_the_years_1800_to_2999_are_refused_without_overflow(
        moment: datetime) -> None:
    assert untrusted.utc_instant(moment) is None


def test_an_instant_without_a_zone_is_utc() -> None:
    assert untrusted.utc_instant(datetime(2026, 7, 1, 9)) == datetime(2026, 7, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "value", "code"), [
    ("datetime", "0001-01-01T00:00:00+01:00", "date_out_of_range"),
    ("datetime", "9999-12-31T23:59:59-01:00", "date_out_of_range"),
    ("date", "0001-01-01", "date_out_of_range"),
    ("string", "a\x00b", "nul_character"),
    ("text", "\ud800", "lone_surrogate"),
    ("number", float("nan"), "not_finite"),
    ("number", 10**400, "integer_too_large"),
    ("integer", 2**64, "integer_too_large"),
])
def test_field_values_that_could_not_be_stored_are_refused_by_the_field_check(
        kind: str, value: object, code: str) -> None:
    _, found = check_value("f", FieldSpec(type=kind), value)
    assert found is not None and found.code == code
