"""The shipped workflows walked through the one door on a real database, one file per workflow.

Each scenario reads like the procedure it models (given / when / then), including the
refusals a caseworker meets on the way, and runs through `CaseService` on SQLite and on
PostgreSQL (see tests/conftest.py). The service's `FrozenClock` is moved with
`engine.contrib.demo.advance`, which stops at every timer's due time and fires it with
`engine.timers.fire_due`, as `system:timer`, like a worker that never sleeps.

Dates lie in 2024-2026: working-day deadlines need the official holiday calendar.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import COMMUNITY, SHIPPED_WORKFLOWS, store_snapshot

from engine.clock import FrozenClock
from engine.contrib.demo import advance
from engine.core.decision import Actor
from engine.definitions.loader import load_file
from engine.definitions.registry import WorkflowRegistry
from engine.errors import Refusal, Refused
from engine.service import CaseService, CaseView, EventView, FireResult, verify_store
from engine.timers.calendar import CHINA_TZ

COMMITTEE = Actor("chen.hong", frozenset({"party_committee"}))
"""A member of the Jinzhou community party committee."""
HIGHER = Actor("lin.committee", frozenset({"higher_committee"}))
"""The community party committee acting as the higher committee that approves admissions."""
SECRETARY = Actor("huang.min", frozenset({"branch"}))
"""A branch secretary."""
STREET = Actor("liu.jian", frozenset({"street_committee"}))
"""The Jinshan street party working committee."""
CASEWORKER = Actor("wang.fang", frozenset({"caseworker"}))
TIMER = "system:timer"
AUTO = "system:auto"


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in China Standard Time."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def day_before(day: str) -> str:
    """The date before `day` (both `YYYY-MM-DD`)."""
    return (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()


def designers_refusal(workflow_id: str, trigger: str, index: int = 0) -> tuple[str, str]:
    """The (zh, en) refusal text the designer wrote for `trigger` (its `index`-th transition
    with a refusal) in the shipped YAML."""
    spec = load_file(SHIPPED_WORKFLOWS / f"{workflow_id}.yaml").spec
    assert spec is not None
    found = [t for t in spec.transitions if t.trigger == trigger and t.refusal is not None]
    refusal = found[index].refusal
    assert refusal is not None and not isinstance(refusal, str)
    return refusal.get("zh"), refusal.get("en")


class Community:
    """A caseworker's view of the community: the one door, the clock, and the store."""

    def __init__(self, service: CaseService, clock: FrozenClock, engine: sa.Engine) -> None:
        self.service = service
        self.clock = clock
        self.engine = engine

    # -- time --------------------------------------------------------------------------

    def begins_on(self, moment: datetime) -> None:
        """Set the clock for a story that begins before the fixture's date (nothing has
        happened in this community yet, so no timer is skipped)."""
        assert self.service.list_cases()[0] == []
        self.clock.set(moment)

    @property
    def today(self) -> str:
        return self.clock.now().astimezone(CHINA_TZ).date().isoformat()

    @property
    def tomorrow(self) -> str:
        return (self.clock.now().astimezone(CHINA_TZ).date() + timedelta(days=1)).isoformat()

    def advance(self, delta: timedelta | None = None, *, to: datetime | None = None) -> None:
        """Move the clock, firing every timer that falls due on the way."""
        advance(self.service, self.clock, to if to is not None else self.clock.now() + delta)

    def until_left(self, case_id: str, state: str, limit_days: int = 30) -> None:
        """Let days pass until the case has left `state` by itself (a notice period, say)."""
        for _ in range(limit_days):
            if self.case(case_id).state != state:
                return
            self.advance(timedelta(days=1))
        raise AssertionError(f"{case_id} still in {state} after {limit_days} days")

    # -- the one door --------------------------------------------------------------------

    def start(self, workflow_id: str, data: dict[str, Any], actor: Actor) -> str:
        return self.service.start_case(workflow_id, data, actor=actor,
                                       community=COMMUNITY).case.id

    def fire(self, case_id: str, trigger: str, values: dict[str, Any] | None = None, *,
             actor: Actor, comment: str | None = None) -> FireResult:
        return self.service.fire(case_id, trigger, input=values or {}, actor=actor,
                                 comment=comment)

    def tick(self, case_id: str, item: str, evidence: str, *, actor: Actor) -> None:
        self.service.tick(case_id, item, evidence=evidence, actor=actor)

    def link(self, case_id: str, other: str, relation: str, *, actor: Actor) -> None:
        self.service.link(case_id, other, relation=relation, actor=actor)

    def refuses_dates_outside(self, case_id: str, trigger: str, values: dict[str, Any],
                              field: str, bound: str, *, actor: Actor) -> None:
        """The day before `bound` and tomorrow are both refused, each for its own reason:
        the date entered and the event it cannot precede, or that it lies in the future."""
        early = self.refused_fire(case_id, trigger, {**values, field: day_before(bound)},
                                  actor=actor)
        assert f"（{day_before(bound)}）不能早于" in early.zh, (trigger, early.zh)
        assert early.zh.endswith(f"（{bound}）。"), (trigger, early.zh)
        later = self.refused_fire(case_id, trigger, {**values, field: self.tomorrow}, actor=actor)
        assert later.zh.endswith(f"（{self.tomorrow}）不能晚于今天。"), (trigger, later.zh)

    def refused(self, call: Any) -> Refusal:
        """Run a change that must be refused; the refusal, with nothing at all written."""
        before = store_snapshot(self.engine)
        with pytest.raises(Refused) as caught:
            call()
        assert store_snapshot(self.engine) == before
        return caught.value.refusal

    def refused_fire(self, case_id: str, trigger: str, values: dict[str, Any] | None = None,
                     *, actor: Actor) -> Refusal:
        return self.refused(lambda: self.fire(case_id, trigger, values, actor=actor))

    # -- reading -------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseView:
        return self.service.get_case(case_id)

    def state(self, case_id: str) -> str:
        return self.case(case_id).state

    def data(self, case_id: str) -> dict[str, Any]:
        return self.case(case_id).data

    def history(self, case_id: str) -> list[EventView]:
        return self.service.history(case_id)

    def triggers(self, case_id: str) -> list[str | None]:
        """The transitions recorded so far, in order (the start is None)."""
        return [e.trigger for e in self.history(case_id) if e.kind in ("start", "transition")]

    def last(self, case_id: str) -> EventView:
        return self.history(case_id)[-1]

    def overdue(self, case_id: str) -> list[str]:
        """The timers (`state:timer`) that marked the case overdue, in order."""
        return [e.input["timer"] for e in self.history(case_id) if e.kind == "overdue"]


@pytest.fixture
def clock() -> FrozenClock:
    """The community's clock, from Tuesday 2 January 2024; scenarios move it forward."""
    return FrozenClock(at(2024, 1, 2))


@pytest.fixture
def w(engine: sa.Engine, clock: FrozenClock) -> Iterator[Community]:
    registry = WorkflowRegistry(engine, clock)
    registry.sync_directory(SHIPPED_WORKFLOWS)
    yield Community(CaseService(engine, registry, clock), clock, engine)
    assert verify_store(engine) == []
