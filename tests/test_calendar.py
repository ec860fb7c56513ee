"""Durations and working days, checked against the real 2025 State Council schedule.

2025 facts used below (国办发明电〔2024〕12号): Spring Festival off Jan 28-Feb 4 with Sunday
Jan 26 and Saturday Feb 8 worked; National Day and Mid-Autumn off Oct 1-8 with Sunday Sep 28
and Saturday Oct 11 worked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from http_api.conftest import LiveServer
from hypothesis import given
from hypothesis import strategies as st

from api.main import create_app
from engine.clock import FrozenClock
from engine.service import build_service
from engine.settings import PROJECT_ROOT, Settings
from engine.timers.calendar import (
    CHINA_TZ,
    CalendarCoverageError,
    Duration,
    DurationError,
    WorkingCalendar,
    _china_date,
    _china_date_generally,
    _shift_days,
    _shift_days_generally,
    add_duration,
    default_calendar,
    parse_duration,
)
from engine.timers.holiday_notice import NoticeError, parse_notice

CAL = default_calendar()
# Start dates far enough from the end of coverage that 150 working days stay inside it.
covered_dates = st.dates(min_value=date(2001, 1, 1), max_value=date(2026, 4, 30))
working_day_counts = st.integers(min_value=0, max_value=150)


# --- parse_duration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1Y", Duration(years=1)),
        ("P6M", Duration(months=6)),
        ("P30D", Duration(days=30)),
        ("P2W", Duration(weeks=2)),
        ("PT12H", Duration(hours=12)),
        ("PT30M", Duration(minutes=30)),
        ("P1Y2M3DT4H5M6S", Duration(1, 2, 0, 3, 4, 5, 6)),
    ],
)
def test_parse_duration_reads_iso_8601(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_tells_months_from_minutes_by_the_t() -> None:
    assert parse_duration("P1M") == Duration(months=1)
    assert parse_duration("PT1M") == Duration(minutes=1)


def test_parse_duration_accepts_lower_case_and_surrounding_spaces() -> None:
    assert parse_duration(" p6m ") == Duration(months=6)


def test_parse_error_names_the_text_and_shows_examples() -> None:
    with pytest.raises(DurationError) as info:
        parse_duration("P1X")
    assert str(info.value) == (
        "'P1X' is not an ISO 8601 duration; write for example P1Y, P6M, P30D or PT12H"
    )


@pytest.mark.parametrize("text", ["P", "PT"])
def test_parse_rejects_durations_without_amounts(text: str) -> None:
    with pytest.raises(DurationError, match="has no amount"):
        parse_duration(text)


def test_parse_rejects_empty_text() -> None:
    with pytest.raises(DurationError, match="empty"):
        parse_duration("")


def test_parse_rejects_negative_durations() -> None:
    with pytest.raises(DurationError, match="negative"):
        parse_duration("-P1D")


def test_parse_rejects_a_t_with_nothing_after_it() -> None:
    with pytest.raises(DurationError, match="T with no hours"):
        parse_duration("P1DT")


def test_parse_rejects_fractions_and_suggests_smaller_units() -> None:
    with pytest.raises(DurationError, match="PT90M"):
        parse_duration("PT1.5H")


def test_parse_explains_that_hours_need_a_t() -> None:
    with pytest.raises(DurationError, match=r"go after a T, as in PT12H"):
        parse_duration("P12H")


def test_parse_rejects_non_text() -> None:
    with pytest.raises(DurationError, match="must be text"):
        parse_duration(30)  # type: ignore[arg-type]


def test_duration_refuses_negative_amounts() -> None:
    with pytest.raises(DurationError, match="days"):
        Duration(days=-1)


def test_duration_errors_are_value_errors() -> None:
    assert issubclass(DurationError, ValueError)


# --- add_duration ---------------------------------------------------------------------


def test_month_end_is_clamped_in_a_common_year() -> None:
    assert add_duration(date(2025, 1, 31), Duration(months=1)) == date(2025, 2, 28)


def test_month_end_is_clamped_to_the_leap_day() -> None:
    assert add_duration(date(2024, 1, 31), Duration(months=1)) == date(2024, 2, 29)


def test_leap_day_plus_one_year_is_february_28() -> None:
    assert add_duration(date(2024, 2, 29), Duration(years=1)) == date(2025, 2, 28)


def test_leap_day_plus_four_years_is_the_next_leap_day() -> None:
    assert add_duration(date(2024, 2, 29), Duration(years=4)) == date(2028, 2, 29)


def test_months_roll_over_into_the_next_year() -> None:
    assert add_duration(date(2025, 11, 15), Duration(months=3)) == date(2026, 2, 15)


def test_months_are_added_before_days() -> None:
    # Jan 31 + 1 month = Feb 28, then + 1 day = Mar 1 (days first would give Mar 28+).
    assert add_duration(date(2025, 1, 31), parse_duration("P1M1D")) == date(2025, 3, 1)


def test_weeks_are_seven_days() -> None:
    assert add_duration(date(2025, 9, 30), Duration(weeks=2)) == date(2025, 10, 14)


def test_pt12h_adds_twelve_hours_and_keeps_the_timezone() -> None:
    start = datetime(2025, 9, 30, 20, 0, tzinfo=CHINA_TZ)
    result = add_duration(start, parse_duration("PT12H"))
    assert result == datetime(2025, 10, 1, 8, 0, tzinfo=CHINA_TZ)
    assert result.tzinfo is CHINA_TZ


def test_combined_duration_on_a_datetime() -> None:
    start = datetime(2024, 1, 31, 0, 0, tzinfo=UTC)
    expected = datetime(2025, 4, 3, 4, 5, 6, tzinfo=UTC)  # 2025-03-31 + 3 days + time
    assert add_duration(start, parse_duration("P1Y2M3DT4H5M6S")) == expected


def test_date_input_gives_a_date() -> None:
    result = add_duration(date(2025, 1, 1), Duration(months=6))
    assert type(result) is date


def test_a_time_part_cannot_be_added_to_a_date() -> None:
    with pytest.raises(DurationError, match="time part"):
        add_duration(date(2025, 1, 1), Duration(hours=12))


def test_leaving_the_supported_years_is_a_duration_error() -> None:
    with pytest.raises(DurationError, match="outside the supported dates"):
        add_duration(date(9999, 6, 1), Duration(years=1))


@given(
    st.dates(max_value=date(9000, 1, 1)),
    st.dates(max_value=date(9000, 1, 1)),
    st.integers(min_value=0, max_value=240),
)
def test_adding_months_is_monotonic(a: date, b: date, months: int) -> None:
    a, b = min(a, b), max(a, b)
    d = Duration(months=months)
    assert add_duration(a, d) <= add_duration(b, d)


@given(st.dates(max_value=date(9000, 1, 1)), st.integers(min_value=1, max_value=240))
def test_adding_months_never_moves_the_day_later_in_the_month(start: date, months: int) -> None:
    result = add_duration(start, Duration(months=months))
    assert result.day <= start.day
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months


@given(
    st.builds(
        Duration,
        *(st.integers(min_value=0, max_value=99) for _ in range(7)),
    )
)
def test_duration_text_round_trips(d: Duration) -> None:
    assert parse_duration(str(d)) == d


# --- WorkingCalendar: the 2025 schedule -----------------------------------------------


def test_statutory_holiday_on_a_weekday_is_not_a_working_day() -> None:
    assert not CAL.is_working_day(date(2025, 10, 1))


def test_ordinary_weekend_is_not_a_working_day() -> None:
    assert not CAL.is_working_day(date(2025, 10, 18))


def test_adjusted_sunday_is_a_working_day() -> None:
    assert CAL.is_working_day(date(2025, 9, 28))


def test_adjusted_saturday_is_a_working_day() -> None:
    assert CAL.is_working_day(date(2025, 10, 11))


def test_next_working_day_after_friday_can_be_an_adjusted_sunday() -> None:
    assert CAL.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)


def test_national_day_week_is_skipped() -> None:
    assert CAL.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_five_working_days_of_public_notice_across_national_day() -> None:
    # Sep 30, Oct 9, Oct 10, Oct 11 (adjusted Saturday), Oct 13.
    assert CAL.add_working_days(date(2025, 9, 29), 5) == date(2025, 10, 13)


def test_spring_festival_is_skipped() -> None:
    assert CAL.add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)


def test_spring_festival_adjusted_saturday_is_counted() -> None:
    # Feb 5, 6, 7 and the adjusted Saturday Feb 8.
    assert CAL.add_working_days(date(2025, 2, 4), 4) == date(2025, 2, 8)


def test_working_days_between_counts_after_start_up_to_end() -> None:
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 10, 12)) == 3


def test_working_days_between_is_negative_backward() -> None:
    assert CAL.working_days_between(date(2025, 10, 12), date(2025, 9, 30)) == -3


def test_working_days_between_a_day_and_itself_is_zero() -> None:
    assert CAL.working_days_between(date(2025, 10, 1), date(2025, 10, 1)) == 0


def test_next_years_notice_can_make_late_december_a_working_day() -> None:
    # The 2002 notice moved New Year rest days onto Saturday and Sunday, Dec 29-30 2001.
    assert CAL.is_working_day(date(2001, 12, 29))


def test_zero_working_days_returns_the_start_even_on_a_holiday() -> None:
    assert CAL.add_working_days(date(2025, 10, 1), 0) == date(2025, 10, 1)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        CAL.add_working_days(date(2025, 10, 1), -1)


def test_datetime_keeps_its_time_of_day() -> None:
    decided = datetime(2025, 9, 30, 14, 30, tzinfo=CHINA_TZ)
    assert CAL.add_working_days(decided, 1) == datetime(2025, 10, 9, 14, 30, tzinfo=CHINA_TZ)


def test_utc_datetime_is_judged_by_its_date_in_china() -> None:
    # 20:00 UTC on Sep 30 is 04:00 on Oct 1 in Beijing: a holiday.
    assert not CAL.is_working_day(datetime(2025, 9, 30, 20, 0, tzinfo=UTC))


def test_utc_datetime_result_stays_in_utc() -> None:
    start = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Sep 30 in Beijing
    result = CAL.add_working_days(start, 1)
    assert result == datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_naive_datetime_is_taken_as_local_time() -> None:
    assert CAL.add_working_days(datetime(2025, 9, 30, 9), 1) == datetime(2025, 10, 9, 9)


# --- WorkingCalendar: coverage --------------------------------------------------------


def test_coverage_starts_with_the_2001_notice() -> None:
    assert CAL.first_year == 2001
    assert CAL.last_year >= 2026


def test_far_future_year_is_refused_with_the_covered_range() -> None:
    with pytest.raises(CalendarCoverageError) as info:
        CAL.is_working_day(date(2040, 3, 2))
    message = str(info.value)
    assert "2040" in message
    assert f"{CAL.first_year}-{CAL.last_year}" in message


def test_year_before_the_first_notice_is_refused() -> None:
    with pytest.raises(CalendarCoverageError, match="2000"):
        CAL.is_working_day(date(2000, 10, 2))


def test_counting_past_the_provisional_year_is_refused() -> None:
    with pytest.raises(CalendarCoverageError, match=str(CAL.provisional_until + 1)):
        CAL.add_working_days(date(CAL.provisional_until, 12, 20), 30)


def test_the_year_after_the_last_notice_is_provisional() -> None:
    first_day = date(CAL.last_year + 1, 1, 1)
    assert CAL.is_provisional(first_day)
    assert not CAL.is_provisional(date(CAL.last_year, 12, 31))


def test_a_provisional_year_rests_on_statutory_days_and_weekends() -> None:
    new_year = date(CAL.last_year + 1, 1, 1)
    assert not CAL.is_working_day(new_year)
    weekdays = [new_year + timedelta(days=i) for i in range(1, 15)]
    assert all(CAL.is_working_day(d) == (d.weekday() < 5) for d in weekdays
               if d.month == 1 and d.day > 3)


def test_a_deadline_crossing_new_year_into_the_provisional_year_is_computed() -> None:
    due = CAL.add_working_days(date(CAL.last_year, 12, 28), 5)
    assert due.year == CAL.last_year + 1 and CAL.is_working_day(due)


def test_working_days_between_across_uncovered_years_is_refused() -> None:
    with pytest.raises(CalendarCoverageError):
        CAL.working_days_between(date(2025, 1, 1), date(2040, 1, 1))


def test_coverage_error_is_a_value_error() -> None:
    assert issubclass(CalendarCoverageError, ValueError)


# --- WorkingCalendar: sharing and properties ------------------------------------------


def test_default_calendar_is_shared() -> None:
    assert default_calendar() is default_calendar()


def test_concurrent_first_reads_agree() -> None:
    cal = WorkingCalendar()
    results: list[date] = []
    lock = threading.Lock()

    def work() -> None:
        r = cal.add_working_days(date(2019, 12, 20), 200)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert set(results) == {CAL.add_working_days(date(2019, 12, 20), 200)}


@given(covered_dates, st.integers(min_value=1, max_value=150))
def test_add_working_days_lands_on_a_working_day(start: date, n: int) -> None:
    assert CAL.is_working_day(CAL.add_working_days(start, n))


@given(covered_dates, working_day_counts)
def test_working_days_between_inverts_add_working_days(start: date, n: int) -> None:
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(covered_dates, working_day_counts)
def test_add_working_days_is_at_least_n_calendar_days_later(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) - start >= timedelta(days=n)


@given(covered_dates, covered_dates)
def test_working_days_between_is_antisymmetric(a: date, b: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)


# --- the calendar as data: imported State Council notices -----------------------------

NOTICE_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知（演示用，日期为示例）
year: 2027
notice: 国办发明电〔2026〕示例号
days_off:
  - 2027-01-01
  - 2027-02-06..2027-02-13
  - 2027-10-01..2027-10-07
working_days:
  - 2027-02-14
  - 2027-10-09
"""


def test_a_notice_file_lists_days_off_by_day_or_range_and_the_weekend_days_worked() -> None:
    notice = parse_notice(NOTICE_2027)
    assert (notice.year, len(notice.days_off), sorted(notice.working_days)) == (
        2027, 16, [date(2027, 2, 14), date(2027, 10, 9)])


def test_every_problem_of_a_notice_file_is_reported_at_once_with_its_line() -> None:
    with pytest.raises(NoticeError) as caught:
        parse_notice("year: 2027\nnotice: 通知\nholidays: []\ndays_off:\n  - 2027-02-30\n"
                     "  - 2027-03-05..2027-03-01\n  - 2028-01-01\nworking_days:\n"
                     "  - 2027-02-15\n")
    assert caught.value.problems == [
        "line 3: 'holidays' is not a key of a notice; use year, notice, days_off, "
        "working_days",
        "line 5: '2027-02-30' is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)",
        "line 6: the range 2027-03-05..2027-03-01 ends before it begins",
        "2028-01-01 is not in 2027",
        "2027-02-15 is a weekday: only weekend days are turned into working days",
    ]


def test_an_imported_notice_makes_its_year_official_and_extends_coverage() -> None:
    calendar = WorkingCalendar()
    year = calendar.package_last_year + 1
    with pytest.raises(CalendarCoverageError):
        calendar.add_working_days(date(year, 12, 28), 5)
    text = NOTICE_2027.replace("2027", str(year))
    calendar.add_notice(parse_notice(text))
    coverage = calendar.coverage()
    assert (coverage.last_year, coverage.provisional_until, coverage.imported) == (
        year, year + 1, (year,))
    assert not calendar.is_provisional(date(year, 3, 1))
    # the notice's days off rest, its weekend days are worked, other days as usual
    assert not calendar.is_working_day(date(year, 2, 8))
    assert calendar.is_working_day(date(year, 2, 14))
    # and a deadline crossing into the year after, refused before, is computed now
    assert calendar.add_working_days(date(year, 12, 28), 5).year == year + 1


def test_from_december_a_missing_notice_for_next_year_is_warned() -> None:
    calendar = WorkingCalendar()
    last = calendar.package_last_year
    assert calendar.coverage().warning(date(last, 11, 30)) is None
    en, zh = calendar.coverage().warning(date(last, 12, 1)) or ("", "")
    assert f"notice for {last + 1} is not loaded" in en and f"{last + 1}年" in zh
    calendar.add_notice(parse_notice(NOTICE_2027.replace("2027", str(last + 1))))
    assert calendar.coverage().warning(date(last, 12, 1)) is None


def test_the_next_years_notice_can_turn_this_years_last_weekend_into_working_days() -> None:
    calendar = WorkingCalendar()
    year = calendar.package_last_year + 1
    sunday = date(year, 12, 26) + timedelta(days=(6 - date(year, 12, 26).weekday()) % 7)
    calendar.add_notice(parse_notice(NOTICE_2027.replace("2027", str(year))))
    following = (f"year: {year + 1}\nnotice: 通知\ndays_off:\n  - {year + 1}-01-01\n"
                 f"working_days:\n  - {sunday.isoformat()}\n")
    assert not calendar.is_working_day(sunday)
    calendar.add_notice(parse_notice(following))
    assert calendar.is_working_day(sunday)


def _hatchery(*args: str, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own (the shared calendar of this one stays as is)."""
    env = {**os.environ, "DATABASE_URL": url, "HATCHERY_DATA_DIR": str(data_dir),
           "HATCHERY_ACTOR": "zhang.operator"}
    command = [str(Path(sys.executable).parent / "hatchery"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
                          timeout=120, check=False)


def test_an_operator_imports_a_notice_and_the_status_shows_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hatchery.db'}"
    year = default_calendar().package_last_year + 1
    notice = tmp_path / f"notice-{year}.yaml"
    notice.write_text(NOTICE_2027.replace("2027", str(year)), encoding="utf-8")

    imported = _hatchery("calendar", "import", str(notice), url=url, data_dir=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert f"Imported the holiday notice for {year}" in imported.stdout
    again = _hatchery("calendar", "import", str(notice), url=url, data_dir=tmp_path)
    assert f"Already imported the holiday notice for {year}" in again.stdout

    status = _hatchery("calendar", "status", "--json", url=url, data_dir=tmp_path)
    found = json.loads(status.stdout)
    assert (found["last_year"], found["imported"], found["warning"]) == (year, [year], None)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            logged = connection.execute(sa.text(
                "SELECT actor, target FROM operations WHERE action = 'calendar_import'")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in logged] == [("zhang.operator", str(year))]


def test_a_wrong_notice_file_is_refused_with_its_located_problems(tmp_path: Path) -> None:
    notice = tmp_path / "notice.yaml"
    notice.write_text("year: 2027\nnotice: 通知\ndays_off:\n  - 2027-13-01\n", encoding="utf-8")
    result = _hatchery("calendar", "import", str(notice),
                       url=f"sqlite:///{tmp_path / 'h.db'}", data_dir=tmp_path)
    assert result.returncode != 0
    assert f"{notice}: line 4: '2027-13-01' is not a date" in result.stderr
    assert "Traceback" not in result.stderr


def test_readiness_reports_the_calendar_and_warns_in_december(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", data_dir=tmp_path)
    december = datetime(default_calendar().package_last_year, 12, 1, 9, tzinfo=CHINA_TZ)
    service = build_service(settings, FrozenClock(december))
    try:
        with LiveServer(create_app(settings, service=service)) as server:
            body = httpx.get(f"{server.url}/readyz").json()
    finally:
        service.engine.dispose()
    calendar = body["calendar"]
    assert calendar["first_year"] <= 2025 <= calendar["last_year"]
    if december.year + 1 not in calendar["imported"]:
        assert f"for {december.year + 1} is not loaded" in calendar["warning"]
        assert "国务院办公厅节假日安排通知" in calendar["warning_zh"]


def _outcome(action: Callable[[], object]) -> object:
    """What `action` gives, or the type and text of what it raises."""
    try:
        return action()
    except Exception as exc:  # compared, not hidden
        return type(exc), str(exc)


_ZONES = st.sampled_from([UTC, CHINA_TZ, timezone(timedelta(hours=-11)), None])


@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=_ZONES))
def test_the_china_date_of_a_utc_moment_takes_the_shortcut_to_the_same_day(
        moment: datetime) -> None:
    assert _outcome(lambda: _china_date(moment)) == \
        _outcome(lambda: _china_date_generally(moment))


@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=_ZONES),
       st.integers(0, 400_000) | st.integers(0, 40))
def test_shifting_a_utc_moment_by_days_takes_the_shortcut_to_the_same_moment(
        moment: datetime, days: int) -> None:
    fast = _outcome(lambda: _shift_days(moment, days))
    general = _outcome(lambda: _shift_days_generally(moment, days))
    assert fast == general
    if isinstance(fast, datetime) and isinstance(general, datetime):
        assert fast.tzinfo is general.tzinfo


@pytest.mark.parametrize("moment", [
    datetime(9999, 12, 31, 15, 59, tzinfo=UTC), datetime(9999, 12, 31, 16, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(8999, 12, 31, 23, 59, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, 16, 0, tzinfo=UTC),
    datetime(2025, 12, 31, 15, 59, 59, 999999, tzinfo=UTC)])
def test_the_shortcuts_agree_at_the_edges_of_years_and_of_the_calendar(moment: datetime
                                                                         ) -> None:
    assert _outcome(lambda: _china_date(moment)) == \
        _outcome(lambda: _china_date_generally(moment))
    for days in (0, 1, 2, 299_999, 300_000, 2_916_000, 3_000_000):
        assert _outcome(partial(_shift_days, moment, days)) == \
            _outcome(partial(_shift_days_generally, moment, days))


@given(st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2026, 12, 31),
                    timezones=st.just(UTC)), st.integers(0, 30))
def test_working_days_from_a_utc_moment_are_those_from_its_moment_in_china(
        moment: datetime, n: int) -> None:
    calendar = WorkingCalendar()
    assert _outcome(lambda: calendar.add_working_days(moment, n)) == \
        _outcome(lambda: calendar.add_working_days(moment.astimezone(CHINA_TZ), n))
