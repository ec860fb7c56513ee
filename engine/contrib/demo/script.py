"""How the demo story is told: steps at given moments, run in time order through the one door.

A step starts, fires, ticks or links a case through `CaseService`, exactly as a caseworker
would; between steps the clock is moved with `advance`, which fires the timers that fall
due on the way (notices that end, deadlines marked overdue, periodic checks) as
`system:timer` through `engine.timers.fire_due`. Nothing is written to a table directly,
so every case's history is a real one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.clock import FrozenClock
from engine.core.decision import Actor
from engine.service import CaseService
from engine.timers.calendar import CHINA_TZ
from engine.timers.worker import fire_due

TIMER_WORKER = "demo:timers"


def moment(when: str) -> datetime:
    """`YYYY-MM-DD` (09:00) or `YYYY-MM-DD HH:MM`, in China Standard Time."""
    day, _, clock = when.partition(" ")
    hour, minute = (int(x) for x in (clock or "09:00").split(":"))
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=CHINA_TZ)


def advance(service: CaseService, clock: FrozenClock, to: datetime, *,
            worker_id: str = TIMER_WORKER) -> int:
    """Move the clock to `to`, firing every timer that falls due on the way, in due order.

    The clock stops at each due time and `engine.timers.fire_due` fires what is due then,
    as a worker polling without pause would. Returns how many timers were handled (fired or
    refused). A timer that fails raises: in a replayed story that is a bug.
    """
    if to < clock.now():
        raise ValueError(f"the clock cannot go back from {clock.now()} to {to}")
    handled = 0
    while True:
        due, _ = service.list_timers(status="pending", due_before=to + timedelta(microseconds=1),
                                     limit=1)
        if not due:
            break
        clock.set(max(due[0].due_at, clock.now()))
        outcomes = fire_due(service, clock, worker_id=worker_id)
        failed = [o for o in outcomes if o.result == "failed"]
        if failed:
            raise RuntimeError(f"timer {failed[0].key} of case {failed[0].case_id} failed: "
                               f"{failed[0].detail}")
        if not outcomes:
            break
        handled += len(outcomes)
    clock.set(to)
    return handled


class _Today:
    """Stands for the current date (`YYYY-MM-DD` in China) in a step's values."""


TODAY: Any = _Today()


@dataclass(frozen=True)
class Ref:
    """Stands for the id of the demo case started under `name`."""

    name: str


class Community:
    """Runs the steps: names the cases it starts, and fills in today's date and case ids."""

    def __init__(self, service: CaseService, clock: FrozenClock, community: str) -> None:
        self.service = service
        self.clock = clock
        self.community = community
        self.ids: dict[str, str] = {}

    @property
    def today(self) -> str:
        return self.clock.now().astimezone(CHINA_TZ).date().isoformat()

    def values(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        def resolve(value: Any) -> Any:
            if value is TODAY:
                return self.today
            if isinstance(value, Ref):
                return self.ids[value.name]
            if isinstance(value, list):
                return [resolve(v) for v in value]
            return value

        return {name: resolve(value) for name, value in (given or {}).items()}


Step = Callable[[Community], None]


def start(name: str, workflow_id: str, data: Mapping[str, Any], *, actor: Actor,
          comment: str | None = None) -> Step:
    def step(c: Community) -> None:
        if name in c.ids:
            raise ValueError(f"case name {name!r} used twice in the demo")
        result = c.service.start_case(workflow_id, c.values(data), actor=actor,
                                      community=c.community, comment=comment)
        c.ids[name] = result.case.id

    return step


def fire(name: str, trigger: str, values: Mapping[str, Any] | None = None, *, actor: Actor,
         comment: str | None = None) -> Step:
    def step(c: Community) -> None:
        c.service.fire(c.ids[name], trigger, input=c.values(values), actor=actor,
                       comment=comment)

    return step


def tick(name: str, item: str, evidence: str, *, actor: Actor) -> Step:
    def step(c: Community) -> None:
        c.service.tick(c.ids[name], item, evidence=evidence, actor=actor)

    return step


def link(name: str, other: str, relation: str, *, actor: Actor) -> Step:
    def step(c: Community) -> None:
        c.service.link(c.ids[name], c.ids[other], relation=relation, actor=actor)

    return step


def together(*steps: Step) -> Step:
    def step(c: Community) -> None:
        for each in steps:
            each(c)

    return step


@dataclass
class Script:
    """The story: steps at moments, run in time order (ties in the order they were added)."""

    steps: list[tuple[datetime, int, Step]] = field(default_factory=list)

    def on(self, when: str, step: Step) -> None:
        self.steps.append((moment(when), len(self.steps), step))

    def run(self, community: Community, until: datetime) -> None:
        """Every step up to `until`, then the clock to `until`."""
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            if when > until:
                break
            advance(community.service, community.clock, max(when, community.clock.now()))
            step(community)
        advance(community.service, community.clock, until)


def months(first: str, last: str) -> list[str]:
    """`YYYY-MM` from `first` to `last` inclusive."""
    year, month = (int(x) for x in first.split("-"))
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found
