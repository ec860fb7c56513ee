"""Stage statistics of a workflow: how many cases are in each state, how many passed
through, how long they stayed (median, p90, max), how many are overdue; and throughput per
month.

"Now" and "overdue" come from the cases table (where each case stands). The rest is a
replay of the workflow's events, one case at a time in sequence order, streamed from the
database: a stay in a state (a stage or one of its steps) starts with the event that
entered it and ends with the event that left it. A stay counts for the period when it
started within `[since, until)` ("passed through"); its time counts when it also ended
before `until` (a stay still running has no length yet). A transition back to the same
step is internal and does not end a stay; a step back to its own stage leaves and re-enters
the stage, as the door records it (`CompiledWorkflow.recorded_move`). Months are calendar
months in China (UTC+8).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.access.principals import community_scope
from engine.core.compiler import CompiledWorkflow
from engine.definitions.registry import WorkflowRegistry
from engine.language.spec import as_text
from engine.store.db import read_connection
from engine.store.tables import CASES, EVENTS
from engine.timers.calendar import CHINA_TZ

__all__ = ["StageRow", "StageStats", "stage_stats"]



@dataclass(frozen=True)
class StageRow:
    """One state's figures; durations in seconds (None when no stay ended in the period)."""

    state: str
    title: str
    parent: str | None
    in_now: int
    passed_through: int
    completed: int
    median_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None
    overdue: int


@dataclass(frozen=True)
class StageStats:
    workflow_id: str
    version: str
    since: datetime | None
    until: datetime | None
    community: str | None
    states: list[StageRow]
    throughput: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def _scoped(query: sa.Select[Any], prefix: str | None) -> sa.Select[Any]:
    if not prefix:
        return query
    return query.where(community_scope(CASES.c.community, prefix))


def _events(engine: Engine, workflow_id: str, prefix: str | None, until: datetime | None
            ) -> Iterator[Mapping[Any, Any]]:
    query = (sa.select(EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.trigger,
                       EVENTS.c.from_state,
                       EVENTS.c.to_state, EVENTS.c.at, EVENTS.c.workflow_version)
             .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
             .where(EVENTS.c.workflow_id == workflow_id)
             .order_by(EVENTS.c.case_id, EVENTS.c.seq))
    if until is not None:
        query = query.where(EVENTS.c.at < until)
    with read_connection(engine) as connection:
        result = connection.execution_options(yield_per=2000).execute(_scoped(query, prefix))
        yield from result.mappings()


def stage_stats(engine: Engine, registry: WorkflowRegistry, workflow_id: str, *,
                since: datetime | None = None, until: datetime | None = None,
                community_prefix: str | None = None, lang: str = "en") -> StageStats:
    """The figures of every state of the workflow's latest version (and any older state a
    case stood in), for cases within `community_prefix`."""
    latest = registry.get(workflow_id)
    compiled: dict[str, CompiledWorkflow] = {latest.version: latest}

    def wf_of(version: str) -> CompiledWorkflow:
        if version not in compiled:
            compiled[version] = registry.get(workflow_id, version)
        return compiled[version]

    durations: dict[str, list[float]] = {}
    passed: dict[str, int] = {}
    months: dict[str, dict[str, int]] = {}

    def in_period(at: datetime) -> bool:
        return (since is None or at >= since) and (until is None or at < until)

    def month(at: datetime, key: str) -> None:
        if in_period(at):
            name = at.astimezone(CHINA_TZ).strftime("%Y-%m")
            entry = months.setdefault(name, {"started": 0, "closed": 0})
            entry[key] += 1

    open_stays: dict[str, datetime] = {}
    current: str | None = None
    for row in _events(engine, workflow_id, community_prefix, until):
        if row["case_id"] != current:
            current, open_stays = row["case_id"], {}
        wf = wf_of(row["workflow_version"])
        at: datetime = row["at"]
        if row["kind"] == "start":
            info = wf.states.get(row["to_state"])
            entered, exited = list(info.lineage if info else ()), list[str]()
            month(at, "started")
        elif row["kind"] == "transition":
            exited, entered = wf.recorded_move(row["trigger"], row["from_state"],
                                               row["to_state"])
            info = wf.states.get(row["to_state"])
            if info is not None and info.final:
                month(at, "closed")
        else:
            continue
        for state in exited:
            began = open_stays.pop(state, None)
            if began is not None and in_period(began):
                durations.setdefault(state, []).append((at - began).total_seconds())
        for state in entered:
            open_stays[state] = at
            if in_period(at):
                passed[state] = passed.get(state, 0) + 1

    now_counts: dict[str, int] = {}
    overdue: dict[str, int] = {}
    query = (sa.select(CASES.c.state, CASES.c.overdue, sa.func.count().label("n"))
             .where(CASES.c.workflow_id == workflow_id, CASES.c.status != "closed")
             .group_by(CASES.c.state, CASES.c.overdue))
    with read_connection(engine) as connection:
        for state, late, n in connection.execute(_scoped(query, community_prefix)):
            info = latest.states.get(state)
            for s in info.lineage if info else (state,):
                now_counts[s] = now_counts.get(s, 0) + n
                if late:
                    overdue[s] = overdue.get(s, 0) + n

    order = list(latest.states)
    order += sorted(s for s in {*passed, *durations, *now_counts} if s not in latest.states)
    rows = []
    for state in order:
        info = latest.states.get(state)
        spent = durations.get(state, [])
        rows.append(StageRow(
            state=state, title=as_text(info.spec.title, lang, state) if info else state,
            parent=info.parent if info else None, in_now=now_counts.get(state, 0),
            passed_through=passed.get(state, 0), completed=len(spent),
            median_seconds=statistics.median(spent) if spent else None,
            p90_seconds=_p90(spent) if spent else None,
            max_seconds=max(spent) if spent else None, overdue=overdue.get(state, 0)))
    throughput = [{"month": name, **counts} for name, counts in sorted(months.items())]
    return StageStats(workflow_id, latest.version, since, until, community_prefix, rows,
                      throughput, as_text(latest.spec.title, lang, workflow_id))
