"""What an expression sees: a case's values as CEL values, and the engine's own functions.

The names (`data`, `input`, `params`, `now`, `today`, `entered_at`, `entered_on`, `state`,
`checklist`, `linked`, `add_duration`, `add_working_days`) are described in
`engine.language.expressions`, which compiles the expressions evaluated here. Kept apart
because converting values is its own concern: dates as CEL timestamps on the China
calendar, only the names and fields an expression reads, the engine's functions registered
only when called (registering them costs more than most evaluations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import cel

from engine.language.flat import Read, flat_variables
from engine.timers.calendar import CHINA_TZ, add_duration, default_calendar, parse_duration

__all__ = ["OWN_FUNCTIONS", "Environment", "china_date", "to_cel_time"]

OWN_FUNCTIONS = frozenset({"linked", "add_duration", "add_working_days"})
"""The engine's functions an expression may call, besides CEL's own."""


def to_cel_time(value: date | datetime) -> datetime:
    """Dates become midnight UTC timestamps; datetimes must carry a time zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def china_date(moment: datetime) -> datetime:
    """The date in China at `moment`, as midnight UTC: the form date fields take."""
    local = moment.astimezone(CHINA_TZ).date()
    return datetime(local.year, local.month, local.day, tzinfo=UTC)


def _add_duration(ts: datetime, text: str) -> datetime:
    return add_duration(ts, parse_duration(text))


def _add_working_days(ts: datetime, days: int) -> datetime:
    result = default_calendar().add_working_days(ts, int(days))
    return result if isinstance(result, datetime) else to_cel_time(result)


@dataclass(frozen=True)
class Environment:
    """Everything an expression may read, already converted to CEL values."""

    data: Mapping[str, Any]
    params: Mapping[str, Any]
    now: datetime
    entered_at: datetime
    state: str
    checklist: Mapping[str, bool] = field(default_factory=dict)
    input: Mapping[str, Any] = field(default_factory=dict)
    link_counts: Mapping[tuple[str, str | None], int] = field(default_factory=dict)
    needed: frozenset[str] | None = None
    """The names the expressions to evaluate read (None: all); only these are converted."""
    fields: frozenset[str] | None = None
    """The `data` fields they read (None: `data` as a whole); only these are converted."""

    def with_input(self, values: Mapping[str, Any], needed: frozenset[str] | None = None,
                   fields: frozenset[str] | None = None) -> Environment:
        """The same environment with a transition's input in reach (and, when given, only
        the names and fields its expressions read)."""
        return Environment(self.data, self.params, self.now, self.entered_at, self.state,
                           self.checklist, values, self.link_counts,
                           self.needed if needed is None else needed,
                           self.fields if needed is None else fields)

    @property
    def today(self) -> datetime:
        """Today's date in China, as midnight UTC: the same form date fields take."""
        return china_date(self.now)

    @property
    def entered_on(self) -> datetime:
        """The China date the case entered its current state, as midnight UTC, so that a
        typed date compares with it as it compares with `today`."""
        return china_date(self.entered_at)

    @property
    def context(self) -> Any:
        """The CEL context, converted once and shared by every expression evaluated in this
        environment (a guard, its conditions and the effects); an environment belongs to
        one decision, so the context is never shared between threads (and is cached on the
        instance without `cached_property`, whose lock is shared by every instance).
        """
        found = self.__dict__.get("_context")
        if found is None:
            found = self._context_now()
            object.__setattr__(self, "_context", found)
        return found

    def _context_now(self) -> Any:
        """The CEL context of this environment, converted now.

        Only the names the expressions read are converted, and the engine's own functions
        are registered only when an expression calls one (registering them costs more than
        most evaluations)."""
        needed = self.needed
        if needed is None:
            return _cel_context(self.bindings())
        return _cel_context({k: v for k, v in self._variables(needed).items() if k in needed})

    def _variables(self, needed: frozenset[str]) -> dict[str, Any]:
        """The bindings of the names in `needed` only (the others are not converted)."""
        found: dict[str, Any] = {}
        if "data" in needed:
            fields, data = self.fields, self.data
            found["data"] = (dict(data) if fields is None
                             else {name: data[name] for name in fields if name in data})
        if "input" in needed:
            found["input"] = dict(self.input)
        if "params" in needed:
            found["params"] = dict(self.params)
        if "checklist" in needed:
            found["checklist"] = dict(self.checklist)
        if "now" in needed:
            found["now"] = self.now
        if "today" in needed:
            found["today"] = self.today
        if "entered_at" in needed:
            found["entered_at"] = self.entered_at
        if "entered_on" in needed:
            found["entered_on"] = self.entered_on
        if "state" in needed:
            found["state"] = self.state
        if needed & OWN_FUNCTIONS:
            everything = self._bindings(self.now)
            found.update({name: everything[name] for name in OWN_FUNCTIONS if name in needed})
        return found

    def flat_context(self, reads: tuple[Read, ...]) -> Any | None:
        """The CEL context of one flat expression reading `reads` (`engine.language.flat`),
        built now and not kept; None when one of those members has no value."""
        needed = self.needed
        variables = flat_variables(
            self.bindings() if needed is None else self._variables(needed), reads)
        return None if variables is None else _cel_context(variables)

    def bindings(self) -> dict[str, Any]:
        """The CEL context: variables plus the engine's own functions."""
        if self.needed is not None and "today" not in self.needed:
            return self._bindings(self.now)
        return self._bindings(self.today)

    def _bindings(self, today: datetime) -> dict[str, Any]:
        counts = self.link_counts

        def linked(workflow: str, state: str | None = None) -> int:
            return counts.get((workflow, state), 0)

        return {
            "data": dict(self.data), "input": dict(self.input), "params": dict(self.params),
            "now": self.now, "today": today, "entered_at": self.entered_at,
            "entered_on": self.entered_on,
            "state": self.state,
            "checklist": dict(self.checklist), "linked": linked,
            "add_duration": _add_duration, "add_working_days": _add_working_days,
        }


def _cel_context(bindings: dict[str, Any]) -> Any:
    """A CEL context of `bindings`, the engine's functions among them registered as
    functions (only those present: registering them costs more than most evaluations)."""
    functions = {name: bindings.pop(name) for name in OWN_FUNCTIONS if name in bindings}
    if not functions:
        return cel.Context(variables=bindings)
    return cel.Context(variables=bindings, functions=functions)
