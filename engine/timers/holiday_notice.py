"""The State Council's yearly holiday notice as data: the small file an operator imports.

Every year, usually in November, the General Office of the State Council publishes the
next year's holidays (国务院办公厅关于某年部分节假日安排的通知): the days off and the weekend
days worked in exchange (调休). Working-day deadlines need it, and a deployment must not
wait for a new release of the `holidays` package to get it, so an operator writes it down
in this format and runs `hatchery calendar import FILE`:

    # 国务院办公厅关于2027年部分节假日安排的通知
    year: 2027
    notice: 国办发明电〔2026〕7号
    days_off:                 # every day off the notice lists (weekends included or not)
      - 2027-01-01            # one day ...
      - 2027-02-06..2027-02-13  # ... or a range, both ends included
    working_days:             # weekend days the notice turns into working days
      - 2027-02-14

Every other Monday-Friday is a working day, every other Saturday and Sunday a day off.
`parse_notice` reads the text (safe YAML, no code) and reports every problem at once, each
with its line; nothing here touches a database or a clock.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["HolidayNotice", "NoticeError", "parse_notice"]

_KEYS = ("year", "notice", "days_off", "working_days")
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class HolidayNotice:
    """One year's official schedule: the days off and the weekend days worked."""

    year: int
    notice: str
    days_off: frozenset[date]
    working_days: frozenset[date]


class NoticeError(ValueError):
    """A notice file that cannot be imported; `problems` lists each as `line N: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _at(node: Node) -> str:
    return f"line {node.start_mark.line + 1}: "


def _as_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _days(node: Node | None, name: str, problems: list[str]) -> set[date]:
    """The dates of a list of `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` entries."""
    if node is None or (isinstance(node, ScalarNode) and node.value in ("", "null", "~")):
        return set()
    if not isinstance(node, SequenceNode):
        problems.append(f"{_at(node)}'{name}' must be a list of dates")
        return set()
    found: set[date] = set()
    for entry in node.value:
        text = entry.value if isinstance(entry, ScalarNode) else ""
        first, _, last = text.partition("..")
        start, end = _as_date(first), _as_date(last or first)
        if start is None or end is None:
            problems.append(f"{_at(entry)}'{text}' is not a date (YYYY-MM-DD) or a range "
                            "(YYYY-MM-DD..YYYY-MM-DD)")
        elif end < start:
            problems.append(f"{_at(entry)}the range {text} ends before it begins")
        else:
            found.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return found


def _fields(text: str) -> tuple[dict[str, Node], list[str]]:
    """The top-level keys of the file as YAML nodes (never constructed: no dates or
    numbers guessed by the parser), with the problems of its shape."""
    try:
        root = YAML(typ="safe", pure=True).compose(io.StringIO(text))
    except YAMLError as error:
        raise NoticeError([f"not readable as YAML: {error}"]) from None
    if not isinstance(root, MappingNode):
        raise NoticeError(["the file must hold year, notice, days_off and working_days"])
    fields: dict[str, Node] = {}
    problems: list[str] = []
    for key, value in root.value:
        name = str(key.value)
        if name not in _KEYS:
            problems.append(f"{_at(key)}'{name}' is not a key of a notice; use "
                            f"{', '.join(_KEYS)}")
        fields[name] = value
    return fields, problems


def parse_notice(text: str) -> HolidayNotice:
    """Read a notice file; `NoticeError` with every problem, each located, when it is wrong."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise NoticeError([f"the file is larger than {MAX_BYTES // 1024} KiB; a notice is a "
                           "few dozen lines"])
    fields, problems = _fields(text)
    year_node = fields.get("year")
    raw_year = year_node.value if isinstance(year_node, ScalarNode) else ""
    year = int(raw_year) if raw_year.isdigit() and 1900 <= int(raw_year) <= 2999 else 0
    if not year:
        where = _at(year_node) if year_node is not None else ""
        problems.append(f"{where}'year' must be a year such as 2027")
    notice_node = fields.get("notice")
    notice = notice_node.value.strip() if isinstance(notice_node, ScalarNode) else ""
    if not notice:
        problems.append("'notice' must name the notice (its title or document number)")
    days_off = _days(fields.get("days_off"), "days_off", problems)
    working = _days(fields.get("working_days"), "working_days", problems)
    if year:
        # A notice may turn the last weekend of the year before into working days.
        for day in sorted(days_off | working):
            if day.year != year and not (day in working and day.year == year - 1):
                problems.append(f"{day} is not in {year}")
    for day in sorted(working):
        if day.weekday() < 5:
            problems.append(f"{day} is a weekday: only weekend days are turned into "
                            "working days")
    for day in sorted(days_off & working):
        problems.append(f"{day} is listed both as a day off and as a working day")
    if not days_off:
        problems.append("'days_off' is empty: every notice lists the holidays")
    if problems:
        raise NoticeError(problems)
    return HolidayNotice(year, notice, frozenset(days_off), frozenset(working))
