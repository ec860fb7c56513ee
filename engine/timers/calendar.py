"""Durations and working days: the arithmetic behind deadlines and timers.

Workflow rules speak in calendar durations ("within one month", "every six months", "one
year of probation") and in working days ("5 working days of public notice"). Durations are
ISO 8601 text (`P6M`, `PT12H`) added with month-end clamping. Working days follow the
official mainland China calendar: Monday-Friday except statutory holidays, plus the
weekend days the State Council's yearly notice turns into working days (调休). That notice
is known for the years the installed `holidays` package records and for those an operator
imported (`engine.timers.holiday_notice`, `hatchery calendar import`); every working-day
computation that touches another year refuses with `CalendarCoverageError` rather than
guess.

Everything here is pure: no clock is read.
"""

from __future__ import annotations

import calendar as _stdcalendar
import re
import threading
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, timezone
from typing import overload

import holidays
from holidays.countries.china import ChinaStaticHolidays
from holidays.version import __version__ as _HOLIDAYS_VERSION

from engine.timers.holiday_notice import HolidayNotice

__all__ = [
    "CHINA_TZ",
    "CalendarCoverage",
    "CalendarCoverageError",
    "Duration",
    "DurationError",
    "WorkingCalendar",
    "add_duration",
    "default_calendar",
    "parse_duration",
]

# China Standard Time has had no daylight saving since 1991, so a fixed offset is exact and
# needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
_CHINA_OFFSET = timedelta(hours=8)
_ONE_DAY = timedelta(days=1)
_EXAMPLES = "write for example P1Y, P6M, P30D or PT12H"


class DurationError(ValueError):
    """A duration text is not a usable ISO 8601 duration, or adding it leaves the calendar."""


class CalendarCoverageError(ValueError):
    """A working-day computation touched a year whose official holiday notice is unknown."""


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration. Years and months are calendar units, the rest are fixed."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DurationError(f"{f.name} must be a whole number of 0 or more, not {value!r}")

    @property
    def has_time(self) -> bool:
        """True when the duration has hours, minutes or seconds (so needs a datetime)."""
        return bool(self.hours or self.minutes or self.seconds)

    def __str__(self) -> str:
        def part(*amounts: tuple[int, str]) -> str:
            return "".join(f"{n}{unit}" for n, unit in amounts if n)

        date_part = part((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
        time_part = part((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
        if not date_part and not time_part:
            return "PT0S"
        return f"P{date_part}" + (f"T{time_part}" if time_part else "")


_DURATION_RE = re.compile(
    r"P(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<weeks>[0-9]+)W)?"
    r"(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration such as `P1Y`, `P6M`, `P2W`, `PT12H` or `P1Y2M3DT4H5M6S`.

    Whole, non-negative amounts only; lower-case letters are accepted.
    """
    if not isinstance(text, str):
        raise DurationError(f"a duration must be text such as P30D, not {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise DurationError(f"the duration is empty; {_EXAMPLES}")
    if raw.startswith("-"):
        raise DurationError(f"{text!r} is negative; durations only count forward")
    if "." in raw or "," in raw:
        raise DurationError(
            f"{text!r} has a fraction; use whole units, for example PT90M instead of PT1.5H"
        )
    upper = raw.upper()
    match = _DURATION_RE.fullmatch(upper)
    if match is None:
        hint = ""
        if "T" not in upper and upper[-1:] in ("H", "S"):
            hint = " (hours, minutes and seconds go after a T, as in PT12H)"
        raise DurationError(f"{text!r} is not an ISO 8601 duration{hint}; {_EXAMPLES}")
    amounts = {name: int(value) for name, value in match.groupdict().items() if value}
    if not amounts:
        raise DurationError(f"{text!r} has no amount; {_EXAMPLES}")
    if upper.endswith("T"):
        raise DurationError(f"{text!r} has a T with no hours, minutes or seconds after it")
    return Duration(**amounts)


@overload
def add_duration(start: datetime, d: Duration) -> datetime: ...
@overload
def add_duration(start: date, d: Duration) -> date: ...
def add_duration(start: date, d: Duration) -> date:
    """Add `d` to `start` the way people count: years and months first, then the rest.

    The day of month is clamped to the target month's end (Jan 31 + P1M is the last day of
    February; Feb 29 + P1Y is Feb 28). Weeks, days and time are then added on the wall
    clock of `start`'s tzinfo, which is kept. A `date` start gives a `date` and accepts no
    time part.
    """
    if not isinstance(start, datetime) and d.has_time:
        raise DurationError(f"{d} has a time part and cannot be added to the date {start}")
    try:
        month_index = start.month - 1 + d.months + 12 * d.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, _stdcalendar.monthrange(year, month)[1])
        shifted = start.replace(year=year, month=month, day=day)
        return shifted + timedelta(
            weeks=d.weeks, days=d.days, hours=d.hours, minutes=d.minutes, seconds=d.seconds
        )
    except (OverflowError, ValueError) as exc:
        raise DurationError(
            f"{start.isoformat()} + {d} falls outside the supported dates (years 1-9999)"
        ) from exc


@dataclass(frozen=True)
class CalendarCoverage:
    """Which years the working-day calendar knows, and from where."""

    first_year: int
    last_year: int
    provisional_until: int
    package_last_year: int
    imported: tuple[int, ...]
    package_version: str = _HOLIDAYS_VERSION

    def is_official(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year or year in self.imported

    def warning(self, today: date) -> tuple[str, str] | None:
        """From December on, (en, zh) words when next year's notice is not loaded yet."""
        following = today.year + 1
        if today.month < 12 or self.is_official(following):
            return None
        return (f"the State Council's holiday notice for {following} is not loaded: "
                f"working-day deadlines in {following} are provisional (statutory days off "
                f"by rule, no adjusted working weekends); import it with "
                f"'hatchery calendar import FILE'",
                f"尚未导入{following}年国务院办公厅节假日安排通知：{following}年的工作日"
                f"期限为临时计算（法定节假日按规则推算，不含调休上班日）；"
                f"请用“hatchery calendar import 文件”导入")


class WorkingCalendar:
    """Working days of the official mainland China calendar, from the `holidays` package
    and from the notices an operator imported (an imported notice wins for its year).

    Dates are judged in China: an aware datetime is converted to China Standard Time before
    its date is taken (naive datetimes are taken as already local), and results come back in
    the caller's tzinfo with the same time of day. Covered years are those whose State
    Council notice the package records (`first_year`..`last_year`); note that a notice may
    still move work onto the last weekend of the previous year, so late December of
    `last_year` can change when the next notice is published.

    The year after the last notice is covered provisionally: its statutory days off come
    from the package's rules (the lunar festivals included), its weekends are rest days,
    and the adjusted working weekends, unknown until the State Council publishes them, are
    missing. Without this a deployment would refuse every working-day deadline crossing
    New Year from late December on; a deadline computed provisionally can be a day or two
    early around a festival, which `is_provisional` lets a caller say.

    Each year is computed once and cached; instances are safe to share between threads.
    """

    def __init__(self, *, provisional_years: int = 1) -> None:
        # The package's substitution table (调休) is the record of which notices it knows.
        # Before the first one it has statutory days but no adjusted weekends; after the
        # last one it would silently treat every weekend as rest.
        noticed_years = ChinaStaticHolidays.special_public_holidays.keys()
        self.first_year: int = min(noticed_years)
        self.package_last_year: int = max(noticed_years)
        self._provisional_years = max(provisional_years, 0)
        self._notices: dict[int, HolidayNotice] = {}
        self.last_year = self.package_last_year
        self.provisional_until = self.last_year + self._provisional_years
        self._years: dict[int, frozenset[date]] = {}
        self._offsets: dict[tuple[date, int], int] = {}
        """(first day, n) -> calendar days to the n-th working day after it: a deadline in
        working days is computed on every change that arms one, and starts from few days."""
        self._lock = threading.Lock()

    def add_notice(self, notice: HolidayNotice) -> None:
        """Use an imported notice for its year; coverage grows over years that follow on."""
        with self._lock:
            self._notices[notice.year] = notice
            for year in (notice.year - 1, notice.year, notice.year + 1):
                self._years.pop(year, None)
            self._offsets = {}
            last = self.package_last_year
            while last + 1 in self._notices:
                last += 1
            self.last_year = last
            self.provisional_until = last + self._provisional_years

    def coverage(self) -> CalendarCoverage:
        """The years known, and which of them came from imported notices."""
        return CalendarCoverage(self.first_year, self.last_year, self.provisional_until,
                                self.package_last_year, tuple(sorted(self._notices)))

    def is_provisional(self, d: date) -> bool:
        """Whether `d` falls in a year whose official notice is not yet known."""
        year = _china_date(d).year
        return year not in self._notices and self.last_year < year <= self.provisional_until

    def is_working_day(self, d: date) -> bool:
        """Monday-Friday that is not a statutory day off, or an adjusted working weekend day."""
        day = _china_date(d)
        return day in self._working_days(day.year)

    @overload
    def add_working_days(self, start: datetime, n: int) -> datetime: ...
    @overload
    def add_working_days(self, start: date, n: int) -> date: ...
    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (the count begins the day after; n=0 is start).

        A datetime keeps its time of day, so "5 working days from the 14:00 decision" ends
        at 14:00.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number of working days, 0 or more, not {n!r}")
        origin = _china_date(start)
        offsets = self._offsets  # a notice imported meanwhile replaces it: never stale
        offset = offsets.get((origin, n))
        if offset is None:
            day, counted = origin, 0
            while counted < n:
                day += _ONE_DAY
                counted += self.is_working_day(day)
            offset = (day - origin).days
            if len(offsets) > 100_000:
                offsets.clear()
            offsets[(origin, n)] = offset
        return _shift_days(start, offset)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after `a` up to and including `b`; negative when `b` is before `a`.

        The inverse of `add_working_days`: working_days_between(a, add_working_days(a, n)) == n.
        """
        start, end = _china_date(a), _china_date(b)
        if end < start:
            return -self.working_days_between(b, a)
        first = start + _ONE_DAY
        if first > end:
            return 0
        return sum(
            sum(1 for d in self._working_days(year) if start < d <= end)
            for year in range(first.year, end.year + 1)
        )

    def _working_days(self, year: int) -> frozenset[date]:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if not self.first_year <= year <= self.provisional_until and year not in self._notices:
            remedy = (
                f"import the State Council's notice for {year} with 'hatchery calendar "
                "import' once it is published"
                if year > self.last_year
                else "no earlier notices are recorded"
            )
            raise CalendarCoverageError(
                f"{year} is outside the working-day calendar, which covers "
                f"{self.first_year}-{self.last_year} (the years whose official holiday notice "
                f"holidays {_HOLIDAYS_VERSION} knows, and {self.provisional_until} "
                f"provisionally); {remedy}"
            )
        with self._lock:
            cached = self._years.get(year)
            if cached is None:
                notice, following = self._notices.get(year), self._notices.get(year + 1)
                if notice is not None:
                    cached = _notice_year(notice, following)
                else:
                    cached = _load_year(year, self.package_last_year)
                    if following is not None:
                        cached = cached | {d for d in following.working_days if d.year == year}
                self._years[year] = cached
        return cached


def _notice_year(notice: HolidayNotice, following: HolidayNotice | None) -> frozenset[date]:
    """A year as its notice says: weekdays not off, plus the weekend days worked (also
    those the next year's notice moves into this year)."""
    first = date(notice.year, 1, 1)
    days = [first + timedelta(days=i) for i in range(366)]
    worked = notice.working_days | (following.working_days if following else frozenset())
    return frozenset(d for d in days if d.year == notice.year
                     and ((d.weekday() < 5 and d not in notice.days_off) or d in worked))


def _load_year(year: int, last_noticed: int) -> frozenset[date]:
    # The next year's notice can turn this year's last weekend into working days.
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range(366)]
    if year > last_noticed:  # provisional: statutory days by rule, no adjusted weekends
        rest = holidays.country_holidays("CN", years=year)
        return frozenset(d for d in days
                         if d.year == year and d.weekday() < 5 and d not in rest)
    cn = holidays.country_holidays("CN", years=(year, year + 1))
    return frozenset(d for d in days if d.year == year and cn.is_working_day(d))


def _china_date(d: date) -> date:
    """The date in China of `d` (a naive datetime is taken as already local).

    A UTC datetime (every timestamp the engine passes) is moved by the fixed +8 hours
    directly: what `astimezone(CHINA_TZ)` computes for it, overflow included, at a third
    of the cost (a test holds it to `_china_date_generally` over the whole calendar)."""
    if isinstance(d, datetime):
        if d.tzinfo is UTC:
            return (d + _CHINA_OFFSET).date()
        return d.astimezone(CHINA_TZ).date() if d.tzinfo is not None else d.date()
    return d


def _china_date_generally(d: date) -> date:
    """`_china_date` without its UTC shortcut: the reference it is tested against."""
    if isinstance(d, datetime):
        return d.astimezone(CHINA_TZ).date() if d.tzinfo is not None else d.date()
    return d


def _shift_days(start: date, days: int) -> date:
    """`start` moved by `days` days of the China calendar, in `start`'s own zone.

    For a UTC datetime (the usual case) that is `start + days`: both zones have fixed
    offsets. Only near the end of the calendar, where the general path's detour through
    China time overflows first, is the general path taken, so its errors stay the same."""
    if isinstance(start, datetime) and start.tzinfo is UTC and days >= 0 \
            and start.year < _LAST_SAFE_YEAR and days < _SAFE_DAYS:
        return start + timedelta(days=days)
    return _shift_days_generally(start, days)


_LAST_SAFE_YEAR = 9000
_SAFE_DAYS = 300_000
"""Below these a UTC shift cannot come near the end of the calendar (year 9999)."""


def _shift_days_generally(start: date, days: int) -> date:
    """`_shift_days` without its UTC shortcut: the reference it is tested against."""
    if isinstance(start, datetime) and start.tzinfo is not None:
        # Shift in China time so the China date moves by exactly `days`, then hand it back
        # in the caller's zone.
        return (start.astimezone(CHINA_TZ) + timedelta(days=days)).astimezone(start.tzinfo)
    return start + timedelta(days=days)


_DEFAULT = WorkingCalendar()


def default_calendar() -> WorkingCalendar:
    """The shared calendar (years are cached on it, so share it rather than build new ones)."""
    return _DEFAULT
